"""Diagnostics: what every pass returns instead of raising when the user's input is wrong.

A :class:`Diagnostic` is plain data.  Its code points into the catalogue in
:mod:`funnelc.codes`, which holds the message templates; ``args`` keeps the values that were put
into the message.  Its message, help line and labels are kept unrendered — a
:class:`funnelc.i18n.Msg` of the message id and its arguments (arguments may be messages
themselves, such as a translated ``hint``) — and turned into text only when shown:
:func:`render_message`, :func:`render_help`, :func:`render_notes` and :func:`render_label` show
them in any language, with no global state (the CLI, JSON, SARIF and GitHub renderers take a
``lang``, and so will a language server with its client's).  Each language is rendered once per
diagnostic and kept on it.  ``d.message`` and ``d.help`` are still strings
(:class:`funnelc.i18n.Text`), rendered on first use in the language current when the diagnostic
was made.  Rendering for people and machines lives in :mod:`funnelc.render`.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from funnelc.i18n import Text, language, render
from funnelc.source import Span


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


@dataclass(frozen=True, slots=True, init=False)
class Label:
    """A secondary span with a short message, drawn with ``-`` under it.

    Like a :class:`Diagnostic`'s, the message is kept as it was given (``message_source``:
    usually an unrendered :class:`~funnelc.i18n.Msg`) and rendered when shown
    (:func:`render_label`); ``message`` renders it in the language current when it was made."""

    span: Span
    message_source: object = ""
    _lang: str = field(default="en", compare=False, hash=False, repr=False)

    def __init__(
        self,
        span: Span,
        message: object = None,
        *,
        message_source: object = None,
        _lang: str | None = None,
    ) -> None:
        object.__setattr__(self, "span", span)
        chosen = message if message is not None else message_source
        object.__setattr__(self, "message_source", _source(chosen))
        if _lang is None:
            _lang = language()
        object.__setattr__(self, "_lang", _lang)

    @property
    def message(self) -> str:

        return Text._of(self.message_source, render(self.message_source, self._lang))


class Applicability(enum.Enum):
    """Whether a fix may be applied without a person looking at it (as in ruff).

    ``SAFE``: the edit keeps what the author meant (``check --fix`` applies it): a typo of
    the one known id close to it, ``/`` in an import path.
    ``UNSAFE``: the edit is a guess or a placeholder — a less certain did-you-mean, a
    suggested stage name, a default SLA — right most of the time but to be reviewed (editors
    offer it as a code action; ``--fix`` applies it only with ``--unsafe-fixes``).  The
    reasons for each fix are in "Fixes", docs/diagnostics.md.
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


