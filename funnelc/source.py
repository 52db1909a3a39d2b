"""Source text and positions: the one place that turns offsets into lines and columns.

Every node of the model carries a :class:`Span` made of character offsets into the text of one
:class:`SourceFile`.  Lines and columns are computed only when something is shown to a person
(diagnostics, JSON output), so they are always consistent with the text actually read: a
Cyrillic letter is one character, not two bytes, and a tab is one character here and is
expanded only by the renderer that draws carets.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


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
    """The text of one ``.funnel`` file as it was read, and its paths.

    ``path`` is the path shown to the user (relative to the working directory where possible);
    it is also the key under which spans refer to this file.  ``project_path`` is the path
    written into outputs (JSON ``source``, plans, SARIF): relative to the project root with
    ``/`` separators, so that it does not depend on the working directory or the OS; it
    defaults to ``path`` (in-memory sources).

    Text that arrives through the API (an editor, JSON-RPC) may hold lone UTF-16 surrogates,
    which no UTF-8 output can encode.  They are replaced with U+FFFD here, the one place every
    text passes through, and their offsets are kept in ``surrogates`` so that the loader can
    report them (F507).
    """

    path: str
    text: str
    project_path: str = ""
    surrogates: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _line_starts: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        found: tuple[int, ...] = ()
        text = self.text
        if not text.isascii() and _SURROGATE.search(text):
            found = tuple(m.start() for m in _SURROGATE.finditer(text))
            text = _SURROGATE.sub(REPLACEMENT, text)
            object.__setattr__(self, "text", text)
        object.__setattr__(self, "surrogates", found)
        object.__setattr__(self, "path", without_surrogates(self.path))
        object.__setattr__(self, "project_path", without_surrogates(self.project_path) or self.path)
        starts = [0]
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


def without_surrogates(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (it can then be encoded)."""
    return text if text.isascii() else _SURROGATE.sub(REPLACEMENT, text)


def output_path(sources: Mapping[str, SourceFile], path: str) -> str:
    """The path to write into an output for the file whose spans use ``path``: its
    project-relative path when the file is known, else ``path`` itself."""
    source = sources.get(path)
    return source.project_path if source is not None else without_surrogates(path)


def relative_to_root(path: Path, root: Path) -> str:
    """``path`` relative to the project ``root`` (both resolved), with ``/`` separators.

    A file outside the root is written with ``..`` steps; only when no relative path exists
    (another drive on Windows) is it the absolute path."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(root).as_posix()
    except ValueError:
        pass
    try:
        return Path(os.path.relpath(resolved, root)).as_posix()
    except ValueError:
        return resolved.as_posix()


def display_path(path: Path) -> str:
    """The path as shown to people and used as a span's key: relative to the working
    directory when below it, with ``/`` separators on every OS so outputs do not differ."""
    resolved = path.resolve()
    try:
        shown = resolved.relative_to(Path.cwd().resolve())
    except ValueError:
        shown = resolved
    return shown.as_posix()
