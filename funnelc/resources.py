"""Locating the data files that ship with funnelc (grammar, code explanations, schemas).

In a wheel they sit inside the package (``funnelc/grammar``, ``funnelc/codes_docs``); in a
source checkout or an editable install they sit at the top of the repository (``grammar/``,
``docs/codes/``), which is where contributors edit them.  Both layouts are tried, in that order.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_REPO = _PACKAGE.parent


def _first_existing(*candidates: Path) -> Path:
    for candidate in candidates:
        if candidate.exists():
            return candidate
    return candidates[-1]


def grammar_path() -> Path:
    """The Lark grammar of the language."""
    return _first_existing(_PACKAGE / "grammar" / "funnel.lark", _REPO / "grammar" / "funnel.lark")


def codes_dir() -> Path:
    """The folder of long explanations, one Markdown file per diagnostic code."""
    return _first_existing(_PACKAGE / "codes_docs", _REPO / "docs" / "codes")


def targets_dir() -> Path:
    """The emitters' folder: ``targets/`` in a checkout, ``funnelc/targets`` installed."""
    return _first_existing(_PACKAGE / "targets", _REPO / "targets")


def code_page(code: str, lang: str = "en") -> Path:
    """The long explanation of ``code`` in ``lang`` (``docs/codes/ru/F102.md`` for Russian),
    or the English page when that language has none."""
    base = codes_dir()
    if lang != "en":
        translated = base / lang / f"{code}.md"
        if translated.is_file():
            return translated
    return base / f"{code}.md"
