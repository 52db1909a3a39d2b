"""Messages in the user's language: one catalogue per language, keyed by the English text.

Every user-facing message is written in English in the code and passed through :func:`_`
(the gettext convention: the English text is the message id).  ``funnelc/locale/<lang>.json``
maps each id to its translation; a test extracts every id from the code and the catalogues of
codes and lint rules and fails if one has no translation, so the Russian output never falls
back to English unnoticed.

The language is chosen once per run by the CLI (``--lang``, else ``FUNNELC_LANG``, else the
locale variables ``LC_ALL``, ``LC_MESSAGES``, ``LANG``) and held in a context variable, so the
library API stays English unless a caller asks otherwise.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

LANGUAGES = ("en", "ru")

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


def set_language(lang: str) -> None:
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}; use one of {', '.join(LANGUAGES)}")
    _LANGUAGE.set(lang)


@contextlib.contextmanager
def using(lang: str) -> Iterator[None]:
    """Render messages in ``lang`` inside the block (tests, editors, API callers)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}; use one of {', '.join(LANGUAGES)}")
    token = _LANGUAGE.set(lang)
    try:
        yield
    finally:
        _LANGUAGE.reset(token)


def catalogue_path(lang: str) -> Path:
    return Path(__file__).resolve().parent / "locale" / f"{lang}.json"


@functools.cache
def catalogue(lang: str) -> Mapping[str, str]:
    """The translations of ``lang`` (empty for English, whose ids are the messages)."""
    if lang == "en":
        return {}
    data: dict[str, str] = json.loads(catalogue_path(lang).read_text(encoding="utf-8"))
    return data


def _(message: str) -> str:
    """``message`` in the current language (unchanged when there is no translation)."""
    lang = _LANGUAGE.get()
    if lang == "en":
        return message
    return catalogue(lang).get(message, message)


def N_(message: str) -> str:
    """Mark a string for the catalogue without translating it now (tables built at import)."""
    return message
