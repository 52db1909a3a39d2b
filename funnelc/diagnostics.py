"""Diagnostics: what every pass returns instead of raising when the user's input is wrong.

A :class:`Diagnostic` is plain data.  Its code points into the catalogue in
:mod:`funnelc.codes`, which holds the message templates; ``args`` keeps the values that were put
into the message.  Its texts (``message``, ``help``, ``notes`` and the labels' messages) are
strings in the language current when it was made, and each is a :class:`funnelc.i18n.Text`
that remembers its message id and arguments (arguments may be messages themselves, such as a
translated ``hint``), so :func:`render_message`, :func:`render_help`, :func:`render_notes` and
:func:`render_label` show it in any language later, with no global state: the CLI, JSON,
SARIF and GitHub renderers take a ``lang``, and so will a language server with its client's.
Rendering for people and machines lives in :mod:`funnelc.render`.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from funnelc.source import Span


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


@dataclass(frozen=True, slots=True)
class Label:
    """A secondary span with a short message, drawn with ``-`` under it."""

    span: Span
    message: str = ""


class Applicability(enum.Enum):
    """Whether a fix may be applied without a person looking at it (as in ruff).

    ``SAFE``: the edit keeps what the author meant (``check --fix`` may apply it).
    ``UNSAFE``: the edit is a guess or a placeholder — a did-you-mean name, a suggested stage
    name, a default SLA — right most of the time but to be reviewed (editors offer it as a
    code action; ``--fix`` applies it only when asked for unsafe fixes).
    """

    SAFE = "safe"
    UNSAFE = "unsafe"


@dataclass(frozen=True, slots=True)
class TextEdit:
    """Replace the text of ``span`` (character offsets; empty for an insertion) by ``new_text``."""

    span: Span
    new_text: str


@dataclass(frozen=True, slots=True)
class Fix:
    """A structured fix of a diagnostic: edits that do not overlap, applied together."""

    edits: tuple[TextEdit, ...]
    applicability: Applicability
    title: str


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in the user's input.

    ``span`` is the primary location (``None`` only for problems that have no place in any
    file, such as a path given on the command line that does not exist).
    """

    code: str
    severity: Severity
    message: str
    span: Span | None
    labels: tuple[Label, ...] = ()
    notes: tuple[str, ...] = ()
    help: str | None = None
    args: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)
    fix: Fix | None = field(default=None, compare=False, hash=False)
    """The edit that resolves the problem, when it is obvious (see :class:`Fix`)."""

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple[str, int, int, str, str]:
        if self.span is None:
            return ("", -1, -1, self.code, self.message)
        return (self.span.path, self.span.start, self.span.end, self.code, self.message)


def render_message(diagnostic: Diagnostic, lang: str) -> str:
    """The diagnostic's message in ``lang``."""
    from funnelc.i18n import render

    return render(diagnostic.message, lang)


def render_help(diagnostic: Diagnostic, lang: str) -> str | None:
    """The diagnostic's help line in ``lang`` (``None`` when it has none)."""
    from funnelc.i18n import render

    return render(diagnostic.help, lang) if diagnostic.help else None


def render_notes(diagnostic: Diagnostic, lang: str) -> list[str]:
    from funnelc.i18n import render

    return [render(note, lang) for note in diagnostic.notes]


def render_label(label: Label, lang: str) -> str:
    from funnelc.i18n import render

    return render(label.message, lang)


@dataclass(frozen=True, slots=True)
class Code:
    """A catalogue entry: a code that is never reused, a readable name, a one-line summary,
    and the templates of the message and the help line (``str.format`` fields)."""

    code: str
    name: str
    summary: str
    message: str
    help: str | None = None
    severity: Severity = Severity.ERROR


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)


def sorted_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Diagnostics in a stable order (by file, then position), duplicates removed."""
    seen: set[tuple[object, ...]] = set()
    unique: list[Diagnostic] = []
    for d in diagnostics:
        key = (d.code, d.span, d.message)
        if key not in seen:
            seen.add(key)
            unique.append(d)
    return sorted(unique, key=Diagnostic.sort_key)


def suggest(name: str, candidates: Iterable[str], fallback: str = "") -> str:
    """The help line for an unknown ``name``: "did you mean `x`?" when a candidate is close
    enough (see :func:`did_you_mean`), else ``fallback``.  Translated, like every help line."""
    return suggestion(did_you_mean(name, candidates), fallback)


def suggestion(guess: str | None, fallback: str = "") -> str:
    """ "did you mean `guess`?" for a guess found some other way, else ``fallback``."""
    from funnelc.i18n import _

    return _("did you mean `{name}`?").format(name=guess) if guess else fallback


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to ``name``, if one is close enough to be a likely typo."""
    pool = sorted(set(candidates))
    if not pool:
        return None
    lowered = {c.lower(): c for c in pool}
    if name.lower() in lowered and lowered[name.lower()] != name:
        return lowered[name.lower()]
    matches = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    return matches[0] if matches else None
