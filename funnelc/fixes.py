"""Building and applying the structured fixes of diagnostics (:class:`funnelc.diagnostics.Fix`).

Passes build fixes with these helpers so that every fix has the same shape; :func:`apply`
applies them to a file's text (the language server's code actions), and :func:`fix_texts`
runs the rounds of ``funnelc check --fix``: choose the fixes that do not touch each other,
apply them, compile again, repeat.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from funnelc.diagnostics import Applicability, Diagnostic, Fix, TextEdit
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


# ---- how sure a did-you-mean is ---------------------------------------------------------------


def edit_distance(a: str, b: str, limit: int) -> int:
    """The optimal-string-alignment distance of ``a`` and ``b`` (a swap of two neighbouring
    characters counts as one edit), or ``limit + 1`` when it is larger than ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        before, previous = previous, current
    return min(previous[len(b)], limit + 1)


SAFE_TYPO_MIN_LENGTH = 4


def typo_applicability(name: str, guess: str, candidates: Iterable[str]) -> Applicability:
    """SAFE when ``guess`` is the one id ``name`` can be a typo of: it is a single edit away
    (one wrong, missing, extra or swapped character), no other known id is within two edits,
    and ``name`` has at least :data:`SAFE_TYPO_MIN_LENGTH` characters; else UNSAFE.
    See "Fixes" in docs/diagnostics.md for why."""
    if len(name) < SAFE_TYPO_MIN_LENGTH or edit_distance(name, guess, 1) != 1:
        return Applicability.UNSAFE
    for other in set(candidates):
        if other not in (guess, name) and edit_distance(name, other, 2) <= 2:
            return Applicability.UNSAFE
    return Applicability.SAFE


# ---- choosing and applying the fixes of a run -----------------------------------------------


def allowed(fix: Fix, unsafe: bool) -> bool:
    """Whether ``check --fix`` applies ``fix`` (``unsafe``: with ``--unsafe-fixes``)."""
    return fix.applicability is Applicability.SAFE or unsafe


def _conflict(a: TextEdit, b: TextEdit) -> bool:
    """Whether two edits touch the same text (or insert at the same place, where their order
    would be a guess)."""
    if a.span.path != b.span.path:
        return False
    if a.span.start == b.span.start:
        return True
    return a.span.start < b.span.end and b.span.start < a.span.end


def choose(fixes: Iterable[Fix]) -> tuple[list[Fix], int]:
    """The fixes of one round: in the order given, each one whose edits touch none of those
    already chosen; a fix equal to a chosen one is not applied twice.  Returns the chosen
    fixes and how many of those given they settle (duplicates included)."""
    chosen: list[Fix] = []
    taken: list[TextEdit] = []
    settled = 0
    for fix in fixes:
        if any(fix.edits == other.edits for other in chosen):
            settled += 1
            continue
        if any(_conflict(edit, other) for edit in fix.edits for other in taken):
            continue  # the next round, on the text this one leaves
        chosen.append(fix)
        taken.extend(fix.edits)
        settled += 1
    return chosen, settled


MAX_ROUNDS = 10
"""How many times ``check --fix`` applies fixes and compiles again (as ruff does): a fix can
bring out the next problem (a stage reference put right lets the lint run, whose findings
carry fixes of their own), and fixes that touch the same text wait for the next round."""


class Compiled(Protocol):
    """What :func:`fix_texts` needs of a compilation (:class:`funnelc.compiler.Result`, which
    this module, used by the passes, does not import)."""

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]: ...

    @property
    def sources(self) -> Mapping[str, SourceFile]: ...


R = TypeVar("R", bound=Compiled)


@dataclass
class FixRun(Generic[R]):
    """What :func:`fix_texts` did."""

    texts: dict[str, str]
    """Every source's text after the fixes (LF line breaks, as the loader reads them)."""
    changed: list[str]
    """The paths whose text the fixes changed, in order."""
    applied: int
    """How many diagnostics' fixes were applied."""
    rounds: int
    result: R
    """The compilation of ``texts``: what is left."""
    reverted: list[str] = field(default_factory=list)
    """Paths left alone after a fix would have made them unparseable (a bug in that fix)."""


def fix_texts(
    first: R,
    recompile: Callable[[Mapping[str, str]], R],
    *,
    unsafe: bool,
    fixable: Collection[str] | None = None,
    rounds: int = MAX_ROUNDS,
) -> FixRun[R]:
    """Apply the fixes of ``first``'s diagnostics (safe ones; unsafe ones too if ``unsafe``),
    compile again with ``recompile`` (the texts of every source by path), and repeat while
    fixes apply, up to ``rounds`` times.  Only the files in ``fixable`` (default: every
    source) are edited.  A round that would leave a file with syntax errors it did not have is
    undone for that file, which is then left alone.  Never raises for any input."""
    from funnelc.parse import parse

    texts = {path: source.text for path, source in first.sources.items()}
    allowed_paths = set(texts if fixable is None else fixable) & set(texts)
    original = dict(texts)
    seen = {tuple(sorted(texts.items()))}
    result = first
    applied = 0
    done = 0
    reverted: list[str] = []
    for _round in range(rounds):
        candidates = [
            d.fix
            for d in result.diagnostics
            if d.fix is not None
            and d.fix.edits
            and allowed(d.fix, unsafe)
            and all(edit.span.path in allowed_paths for edit in d.fix.edits)
        ]
        chosen, settled = choose(candidates)
        if not chosen:
            break
        new = _applied(texts, chosen)
        broken = [
            path
            for path in sorted(new)
            if new[path] != texts[path]
            and parse(SourceFile(path, new[path])).diagnostics
            and not parse(SourceFile(path, texts[path])).diagnostics
        ]
        if broken:
            reverted.extend(broken)
            allowed_paths -= set(broken)
            kept = [f for f in chosen if not any(e.span.path in broken for e in f.edits)]
            settled -= len(chosen) - len(kept)
            new = _applied(texts, kept)
        state = tuple(sorted(new.items()))
        if new == texts or state in seen:
            break
        seen.add(state)
        texts = new
        applied += settled
        done += 1
        result = recompile(texts)
    changed = [path for path in sorted(texts) if texts[path] != original[path]]
    return FixRun(texts, changed, applied, done, result, reverted)


def _applied(texts: Mapping[str, str], chosen: Sequence[Fix]) -> dict[str, str]:
    new = dict(texts)
    for path in sorted({edit.span.path for fix in chosen for edit in fix.edits}):
        new[path] = apply(texts[path], path, chosen)
    return new
