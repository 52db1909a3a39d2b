"""Building and applying the structured fixes of diagnostics (:class:`funnelc.diagnostics.Fix`).

Passes build fixes with these helpers so that every fix has the same shape; :func:`apply`
applies them to a file's text (``check --fix`` and the language server's code actions will).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from funnelc.diagnostics import Applicability, Fix, TextEdit
from funnelc.source import SourceFile, Span


def quote(text: str) -> str:
    """``text`` as a ``.funnel`` string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def replacement(
    span: Span, new_text: str, title: str, applicability: Applicability = Applicability.UNSAFE
) -> Fix:
    """Replace the text of ``span`` by ``new_text``."""
    return Fix((TextEdit(span, new_text),), applicability, title)


def insert_in_block(
    source: SourceFile,
    block: Span,
    item: str,
    title: str,
    applicability: Applicability = Applicability.UNSAFE,
) -> Fix:
    """Add ``item`` (``sla 5d``) as the last entry of the block ``block`` spans (a stage:
    ``stage a "A" { … }``): on a line of its own, indented like the entry before it, when the
    block spans lines; else before the closing brace; a block-less stage gets ``{ item }``."""
    text = source.text
    end = block.end
    if end > block.start and text[end - 1] == "}":
        closing = end - 1
        body_end = closing
        while body_end > block.start and text[body_end - 1] in " \t":
            body_end -= 1
        if text[body_end - 1] == "\n":  # the closing brace is on a line of its own
            last_line_start = text.rfind("\n", block.start, body_end - 1) + 1
            previous = text[last_line_start : body_end - 1]
            indent = previous[: len(previous) - len(previous.lstrip(" \t"))]
            edit = TextEdit(Span(block.path, body_end, body_end), f"{indent}{item}\n")
        else:
            opening = text.find("{", block.start, closing)
            empty = not text[opening + 1 : closing].strip()
            at = body_end
            separator = " " if empty or text[at - 1] == "{" else "  "
            edit = TextEdit(Span(block.path, at, closing), f"{separator}{item} ")
    else:
        edit = TextEdit(Span(block.path, end, end), f" {{ {item} }}")
    return Fix((edit,), applicability, title)


class OverlappingEdits(ValueError):
    """Two edits of the fixes to apply touch the same text."""


def apply(text: str, path: str, fixes: Iterable[Fix]) -> str:
    """``text`` (the file ``path``) with the edits of ``fixes`` that are for it applied.

    Offsets refer to the original text; edits are applied from the end so they stay valid.
    Raises :class:`OverlappingEdits` if two edits overlap (the caller applies fewer fixes).
    """
    edits = sorted(
        (edit for fix in fixes for edit in fix.edits if edit.span.path == path),
        key=lambda e: (e.span.start, e.span.end),
    )
    for before, after in itertools.pairwise(edits):
        if after.span.start < before.span.end or (
            after.span.start == before.span.start == before.span.end == after.span.end
        ):
            raise OverlappingEdits(f"{before} and {after}")
    for edit in reversed(edits):
        text = text[: edit.span.start] + edit.new_text + text[edit.span.end :]
    return text
