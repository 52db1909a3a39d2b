"""The message catalogue: every message funnelc can show has a Russian translation.

The ids are extracted from the code (every ``_``/``N_``/``ngettext`` literal), the catalogue of
codes and the parser's catalogue of mistakes, so a new English message without a translation,
a translation whose ``{fields}`` differ from the English, or a stale entry fails here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import funnelc
from funnelc.i18n import (
    catalogue,
    catalogue_path,
    detect_language,
    message_ids,
    ngettext,
    using,
)
from funnelc.render import render_human
from tests.conftest import TESTS

CYRILLIC = re.compile(r"[А-Яа-яЁё]")


def _fields(template: str) -> set[str]:
    """The ``{fields}`` of a template; braces inside `code` spans are literal text."""
    return set(re.findall(r"\{(\w+)(?:![rsa])?\}", re.sub(r"`[^`{}]*[{}][^`]*`", "", template)))


def test_every_message_has_a_russian_translation() -> None:
    ru = catalogue("ru")
    missing = sorted(m for m in message_ids() if m not in ru)
    assert not missing, "add to funnelc/locale/ru.json:\n" + json.dumps(
        dict.fromkeys(missing, ""), ensure_ascii=False, indent=2
    )


def test_no_stale_translations() -> None:
    stale = sorted(set(catalogue("ru")) - message_ids())
    assert not stale, f"remove from funnelc/locale/ru.json: {stale}"


def test_translations_keep_the_fields_and_are_russian() -> None:
    for english, russian in catalogue("ru").items():
        forms = russian if isinstance(russian, list) else [russian]
        for form in forms:
            assert _fields(form) == _fields(english), (english, form)
            words = re.sub(r"`[^`]*`|\{[^}]*\}", "", english)
            if re.search(r"[a-z]{3}", words):
                assert CYRILLIC.search(form), f"not translated: {english!r} -> {form!r}"


def test_catalogue_is_sorted_and_stable() -> None:
    text = catalogue_path("ru").read_text(encoding="utf-8")
    data = json.loads(text)
    assert list(data) == sorted(data)
    assert text == json.dumps(data, ensure_ascii=False, indent=2) + "\n"


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (1, "1 ошибка"),
        (2, "2 ошибки"),
        (5, "5 ошибок"),
        (11, "11 ошибок"),
        (21, "21 ошибка"),
        (22, "22 ошибки"),
        (112, "112 ошибок"),
    ],
)
def test_russian_plurals(count: int, expected: str) -> None:
    with using("ru"):
        assert ngettext("{count} error", "{count} errors", count).format(count=count) == expected
    assert ngettext("{count} error", "{count} errors", 1) == "{count} error"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LANG": "ru_RU.UTF-8"}, "ru"),
        ({"LC_ALL": "ru_RU.UTF-8", "LANG": "en_US.UTF-8"}, "ru"),
        ({"FUNNELC_LANG": "en", "LANG": "ru_RU.UTF-8"}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({}, "en"),
    ],
)
def test_language_from_the_environment(environ: dict[str, str], expected: str) -> None:
    assert detect_language(environ) == expected


def _error_cases() -> list[Path]:
    return sorted((TESTS / "errors").glob("*.funnel"))


@pytest.mark.parametrize("case", _error_cases(), ids=lambda p: p.stem)
def test_every_compiler_error_renders_in_russian(case: Path) -> None:
    """Each snapshot case, rendered in Russian: the message and help of every diagnostic are
    Russian (user text in backticks aside), and the layout is the same as in English."""
    with using("ru"):
        result = funnelc.compile(case)
        rendered = render_human(result.diagnostics, result.sources)
    english = render_human(funnelc.compile(case).diagnostics, result.sources)
    assert result.diagnostics
    for diagnostic in result.diagnostics:
        assert CYRILLIC.search(diagnostic.message), diagnostic.message
        if diagnostic.help:
            outside_code = re.sub(r"`[^`]*`", "", diagnostic.help)
            assert CYRILLIC.search(outside_code) or not re.search("[a-z]{4}", outside_code), (
                diagnostic.help
            )
    assert rendered.count("\n") == english.count("\n")


@pytest.mark.parametrize("name", ["manager_actions", "activities", "in_progress"])
def test_every_lint_finding_renders_in_russian(name: str) -> None:
    path = TESTS / "lint" / "anti" / f"{name}.funnel"
    with using("ru"):
        result = funnelc.compile(path, lint=True)
    assert result.diagnostics
    for diagnostic in result.diagnostics:
        assert CYRILLIC.search(re.sub(r"`[^`]*`", "", diagnostic.message)), diagnostic.message
        if diagnostic.help:
            assert CYRILLIC.search(re.sub(r"`[^`]*`", "", diagnostic.help)), diagnostic.help
