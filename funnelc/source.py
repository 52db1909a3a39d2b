"""Source text and positions: the one place that turns offsets into lines and columns.

Every node of the model carries a :class:`Span` made of character offsets into the text of one
:class:`SourceFile`.  Lines and columns are computed only when something is shown to a person
(diagnostics, JSON output), so they are always consistent with the text actually read: a
Cyrillic letter is one character, not two bytes, and a tab is one character here and is
expanded only by the renderer that draws carets.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple


class Span(NamedTuple):
    """A half-open range ``[start, end)`` of character offsets in the file ``path``.

    A named tuple rather than a dataclass: a large file has hundreds of thousands of spans,
    and a tuple is several times cheaper to create.
    """

    path: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Position:
    """A 1-based line and a 1-based column counted in characters (code points)."""

    line: int
    column: int


@dataclass(frozen=True, slots=True)
class SourceFile:
    """The text of one ``.funnel`` file as it was read, and its display path.

    ``path`` is the path shown to the user (relative to the working directory where possible);
    it is also the key under which spans refer to this file.
    """

    path: str
    text: str
    _line_starts: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        starts = [0]
        text = self.text
        index = text.find("\n")
        while index != -1:
            starts.append(index + 1)
            index = text.find("\n", index + 1)
        object.__setattr__(self, "_line_starts", tuple(starts))

    @property
    def line_count(self) -> int:
        return len(self._line_starts)

    def position(self, offset: int) -> Position:
        """The line and column of ``offset`` (clamped to the text)."""
        offset = max(0, min(offset, len(self.text)))
        line_index = bisect.bisect_right(self._line_starts, offset) - 1
        return Position(line_index + 1, offset - self._line_starts[line_index] + 1)

    def line_text(self, line: int) -> str:
        """The text of the 1-based ``line`` without its line break."""
        start = self._line_starts[line - 1]
        end = self._line_starts[line] - 1 if line < len(self._line_starts) else len(self.text)
        return self.text[start:end].rstrip("\r")

    def offset(self, line: int, column: int) -> int:
        """The offset of a 1-based line and column, as Lark reports them."""
        line = max(1, min(line, len(self._line_starts)))
        return min(self._line_starts[line - 1] + max(column, 1) - 1, len(self.text))

    def span(self, start: int, end: int) -> Span:
        return Span(self.path, start, end)


def display_path(path: Path) -> str:
    """The path as shown to people and used as a span's key: relative to the working
    directory when below it, with ``/`` separators on every OS so outputs do not differ."""
    resolved = path.resolve()
    try:
        shown = resolved.relative_to(Path.cwd().resolve())
    except ValueError:
        shown = resolved
    return shown.as_posix()
