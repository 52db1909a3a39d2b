"""Protocol positions ↔ the compiler's character offsets, at the edge of the server only.

The compiler counts code points (:mod:`funnelc.source`).  An LSP position is a 0-based line
and a column counted in the *position encoding* the server and the client agreed on at
``initialize`` (``general.positionEncodings``): UTF-16 code units (VS Code, and the default),
UTF-8 bytes (Neovim offers it first) or UTF-32 code points.  A Cyrillic letter is one code
point, one UTF-16 unit and two UTF-8 bytes; an emoji outside the Basic Multilingual Plane is
one code point, two UTF-16 units and four UTF-8 bytes; a tab is one of each.

Everything inside the server works in offsets; only the handlers call :class:`LineIndex` to
turn what the client sent into offsets and offsets into what it expects back.  Line breaks are
``\\n`` (the loader turns ``\\r\\n`` and ``\\r`` into ``\\n`` without changing the number of
lines, so the lines a client counts are the lines here).
"""

from __future__ import annotations

import bisect
from typing import Literal, NamedTuple

Encoding = Literal["utf-8", "utf-16", "utf-32"]
ENCODINGS: tuple[Encoding, ...] = ("utf-8", "utf-16", "utf-32")


class Pos(NamedTuple):
    """A protocol position: 0-based line and column in the negotiated encoding's units."""

    line: int
    character: int


def encoding_of(name: str | None) -> Encoding:
    """The encoding named by the protocol (``utf-16`` when unknown or not given)."""
    return name if name in ENCODINGS else "utf-16"  # type: ignore[return-value,unused-ignore]


def choose(offered: list[str] | None) -> Encoding:
    """The client's first offered encoding that the server supports (all three), else UTF-16
    (the protocol's mandatory default)."""
    for name in offered or ():
        if name in ENCODINGS:
            return name  # type: ignore[return-value,unused-ignore]
    return "utf-16"


def _width(char: str, encoding: Encoding) -> int:
    code = ord(char)
    if encoding == "utf-16":
        return 2 if code > 0xFFFF else 1
    if encoding == "utf-8":
        return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
    return 1


def units(text: str, encoding: Encoding) -> int:
    """The length of ``text`` in ``encoding``'s units."""
    if encoding == "utf-32" or text.isascii():
        return len(text)
    if encoding == "utf-8":
        return len(text.encode("utf-8", "surrogatepass"))
    return sum(2 if ord(c) > 0xFFFF else 1 for c in text)


class LineIndex:
    """The line starts of one text, to convert offsets and positions both ways."""

    __slots__ = ("_starts", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        starts = [0]
        index = text.find("\n")
        while index != -1:
            starts.append(index + 1)
            index = text.find("\n", index + 1)
        self._starts = starts

    @property
    def line_count(self) -> int:
        return len(self._starts)

    def _line_end(self, line: int) -> int:
        return self._starts[line + 1] - 1 if line + 1 < len(self._starts) else len(self.text)

    def position(self, offset: int, encoding: Encoding) -> Pos:
        """The protocol position of the character offset ``offset`` (clamped to the text)."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._starts, offset) - 1
        start = self._starts[line]
        return Pos(line, units(self.text[start:offset], encoding))

    def offset(self, line: int, character: int, encoding: Encoding) -> int:
        """The character offset of a protocol position.

        A line past the end is the end of the text; a column past the end of its line is the
        end of the line (as the protocol says); a column inside a character (half of a UTF-16
        surrogate pair, or inside a UTF-8 sequence) is that character's start.
        """
        if line < 0:
            return 0
        if line >= len(self._starts):
            return len(self.text)
        start = self._starts[line]
        end = self._line_end(line)
        if encoding == "utf-32" or self.text[start:end].isascii():
            return min(start + max(character, 0), end)
        counted = 0
        for index in range(start, end):
            counted += _width(self.text[index], encoding)
            if counted > character:
                return index
        return end

    def range(self, start: int, end: int, encoding: Encoding) -> tuple[Pos, Pos]:
        return self.position(start, encoding), self.position(end, encoding)

    def end(self, encoding: Encoding) -> Pos:
        return self.position(len(self.text), encoding)
