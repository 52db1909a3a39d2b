"""Showing diagnostics: the human format (rustc-style, with carets) and the JSON format.

The human renderer draws the source line with a gutter and puts carets under the exact span.
Columns on screen are not character counts: a tab is expanded to the next multiple of four,
a wide (CJK, emoji) character takes two cells and a combining mark none, so the caret stays
under the right letter for Cyrillic, tabs and emoji alike.  The ``file:line:col`` shown counts
characters (code points), as editors do for UTF-8 text.

Colour is added only when asked for (``color=True``); the CLI decides that from the terminal
and ``NO_COLOR``.  Every renderer takes ``lang`` and shows each diagnostic's texts in it, from
their message ids and arguments (see :mod:`funnelc.diagnostics`); without ``lang`` the current
language of :mod:`funnelc.i18n` is used.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

from funnelc.diagnostics import (
    Diagnostic,
    Label,
    Severity,
    render_help,
    render_label,
    render_message,
    render_notes,
)
from funnelc.i18n import N_, Msg, language, render
from funnelc.source import SourceFile, Span

TAB_WIDTH = 4

_STYLE = {
    "error": "\x1b[1;31m",
    "warning": "\x1b[1;33m",
    "info": "\x1b[1;36m",
    "bold": "\x1b[1m",
    "gutter": "\x1b[1;34m",
    "secondary": "\x1b[1;34m",
    "reset": "\x1b[0m",
}


def _shown_char(char: str) -> tuple[str, int]:
    """How one character of a source line is drawn, and how many cells it takes.

    The single definition both the line and the carets under it use, so they cannot disagree:
    separators (a non-breaking space pasted from Word) are drawn as a space, other characters a
    terminal cannot draw (controls, unassigned code points) as one ``�`` cell.
    """
    if unicodedata.combining(char) or char in "\u200b\u200c\u200d\ufeff":
        return char, 0
    category = unicodedata.category(char)
    if category == "Zs":
        return " ", 1
    if not char.isprintable() or category in ("Cn", "Co", "Cs"):
        return "\ufffd", 1
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return char, 2
    return char, 1


def char_width(char: str) -> int:
    return _shown_char(char)[1]


_PLAIN = re.compile("[\x20-\x7e\u00a1-\u00ac\u00ae-\u024f\u0400-\u0482\u048a-\u052f\u2010-\u2027]*")
"""Lines made only of characters drawn as themselves in one cell (printable ASCII, Latin and
Cyrillic letters without combining marks, dashes and quotes): almost every line of a
``.funnel`` file, shown without a per-character lookup (tests check the two paths agree)."""


def is_plain(line: str) -> bool:
    return _PLAIN.fullmatch(line) is not None


def display_columns(line: str) -> list[int]:
    """For each character index of ``line`` (and one past the end), its screen column."""
    if is_plain(line):
        return list(range(len(line) + 1))
    columns = [0]
    current = 0
    for char in line:
        if char == "\t":
            current += TAB_WIDTH - current % TAB_WIDTH
        else:
            current += _shown_char(char)[1]
        columns.append(current)
    return columns


def expand_line(line: str) -> str:
    if is_plain(line):
        return line
    out: list[str] = []
    current = 0
    for char in line:
        if char == "\t":
            step = TAB_WIDTH - current % TAB_WIDTH
            out.append(" " * step)
            current += step
        else:
            shown, width = _shown_char(char)
            out.append(shown)
            current += width
    return "".join(out)


_CONTROL = {code: f"\\x{code:02x}" for code in [*range(0x20), 0x7F]}


def clean(text: str) -> str:
    """A message with control characters made visible (``\\x1b``), so that a string from
    the user's file can neither break the layout nor send escape codes to the terminal."""
    return text.translate(_CONTROL)


class _Painter:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, style: str, text: str) -> str:
        if not self.color or not text:
            return text
        return f"{_STYLE[style]}{text}{_STYLE['reset']}"


def _underline(source: SourceFile, span: Span, mark: str) -> tuple[int, str, str]:
    """(line number, the line as shown, the underline) for the first line of ``span``."""
    start = source.position(span.start)
    line = source.line_text(start.line)
    columns = display_columns(line)
    first = min(start.column - 1, len(line))
    end = source.position(span.end)
    last = min(end.column - 1, len(line)) if end.line == start.line else len(line)
    left = columns[first]
    width = max(columns[last] - left, 1)
    return start.line, expand_line(line), " " * left + mark * width


def word(message: str, lang: str) -> str:
    """One of the fixed words (``error``, ``help``, ``note`` …) in ``lang``."""
    return render(Msg(message), lang)


_NOTE, _HELP = N_("note"), N_("help")


def render_human(
    diagnostics: Iterable[Diagnostic],
    sources: Mapping[str, SourceFile],
    *,
    color: bool = False,
    lang: str | None = None,
) -> str:
    """All diagnostics in the human format, separated by blank lines."""
    lang = lang or language()
    return "".join(render_one(d, sources, color=color, lang=lang) + "\n" for d in diagnostics)


