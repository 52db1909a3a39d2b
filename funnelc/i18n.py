"""Messages in the user's language, rendered when they are shown.

Every user-facing message is written in English in the code and passed through :func:`_`
(the gettext convention: the English text is the message id).  The translations are gettext
catalogues: ``funnelc/locale/<lang>/LC_MESSAGES/funnelc.po`` in the repository, compiled to
``funnelc.mo`` in the wheel, read with the standard :mod:`gettext` module (plural forms come
from the catalogue's ``Plural-Forms`` header).  ``python -m funnelc.i18n_tools`` extracts the
ids from the code and checks or updates the catalogue; Babel works too (``babel.cfg``).
An English text that must be translated differently in different places has a gettext context
(``msgctxt``): :func:`pgettext` (``pgettext_noop`` in tables), a :class:`Msg` with ``context``.

**Late rendering.** A message is a value, not a string: :class:`Msg` holds the id and the
arguments, and an argument may itself be a :class:`Msg` (a translatable ``hint``, ``where`` or
``reason``) or a :class:`Seq` of fragments.  :func:`render` turns a fragment into text in a
given language and needs no global state, so one diagnostic can be shown in English on the
command line and in Russian in an editor.  For compatibility, :func:`_` and :func:`ngettext`
still return strings — :class:`Text`, a ``str`` that is the rendering in the current language
and carries its :class:`Msg` in ``.msg`` — and ``Text.format`` / ``+`` keep carrying it, so
``_("unknown `{name}`").format(name=x)`` stays renderable in any language later.

The current language (used only by those compatibility strings and by the CLI) is chosen once
per run (``--lang``, else ``FUNNELC_LANG``, else ``LC_ALL``, ``LC_MESSAGES``, ``LANG``) and held
in a context variable, so the library API stays English unless a caller asks otherwise.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Union

if TYPE_CHECKING:
    import gettext

LANGUAGES = ("en", "ru")
DOMAIN = "funnelc"

_LANGUAGE: contextvars.ContextVar[str] = contextvars.ContextVar("funnelc_language", default="en")


def detect_language(environ: Mapping[str, str] | None = None) -> str:
    """The language the environment asks for: ``ru`` for a Russian locale, else ``en``."""
    env = os.environ if environ is None else environ
    for variable in ("FUNNELC_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(variable, "")
        if value:
            return "ru" if value.lower().startswith("ru") else "en"
    return "en"


def language() -> str:
    return _LANGUAGE.get()


def _check(lang: str) -> None:
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}; use one of {', '.join(LANGUAGES)}")


def set_language(lang: str) -> None:
    _check(lang)
    _LANGUAGE.set(lang)


@contextlib.contextmanager
def using(lang: str) -> Iterator[None]:
    """Render messages in ``lang`` inside the block (tests, editors, API callers)."""
    _check(lang)
    token = _LANGUAGE.set(lang)
    try:
        yield
    finally:
        _LANGUAGE.reset(token)


# ---- catalogues ----------------------------------------------------------------------------


def locale_dir() -> Path:
    return Path(__file__).resolve().parent / "locale"


def po_path(lang: str) -> Path:
    return locale_dir() / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(lang: str) -> Path:
    return locale_dir() / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"


def catalogue_path(lang: str) -> Path:
    """The catalogue a translator edits (kept for callers of the JSON-era API)."""
    return po_path(lang)


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    """The gettext catalogue of ``lang``.  An installed wheel has the compiled ``.mo``; a
    source checkout has the ``.po`` (the truth, so an old ``.mo`` can never shadow it), which is
    compiled in memory with the same code the build uses."""
    import gettext
    import io

    if lang == "en":
        return gettext.NullTranslations()
    source = po_path(lang)
    if source.is_file():
        from funnelc.po import compile_mo, parse_po

        data = compile_mo(parse_po(source.read_text(encoding="utf-8")))
    else:
        data = mo_path(lang).read_bytes()
    return gettext.GNUTranslations(io.BytesIO(data))


def catalogue(lang: str) -> Mapping[str, str | list[str]]:
    """The translations of ``lang`` as a mapping (empty for English): a plain id to its
    string, a counted message's plural id to the list of forms; a message with a context is
    keyed ``context\x04id`` (:func:`funnelc.po.key`)."""
    if lang == "en":
        return {}
    from funnelc.po import key, parse_po

    parsed = parse_po(po_path(lang).read_text(encoding="utf-8"))
    out: dict[str, str | list[str]] = {}
    for entry in parsed.entries.values():
        if entry.plural is not None:
            out[key(entry.plural, entry.context)] = list(entry.plural_forms)
        elif entry.msgstr:
            out[entry.key] = entry.msgstr
    return out


# ---- message values ------------------------------------------------------------------------

Fragment = Union["Msg", "Seq", str, int, float]
"""Something that renders to text: a message, a sequence of fragments, or a value shown as it
is (a name from the user's file, a number).  A :class:`Text` renders from its ``.msg``."""


class Msg(NamedTuple):
    """A translatable message: the English ``id`` and, when it is a ``str.format`` template
    to fill, the values of its fields (``None``: shown as it is, braces included).
    ``plural`` and ``n`` make it a counted message (``ngettext``); ``context`` is its gettext
    context (``msgctxt``, :func:`pgettext`), for an English text that is translated another
    way elsewhere."""

    id: str
    args: tuple[tuple[str, Fragment], ...] | None = None
    plural: str | None = None
    n: int | None = None
    """The count that chooses the plural form (``ngettext``'s ``n``)."""
    context: str | None = None

    def with_args(self, **args: object) -> Msg:
        if self.args is None:
            filled = tuple(sorted([(k, as_fragment(v)) for k, v in args.items()]))
            return Msg(self.id, filled, self.plural, self.n, self.context)
        merged = dict(self.args)
        merged.update({k: as_fragment(v) for k, v in args.items()})
        return Msg(self.id, tuple(sorted(merged.items())), self.plural, self.n, self.context)

    def render(self, lang: str) -> str:
        return render(self, lang)

    def __str__(self) -> str:
        return render(self, _LANGUAGE.get())


class Seq(NamedTuple):
    """Fragments shown one after another, joined by ``sep`` (a concatenation or a list)."""

    parts: tuple[Fragment, ...]
    sep: str = ""

    def __str__(self) -> str:
        return render(self, _LANGUAGE.get())


class Text(str):
    """A string in the current language that remembers the message it was made from.

    Returned by :func:`_`, :func:`ngettext` and :func:`lazy`; behaves as the ``str`` it is
    everywhere, and :func:`render` shows it again in any language from ``.msg``.
    """

    msg: Msg | Seq

    def __new__(cls, msg: Msg | Seq, lang: str | None = None) -> Text:
        obj = super().__new__(cls, render(msg, lang or _LANGUAGE.get()))
        obj.msg = msg
        return obj

    @classmethod
    def _of(cls, msg: object, text: str) -> str:
        """``text``, already rendered from ``msg``, as a :class:`Text` (no rendering again);
        a plain string when ``msg`` is not a message."""
        if not isinstance(msg, Msg | Seq):
            return text
        obj = str.__new__(cls, text)
        obj.msg = msg
        return obj

    def format(self, *args: object, **kwargs: object) -> str:
        if args or not isinstance(self.msg, Msg) or self.msg.args is not None:
            return str(self).format(*args, **kwargs)
        return Text(self.msg.with_args(**kwargs))

    def __add__(self, other: str) -> str:
        if not isinstance(other, str):
            return NotImplemented
        return Text(Seq((self.msg, as_fragment(other))))

    def __radd__(self, other: str) -> str:
        if not isinstance(other, str):
            return NotImplemented
        return Text(Seq((as_fragment(other), self.msg)))

    def __reduce__(self) -> tuple[object, ...]:
        return (Text, (self.msg,))


def as_fragment(value: object) -> Fragment:
    """The fragment behind a value: a :class:`Text`'s message, a message or sequence as it is,
    a number as it is, anything else as its string (user text, shown verbatim)."""
    kind = type(value)
    if kind is str or kind is int or kind is Msg:
        return value  # type: ignore[return-value]
    if kind is Text:
        return value.msg  # type: ignore[attr-defined, no-any-return]
    if isinstance(value, Text):
        return value.msg
    if isinstance(value, Msg | Seq | int | float):
        return value
    return str(value)


def _translate(msg: Msg, lang: str) -> str:
    if not msg.id:
        return ""
    if msg.plural is not None:
        count = msg.n or 0
        if lang == "en":
            return msg.id if count == 1 else msg.plural
        if msg.context is not None:
            return translations(lang).npgettext(msg.context, msg.id, msg.plural, count)
        return translations(lang).ngettext(msg.id, msg.plural, count)
    if lang == "en":
        return msg.id
    if msg.context is not None:
        return translations(lang).pgettext(msg.context, msg.id)
    return translations(lang).gettext(msg.id)


def render(fragment: object, lang: str) -> str:
    """``fragment`` as text in ``lang`` — no global state is read."""
    if type(fragment) is str:
        return fragment
    if isinstance(fragment, Text):
        fragment = fragment.msg
    if isinstance(fragment, Msg):
        if lang == "en" and fragment.plural is None:
            template = fragment.id
        else:
            template = _translate(fragment, lang)
        if fragment.args is None:
            return template
        values: dict[str, object] = {}
        for k, v in fragment.args:
            values[k] = render(v, lang) if isinstance(v, Msg | Seq) else v
        return template.format_map(values)
    if isinstance(fragment, Seq):
        return fragment.sep.join(render(part, lang) for part in fragment.parts)
    return str(fragment)


def lazy(message: str, **args: object) -> Text:
    """``_(message).format(**args)``, spelled as one call."""
    return Text(Msg(message).with_args(**args))


def message(message: str, **args: object) -> Msg:
    """The unrendered :class:`Msg` of ``lazy(message, **args)``: for values that are rendered
    later (a :class:`funnelc.diagnostics.Diagnostic`'s message), so nothing is rendered now."""
    return Msg(message, tuple(sorted([(k, as_fragment(v)) for k, v in args.items()])))


def join(sep: str, items: Iterable[object]) -> Text:
    """``sep.join(items)`` that keeps each item renderable in another language."""
    return Text(Seq(tuple(as_fragment(item) for item in items), sep))


class Translator:
    """The messages of an artefact in a fixed language — the CRM targets' plans and manual
    steps, which speak the pipeline's language rather than the user's.  Bound once,
    ``t = texts_for(lang)``, and called with the English text, the message id, at its use site:
    ``t("Goal: {text}").format(text=goal)`` or ``t("Goal: {text}", text=goal)``.  The message
    extractor (:mod:`funnelc.i18n_tools`, ``babel.cfg``) reads the literals of calls to ``t``
    as it reads those of ``_``."""

    __slots__ = ("lang",)

    def __init__(self, lang: str) -> None:
        _check(lang)
        self.lang = lang

    def __call__(self, message: str, **args: object) -> str:
        if args:
            return render(Msg(message).with_args(**args), self.lang)
        return render(Msg(message), self.lang)

    def __repr__(self) -> str:
        return f"texts_for({self.lang!r})"


@functools.cache
def texts_for(lang: str) -> Translator:
    """The :class:`Translator` of ``lang`` (``en`` or ``ru``), bound as ``t``."""
    return Translator(lang)


def _(message: str) -> str:
    """``message`` in the current language (unchanged when there is no translation); the
    result is a :class:`Text`, so it can be rendered again in another language."""
    return Text(Msg(message))


def pgettext(context: str, message: str) -> str:
    """``message`` in the current language, as translated in ``context`` (gettext's
    ``msgctxt``): for a short English text that reads differently in different places
    (``pgettext("diagram", "timeout")``).  A :class:`Text`, as :func:`_` returns."""
    return Text(Msg(message, context=context))


def pgettext_noop(context: str, message: str) -> Msg:
    """Mark a message with a context for the catalogue without translating it now (tables):
    the :class:`Msg` renders it later in any language."""
    return Msg(message, context=context)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The form of a counted message for ``count`` (Russian has three: ошибка, ошибки,
    ошибок — chosen by the catalogue's ``Plural-Forms``)."""
    return Text(Msg(singular, plural=plural, n=count))


def ngettext_noop(singular: str, plural: str) -> tuple[str, str]:
    """Mark a counted message for the catalogue without translating it now (tables)."""
    return singular, plural


def N_(message: str) -> str:
    """Mark a string for the catalogue without translating it now (tables built at import)."""
    return message


def message_ids() -> set[str]:
    """Every message id funnelc can show (see :func:`funnelc.i18n_tools.extract`); a counted
    message is listed by its plural id, as the JSON-era catalogue keyed it, and a message
    with a context as ``context\x04id`` (as :func:`catalogue` keys it)."""
    from funnelc.i18n_tools import extract
    from funnelc.po import key

    return {key(e.plural or e.msgid, e.context) for e in extract().values()}
