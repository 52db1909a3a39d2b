"""Code actions: the structured fixes that diagnostics carry (``Diagnostic.fix``, once the
compiler gives them) and, for a lint finding, "add a suppression with a reason".  Pure:
diagnostics and a text in, edits (spans and new texts) out."""

from __future__ import annotations

import re
from dataclasses import dataclass

from funnelc.diagnostics import Diagnostic
from funnelc.i18n import _
from funnelc.source import SourceFile, Span

_COMMENT = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*"""|"(?:[^"\\\n]|\\.)*"|(#[^\n]*)', re.DOTALL)


@dataclass(frozen=True, slots=True)
class Action:
    title: str
    kind: str
    """``quickfix``."""
    edits: tuple[tuple[Span, str], ...]
    diagnostic: Diagnostic
    preferred: bool = False


def fix_actions(diagnostic: Diagnostic) -> list[Action]:
    """The diagnostic's own fix, when it has one (safe ones are preferred)."""
    fix = getattr(diagnostic, "fix", None)
    if fix is None:
        return []
    edits = tuple((edit.span, str(edit.new_text)) for edit in fix.edits)
    safe = getattr(getattr(fix, "applicability", None), "value", "") == "safe"
    return [Action(str(fix.title), "quickfix", edits, diagnostic, preferred=safe)]


def _comment_on_line(text: str, start: int, end: int) -> re.Match[str] | None:
    for m in _COMMENT.finditer(text, start, end):
        if m.group(1) is not None:
            return m
    return None


def suppression_action(source: SourceFile, diagnostic: Diagnostic) -> Action | None:
    """``# funnelc: allow <rule> -- <reason>`` for a lint finding: at the end of the line the
    finding starts on (a suppression there covers it), or, when that line already ends with a
    comment, on a line of its own above, indented like it (covering the statement there)."""
    if diagnostic.span is None or not diagnostic.code.startswith("L"):
        return None
    from funnelc.lint.engine import find_rule

    rule = find_rule(diagnostic.code)
    if rule is None:
        return None
    text = source.text
    start = text.rfind("\n", 0, diagnostic.span.start) + 1
    end = text.find("\n", diagnostic.span.start)
    end = len(text) if end == -1 else end
    reason = _("why the rule does not apply here")
    pragma = f"# funnelc: allow {rule.name} -- {reason}"
    path = diagnostic.span.path
    comment = _comment_on_line(text, start, end)
    if comment is None:
        body_end = len(text[start:end].rstrip()) + start
        edit = (Span(path, body_end, end), f"  {pragma}")
    else:
        line = text[start:end]
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        edit = (Span(path, start, start), f"{indent}{pragma}\n")
    title = _("Suppress `{rule}` here, with a reason").format(rule=rule.name)
    return Action(title, "quickfix", (edit,), diagnostic)


def actions(
    source: SourceFile, diagnostics: list[Diagnostic], start: int, end: int
) -> list[Action]:
    """The actions for the diagnostics of ``source`` that touch ``[start, end]``."""
    found: list[Action] = []
    for d in diagnostics:
        if d.span is None or d.span.path != source.path:
            continue
        if d.span.end < start or d.span.start > end:
            continue
        found.extend(fix_actions(d))
        suppression = suppression_action(source, d)
        if suppression is not None:
            found.append(suppression)
    return found
