"""Reading the two kinds of files the diagnostic tests share: ``.funnel`` cases whose first
line says which codes they expect, and the docs pages of the codes (``docs/codes/<CODE>.md``),
whose sections hold fenced examples.  ``tests/test_diagnostics.py`` (compiler codes) and
``tests/test_target_codes.py`` (target codes) read both the same way."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import ROOT

_EXPECT = re.compile(r"# expect:((?: F\d{3})+)\s*$")


def expected_codes(path: Path, lines: list[str]) -> tuple[str, ...]:
    """The codes the ``# expect: F… F…`` first line of a case names."""
    match = _EXPECT.fullmatch(lines[0]) if lines else None
    if match is None:
        raise ValueError(f"{path.relative_to(ROOT)} must begin with `# expect: F…`")
    return tuple(match.group(1).split())


def section(text: str, title: str) -> str:
    """The body of the ``## <title>`` section of a docs page."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match is not None, f"no `## {title}` section"
    return match.group(1)


def blocks(text: str, language: str) -> list[str]:
    """The contents of the fenced ``language`` blocks of a section."""
    return re.findall(rf"^```{language}\n(.*?)^```$", text, re.S | re.M)
