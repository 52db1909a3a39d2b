"""Diagnostics: what every pass returns instead of raising when the user's input is wrong.

A :class:`Diagnostic` is plain data.  Its code points into the catalogue in
:mod:`funnelc.codes`, which holds the message templates, so a diagnostic can be rendered again
in another language: ``args`` keeps the values that were put into the message.
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

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple[str, int, int, str, str]:
        if self.span is None:
            return ("", -1, -1, self.code, self.message)
        return (self.span.path, self.span.start, self.span.end, self.code, self.message)


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
