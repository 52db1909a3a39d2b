"""Strings and names checked in lower: control characters (F005), blank names (F006), Windows
import paths (F007), and what is still allowed (tab, line breaks, CRLF in a multi-line string).
"""

from __future__ import annotations

import pytest

import funnelc

VALID = """\
pipeline p "{name}" {{
  deal {{
    stage a "A" {{ goal {goal} }}
    won w "W"
    lost l "L"
  }}
}}
"""


def _codes(name: str = "P", goal: str = '"x"') -> list[str]:
    result = funnelc.compile_text(VALID.format(name=name, goal=goal), "s.funnel")
    return [d.code for d in result.diagnostics]


@pytest.mark.parametrize(
    "name",
    ["a\x00b", "\\0", "\\u0000", "\\U00000007", "\\r", "\x1b[31m", "\x7f", "\x85", "\x9f",
     "\u202a", "\u202e", "\\u202e", "\u2066", "\u2069", "\\U00002069"],
)  # fmt: skip
def test_control_and_bidi_characters_are_refused(name: str) -> None:
    assert _codes(name=f"x{name}y") == ["F005"]


def test_one_diagnostic_per_string_pointing_at_the_first_character() -> None:
    text = VALID.format(name="ok\\0 and \x01", goal='"x"')
    result = funnelc.compile_text(text, "s.funnel")
    [d] = result.diagnostics
    assert d.code == "F005" and d.span is not None
    assert text[d.span.start : d.span.end] == "\\0"


@pytest.mark.parametrize("name", ["tab\there", "line\\nbreak", "a\\tb", "Ж\u200dЖ", "🚀"])
def test_tab_line_break_and_other_characters_are_allowed(name: str) -> None:
    assert _codes(name=name) == []


def test_crlf_inside_a_multi_line_string_is_a_line_end() -> None:
    assert _codes(goal='"""\r\n  first\r\n  second\r\n  """') == []


@pytest.mark.parametrize("name", ["", " ", "\\t", "\u3000"])
def test_blank_names_are_refused(name: str) -> None:
    assert _codes(name=name) == ["F006"]


def test_a_blank_goal_is_not_a_name() -> None:
    # Only display names must be non-blank; a goal's emptiness is lint's business.
    assert "F006" not in _codes(goal='""')


def test_backslash_import_goes_on_with_the_path_meant() -> None:
    result = funnelc.compile_texts(
        {
            "main.funnel": 'import "shared\\realty.funnel"\n' + VALID.format(name="P", goal='"x"'),
            "shared/realty.funnel": 'reason r "R"\n',
        }
    )
    assert [d.code for d in result.diagnostics] == ["F007"]