def render_one(
    d: Diagnostic,
    sources: Mapping[str, SourceFile],
    *,
    color: bool = False,
    lang: str | None = None,
) -> str:
    lang = lang or language()
    paint = _Painter(color)
    severity = d.severity.value
    shown_word = word(severity, lang)
    message = render_message(d, lang)
    lines = [f"{paint(severity, f'{shown_word}[{d.code}]')}{paint('bold', ': ' + clean(message))}"]
    source = sources.get(d.span.path) if d.span is not None else None
    if d.span is not None and source is not None:
        primary = source.position(d.span.start)
        # The gutter is as wide as the largest line number shown.
        shown = [(d.span, "", True)] + [
            (label.span, render_label(label, lang), False)
            for label in d.labels
            if label.span.path == d.span.path
        ]
        numbers = [source.position(span.start).line for span, _message, _primary in shown]
        width = len(str(max(numbers)))
        pad = " " * width
        lines.append(f"{pad}{paint('gutter', '-->')} {d.span.path}:{primary.line}:{primary.column}")
        lines.append(f"{pad} {paint('gutter', '|')}")
        # One source line per line number, with an underline row for each span on it
        # (the primary span's row first).
        by_line: dict[int, list[tuple[Span, str, bool]]] = {}
        for item in shown:
            by_line.setdefault(source.position(item[0].start).line, []).append(item)
        for number in sorted(by_line):
            items = sorted(by_line[number], key=lambda s: (not s[2], s[0].start))
            text = expand_line(source.line_text(number))
            lines.append(f"{paint('gutter', f'{number:>{width}} |')} {text}".rstrip())
            for span, message, is_primary in items:
                _line2, _text, underline = _underline(source, span, "^" if is_primary else "-")
                style = severity if is_primary else "secondary"
                tail = f" {clean(message)}" if message else ""
                lines.append(
                    f"{pad} {paint('gutter', '|')} {paint(style, underline + tail)}".rstrip()
                )
        lines.append(f"{pad} {paint('gutter', '|')}")
        for label in d.labels:
            if label.span.path != d.span.path and label.span.path in sources:
                where = sources[label.span.path].position(label.span.start)
                text = render_label(label, lang)
                note = f"{clean(text)}: " if text else ""
                at = f"{label.span.path}:{where.line}:{where.column}"
                lines.append(f"{pad} {paint('gutter', '=')} {word(_NOTE, lang)}: {note}{at}")
        prefix = f"{pad} {paint('gutter', '=')}"
    else:
        prefix = f" {paint('gutter', '=')}"
    for note in render_notes(d, lang):
        lines.append(f"{prefix} {paint('bold', word(_NOTE, lang))}: {clean(note)}")
    help_line = render_help(d, lang)
    if help_line:
        lines.append(f"{prefix} {paint('bold', word(_HELP, lang))}: {clean(help_line)}")
    return "\n".join(lines) + "\n"


def counted(singular: str, plural: str, count: int, lang: str) -> str:
    """A counted message in ``lang``, with ``{count}`` filled."""
    return render(Msg(singular, (("count", count),), plural, count), lang)


def summary(diagnostics: Sequence[Diagnostic], lang: str | None = None) -> str:
    """``2 errors, 1 warning`` (empty when there is nothing to report)."""
    lang = lang or language()
    parts = []
    errors = sum(1 for d in diagnostics if d.severity is Severity.ERROR)
    warnings = sum(1 for d in diagnostics if d.severity is Severity.WARNING)
    if errors:
        parts.append(counted("{count} error", "{count} errors", errors, lang))
    if warnings:
        parts.append(counted("{count} warning", "{count} warnings", warnings, lang))
    return ", ".join(parts)


def _location(source: SourceFile | None, span: Span) -> dict[str, object]:
    result: dict[str, object] = {"file": span.path}
    if source is not None:
        start, end = source.position(span.start), source.position(span.end)
        result["start"] = {"line": start.line, "column": start.column, "offset": span.start}
        result["end"] = {"line": end.line, "column": end.column, "offset": span.end}
    return result


def diagnostic_dict(
    d: Diagnostic, sources: Mapping[str, SourceFile], lang: str | None = None
) -> dict[str, object]:
    """The stable JSON shape of a diagnostic (documented in ``docs/diagnostics.md``)."""
    lang = lang or language()
    out: dict[str, object] = {
        "code": d.code,
        "severity": d.severity.value,
        "message": render_message(d, lang),
        "location": _location(sources.get(d.span.path), d.span) if d.span else None,
        "labels": [_label_dict(label, sources, lang) for label in d.labels],
        "notes": render_notes(d, lang),
        "help": render_help(d, lang),
        "fix": _fix_dict(d, sources, lang),
    }
    return out


def _fix_dict(
    d: Diagnostic, sources: Mapping[str, SourceFile], lang: str
) -> dict[str, object] | None:
    if d.fix is None:
        return None
    return {
        "title": render(d.fix.title, lang),
        "applicability": d.fix.applicability.value,
        "edits": [
            {"new_text": edit.new_text, **_location(sources.get(edit.span.path), edit.span)}
            for edit in d.fix.edits
        ],
    }


def _label_dict(label: Label, sources: Mapping[str, SourceFile], lang: str) -> dict[str, object]:
    return {
        "message": render_label(label, lang),
        **_location(sources.get(label.span.path), label.span),
    }


def render_json(
    diagnostics: Iterable[Diagnostic], sources: Mapping[str, SourceFile], lang: str | None = None
) -> str:
    lang = lang or language()
    data = [diagnostic_dict(d, sources, lang) for d in diagnostics]
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
