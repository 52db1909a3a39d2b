"""The fast path of the caret renderer (lines of one-cell characters drawn as themselves) gives
exactly what the per-character path gives."""

from __future__ import annotations

from funnelc import render


def slow_columns(line: str) -> list[int]:
    columns, current = [0], 0
    for char in line:
        current += render.char_width(char)
        columns.append(current)
    return columns


def test_every_plain_character_is_drawn_as_itself_in_one_cell() -> None:
    plain = [chr(c) for c in range(0x3000) if render.is_plain(chr(c))]
    assert len(plain) > 800  # ASCII, Latin, Cyrillic, dashes and quotes
    for char in plain:
        assert render._shown_char(char) == (char, 1), hex(ord(char))


def test_lines_that_are_not_plain_take_the_careful_path() -> None:
    for line in ["a\tb", "й\u0306", "\u00a0x", "中文", "x\u200by", "\u0483"]:
        assert not render.is_plain(line)
    line = 'stage met "Встреча «проведена» — ok"'
    assert render.is_plain(line)
    assert render.display_columns(line) == slow_columns(line)
    assert render.expand_line(line) == line