@dataclass(frozen=True, slots=True, init=False)
class Diagnostic:
    """One problem found in the user's input.

    ``span`` is the primary location (``None`` only for problems that have no place in any
    file, such as a path given on the command line that does not exist).

    The message and the help line are kept as they were given — usually an unrendered
    :class:`funnelc.i18n.Msg` (``message_source``, ``help_source``) — and rendered only when
    they are shown: :func:`render_message` / :func:`render_help` in a given language, or the
    ``message`` / ``help`` properties in the language that was current when it was made (as
    an eagerly rendered string would be).  Each rendering is done once per language and kept
    on the diagnostic itself, so it is freed with it.
    """

    code: str
    severity: Severity
    message_source: object
    """What the message is made from: a :class:`~funnelc.i18n.Msg` or ``Seq``, or a string
    (a :class:`~funnelc.i18n.Text` keeps its message)."""
    span: Span | None
    labels: tuple[Label, ...] = ()
    notes: tuple[str, ...] = ()
    help_source: object = None
    args: Mapping[str, object] = field(default_factory=dict, compare=False, hash=False)
    fix: Fix | None = field(default=None, compare=False, hash=False)
    """The edit that resolves the problem, when it is obvious (see :class:`Fix`)."""
    _texts: dict[str, tuple[str, str | None]] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )
    _lang: str = field(default="en", compare=False, hash=False, repr=False)

    def __init__(
        self,
        code: str,
        severity: Severity,
        message: object = None,
        span: Span | None = None,
        labels: tuple[Label, ...] = (),
        notes: tuple[str, ...] = (),
        help: object = None,
        args: Mapping[str, object] | None = None,
        fix: Fix | None = None,
        *,
        message_source: object = None,
        help_source: object = None,
        _texts: object = None,
        _lang: str | None = None,
    ) -> None:
        # ``message_source`` / ``help_source`` are the field names (``dataclasses.replace``
        # passes them); ``message`` / ``help`` are the names callers use.
        set_ = object.__setattr__
        set_(self, "code", code)
        set_(self, "severity", severity)
        set_(self, "message_source", _source(message if message is not None else message_source))
        set_(self, "span", span)
        set_(self, "labels", labels)
        set_(self, "notes", notes)
        chosen_help = help if help is not None else help_source
        set_(self, "help_source", _source(chosen_help) if chosen_help else None)
        set_(self, "args", {} if args is None else args)
        set_(self, "fix", fix)
        set_(self, "_texts", {})
        if _lang is None:
            _lang = language()
        set_(self, "_lang", _lang)

    def texts(self, lang: str) -> tuple[str, str | None]:
        """The message and the help line (``None`` when there is none) in ``lang``."""
        done = self._texts.get(lang)
        if done is None:
            help_source = self.help_source
            done = (
                render(self.message_source, lang),
                render(help_source, lang) or None if help_source is not None else None,
            )
            self._texts[lang] = done
        return done

    @property
    def message(self) -> str:
        """The message in the language current when the diagnostic was made (a
        :class:`~funnelc.i18n.Text`, so it can still be rendered in another one)."""

        return Text._of(self.message_source, self.texts(self._lang)[0])

    @property
    def help(self) -> str | None:
        """The help line (in the language of :attr:`message`), or ``None``."""

        if self.help_source is None:
            return None
        text = self.texts(self._lang)[1]
        return None if text is None else Text._of(self.help_source, text)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple[str, int, int, str, str]:
        if self.span is None:
            return ("", -1, -1, self.code, self.message)
        return (self.span.path, self.span.start, self.span.end, self.code, self.message)


def _source(value: object) -> object:
    """What to keep of a message: a :class:`~funnelc.i18n.Text`'s message, anything else as
    it is (a ``Msg``, a ``Seq``, a plain string)."""

    if isinstance(value, Text):
        return value.msg
    return "" if value is None else value


def render_message(diagnostic: Diagnostic, lang: str) -> str:
    """The diagnostic's message in ``lang``."""
    return diagnostic.texts(lang)[0]


def render_help(diagnostic: Diagnostic, lang: str) -> str | None:
    """The diagnostic's help line in ``lang`` (``None`` when it has none)."""
    return diagnostic.texts(lang)[1]


def render_notes(diagnostic: Diagnostic, lang: str) -> list[str]:

    return [render(note, lang) for note in diagnostic.notes]


def render_label(label: Label, lang: str) -> str:

    return render(label.message_source, lang)


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
    """Diagnostics in a stable order (by file, then position, code and message), duplicates
    (same code, span and message) removed.  Messages are rendered only to compare diagnostics
    that share a code and a span, which is rare."""
    by_place: dict[tuple[str, Span | None], list[Diagnostic]] = {}
    for d in diagnostics:
        same = by_place.setdefault((d.code, d.span), [])
        if not same or all(other.message != d.message for other in same):
            same.append(d)
    unique = [d for group in by_place.values() for d in group]

    def place(d: Diagnostic) -> tuple[str, int, int, str]:
        if d.span is None:
            return ("", -1, -1, d.code)
        return (d.span.path, d.span.start, d.span.end, d.code)

    unique.sort(key=place)
    # Ties on the place are ordered by message, as ``Diagnostic.sort_key`` orders them.
    out: list[Diagnostic] = []
    i = 0
    while i < len(unique):
        j = i + 1
        key = place(unique[i])
        while j < len(unique) and place(unique[j]) == key:
            j += 1
        group = unique[i:j]
        if len(group) > 1:
            group.sort(key=lambda d: d.message)
        out.extend(group)
        i = j
    return out


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
