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
def catalogue(lang: str) -> Mapping[str, str | list[str]]:
    """The translations of ``lang`` (empty for English, whose ids are the messages).

    A value is a string, or for a plural id (see :func:`ngettext`) the list of the language's
    plural forms.
    """
    if lang == "en":
        return {}
    data: dict[str, str | list[str]] = json.loads(catalogue_path(lang).read_text(encoding="utf-8"))
    return data


def _(message: str) -> str:
    """``message`` in the current language (unchanged when there is no translation)."""
    lang = _LANGUAGE.get()
    if lang == "en":
        return message
    translated = catalogue(lang).get(message, message)
    return translated if isinstance(translated, str) else translated[-1]


def _russian_form(count: int) -> int:
    """0 for 1, 21, 31 …; 1 for 2–4, 22–24 …; 2 for the rest (5–20, 25–30, 11–14 …)."""
    if count % 10 == 1 and count % 100 != 11:
        return 0
    if 2 <= count % 10 <= 4 and not 12 <= count % 100 <= 14:
        return 1
    return 2


def ngettext(singular: str, plural: str, count: int) -> str:
    """The form of a counted message for ``count``; the catalogue keys it by ``plural`` and
    holds the language's forms as a list (Russian has three: ошибка, ошибки, ошибок)."""
    lang = _LANGUAGE.get()
    if lang == "en":
        return singular if count == 1 else plural
    forms = catalogue(lang).get(plural)
    if not isinstance(forms, list):
        return singular if count == 1 else plural
    return forms[min(_russian_form(count), len(forms) - 1)]


def N_(message: str) -> str:
    """Mark a string for the catalogue without translating it now (tables built at import)."""
    return message


def message_ids() -> set[str]:
    """Every message id funnelc can show: the literals passed to ``_``/``N_`` anywhere in the
    package and the targets, the templates of the code catalogue, and the parser's catalogue
    of typical mistakes.  Used by the catalogue test and by ``python -m funnelc.i18n``."""
    import ast

    from funnelc.codes import CODES
    from funnelc.parse import _MISTAKES
    from funnelc.resources import targets_dir

    package = Path(__file__).resolve().parent
    files = sorted(package.rglob("*.py")) + sorted(targets_dir().glob("*.py"))
    ids: set[str] = set()
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("_", "N_")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                ids.add(node.args[0].value)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "ngettext"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)
            ):
                ids.add(node.args[1].value)
    for entry in CODES.values():
        ids.add(entry.message)
        if entry.help:
            ids.add(entry.help)
    for message, hint in _MISTAKES:
        ids.update((message, hint))
    ids.update(("error", "warning", "info", "open", "won", "lost"))
    return ids


if __name__ == "__main__":
    import sys

    wanted = sorted(message_ids())
    lang = sys.argv[1] if len(sys.argv) > 1 else "ru"
    have = catalogue(lang)
    missing = {m: "" for m in wanted if m not in have}
    unused = sorted(set(have) - set(wanted))
    json.dump({"missing": missing, "unused": unused}, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
