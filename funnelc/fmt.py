"""``funnelc fmt``: rewrite ``.funnel`` files in one canonical style (docs/style.md).

The formatter never reorders, adds or drops a token: it prints the file's own tokens in their
own order and decides only the white space between them (and the spelling of strings, keeping
their values).  The Lark tree — from the same grammar and parser options as the compiler's —
says where statements and blocks begin and end; comments are collected with a lexer callback
and printed where the author put them, each attached to the tokens around it: a comment after
code on the same line stays at the end of that line, a comment on a line of its own stays on a
line of its own before the same token.

A file with syntax errors is refused with the compiler's own diagnostics: the formatter does
not guess what a broken file means.
"""

from __future__ import annotations

import bisect
import contextlib
import difflib
import functools
import os
import re
import stat
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from funnelc import codes
from funnelc.diagnostics import Diagnostic
from funnelc.source import SourceFile, display_path

if TYPE_CHECKING:
    from lark import Lark, Token, Tree

INDENT = 2
"""Spaces per level of nesting."""

COMMENT_COLUMN = 48
"""A comment at the end of a line starts at this (0-based) display column, or two spaces after
the code when the code is longer or the line would not fit in ``MAX_WIDTH`` columns."""

MAX_WIDTH = 100

_TAB_WIDTH = 8

# The grammar's terminals, as one scanner.  The file has parsed, so every character is either
# white space, a comment or the start of exactly one of these.
_SCAN = re.compile(
    r'(?P<LONG_STRING>"""(?:[^"\\]|\\.|"(?!""))*""")'
    r'|(?P<STRING>"(?:[^"\\\n]|\\[^\n])*")'
    r"|(?P<COMMENT>#[^\n]*)"
    r"|(?P<WS>[ \t\f\r\n\ufeff]+)"
    r"|(?P<DURATION>[0-9]+(?:min|bd|h|d|w)(?![A-Za-z0-9_]))"
    r"|(?P<PERCENT>-?[0-9]+%)"
    r"|(?P<ID>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<ARROW>->)"
    r"|(?P<PUNCT>[{}(),.])"
    r"|(?P<OTHER>.)",
    re.S,
)

_ATTRIBUTE_BLOCKS = {"stage_body", "outcome_body"}
"""Blocks of attributes (may stay on one line); every other block holds statements."""

_NO_SPACE_BEFORE = {",", ")", "."}
_NO_SPACE_AFTER = {"(", "."}

# Characters written as escapes in a canonical string: invisible or confusable ones.  The
# joiners and tag characters stay literal, since emoji sequences are made of them.
_NAMED_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


@dataclass(frozen=True, slots=True)
class Tok:
    kind: str
    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class FormatResult:
    """The formatted text, or ``None`` with the diagnostics that stopped the formatter."""

    text: str | None
    diagnostics: tuple[Diagnostic, ...] = ()


# ---- strings --------------------------------------------------------------------------------


def _needs_escape(char: str) -> bool:
    category = unicodedata.category(char)
    if category in ("Cc", "Zl", "Zp", "Cs"):
        return True
    if category == "Zs":
        return char != " "
    if category == "Cf":
        return char not in "\u200c\u200d" and not 0xE0020 <= ord(char) <= 0xE007F
    return False


def _escape(value: str) -> str:
    out = []
    for char in value:
        if char in _NAMED_ESCAPES:
            out.append(_NAMED_ESCAPES[char])
        elif _needs_escape(char):
            code = ord(char)
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(char)
    return "".join(out)


def _has_bad_escape(body: str) -> bool:
    from funnelc.lower import _ESCAPE, _decode_escape

    return "\\" in body and any(_decode_escape(m.group(1)) is None for m in _ESCAPE.finditer(body))


def canonical_string(raw: str) -> str:
    """A one-line string as the formatter writes it: the same value, with exactly the escapes
    docs/style.md lists.  A string with an escape the language does not have is left alone
    (the compiler reports it; guessing its value would change it)."""
    from funnelc.lower import _unescape

    body = raw[1:-1]
    if _has_bad_escape(body):
        return raw
    return f'"{_escape(_unescape(body))}"'


def _long_value(raw: str) -> str:
    from funnelc.lower import _dedent_block, _unescape

    return _unescape(_dedent_block(raw[3:-3]))


def canonical_long_string(raw: str, indent: int) -> str:
    """A multi-line string re-indented: its lines two spaces deeper than the statement, the
    closing quotes at the statement's indentation.  The characters of each line are kept as
    written (escapes included); if re-indenting could change the value, the string is kept
    exactly as written."""
    body = raw[3:-3]
    if not body.startswith("\n") or _has_bad_escape(body):
        return raw
    lines = body[1:].split("\n")
    if len(lines) < 2 or lines[-1].strip(" \t"):
        return raw  # the closing quotes follow text on the same line
    content = lines[:-1]
    while content and not content[-1].strip():
        content.pop()
    written = [line for line in content if line.strip()]
    margins = [line[: len(line) - len(line.lstrip(" \t"))] for line in written]
    common = min(margins, default="")
    for margin in margins:
        while not margin.startswith(common):
            common = common[:-1]
    pad = " " * (indent + INDENT)
    shifted = [pad + line[len(common) :] if line.strip() else "" for line in content]
    candidate = '"""\n' + "".join(f"{line}\n" for line in shifted) + " " * indent + '"""'
    return candidate if _long_value(candidate) == _long_value(raw) else raw


# ---- widths ---------------------------------------------------------------------------------


def width(text: str) -> int:
    """Display width of the last line of ``text`` as a monospace editor draws it: wide East
    Asian characters and emoji take two columns; combining marks, joiners, variation selectors
    and tag characters none; a character joined by U+200D to the one before adds nothing; a
    pair of regional indicators (a flag) takes two; a tab moves to the next multiple of 8."""
    line = text.rsplit("\n", 1)[-1]
    column = 0
    last = 0  # the width of the last character drawn
    joined = regional = False
    for char in line:
        code = ord(char)
        step = 0
        if char == "\t":
            step = _TAB_WIDTH - column % _TAB_WIDTH
        elif char == "\ufe0f":
            step = 1 if last == 1 else 0  # an emoji presentation of a narrow symbol
        elif joined or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            step = 0
        elif 0x1F1E6 <= code <= 0x1F1FF:
            step = 0 if regional else 2
        elif unicodedata.east_asian_width(char) in ("W", "F"):
            step = 2
        else:
            step = 1
        regional = 0x1F1E6 <= code <= 0x1F1FF and not regional
        joined = char == "\u200d"
        if step or char == "\ufe0f":
            last = step if char != "\ufe0f" else 2
        column += step
    return column


# ---- parsing --------------------------------------------------------------------------------


@dataclass
class _Collector:
    comments: list[Token] = field(default_factory=list)


_COLLECTOR = _Collector()
_COLLECTING = threading.Lock()  # the callback writes to one list: one parse at a time


@functools.cache
def _comment_parser() -> Lark:
    """The compiler's parser, configured identically, plus a lexer callback that collects the
    comments the grammar ignores.  Built in memory once per process (tens of milliseconds):
    Lark's ``cache=True`` would write a file into the temporary directory on a library call,
    and the shipped serialised parser (:mod:`funnelc.parse`) has no callbacks."""
    from lark import Lark

    from funnelc.resources import grammar_path

    def collect(token: Token) -> Token:
        _COLLECTOR.comments.append(token)
        return token

    return Lark(
        grammar_path().read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=False,
        lexer_callbacks={"COMMENT": collect},
    )


def _tokens(text: str) -> list[Tok]:
    return [
        Tok(m.lastgroup or "OTHER", m.group(0), m.start(), m.end())
        for m in _SCAN.finditer(text)
        if m.lastgroup != "WS"
    ]


def _with_tree_tokens(scanned: list[Tok], tree: Tree[Token]) -> list[Tok]:
    """The scanned tokens, with the parser's own tokens standing in wherever the two disagree
    (a terminal the grammar gained that the scanner does not know)."""
    from lark import Token

    named = [t for t in tree.scan_values(lambda v: isinstance(v, Token)) if t.start_pos is not None]
    by_start = {t.start: t for t in scanned}
    if all((m := by_start.get(t.start_pos or 0)) is not None and m.end == t.end_pos for t in named):
        return scanned
    spans = sorted((t.start_pos or 0, t.end_pos or 0, t.type, str(t)) for t in named)
    starts = [start for start, _end, _kind, _text in spans]
    merged = []
    for token in scanned:
        index = bisect.bisect_right(starts, token.start) - 1
        if index >= 0 and spans[index][0] <= token.start < spans[index][1]:
            continue  # inside a token of the parser's
        merged.append(token)
    merged.extend(Tok(kind, text, start, end) for start, end, kind, text in spans)
    return sorted(merged, key=lambda t: t.start)


def _tree_essence(tree: Tree[Token] | Token) -> object:
    """The parse tree as the compiler sees it, positions left out and strings by value."""
    from lark import Tree

    if isinstance(tree, Tree):
        return (str(tree.data), tuple(_tree_essence(child) for child in tree.children))
    if tree.type == "STRING" and not _has_bad_escape(str(tree)[1:-1]):
        from funnelc.lower import _unescape

        return ("STRING", _unescape(str(tree)[1:-1]))
    if tree.type == "LONG_STRING":
        return ("LONG_STRING", _long_value(str(tree)))
    return (tree.type, str(tree))


class FormatterError(Exception):
    """The formatter's own view of the file disagrees with the parser's (a bug)."""


# ---- the printer ----------------------------------------------------------------------------


@dataclass
class _Newline:
    indent: int
    comment_indent: int
    blank_ok: bool


class _Printer:
    def __init__(self, text: str, tree: Tree[Token], comments: Sequence[Tok]) -> None:
        self.text = text
        everything = _with_tree_tokens(_tokens(text), tree)
        self.tokens = [t for t in everything if t.kind != "COMMENT"]
        self.starts = [t.start for t in self.tokens]
        scanned = [t for t in everything if t.kind == "COMMENT"]
        if [(c.start, c.text) for c in scanned] != [(c.start, c.text) for c in comments]:
            raise FormatterError("comments")
        self.comments = list(comments)
        self.comment_starts = [c.start for c in self.comments]
        self.next_comment = 0
        self.tree = tree
        self.lines: list[str] = []
        self.cur = ""
        self.last_end = 0
        self.prev: Tok | None = None
        self.pending: _Newline | str | None = None
        self.align: dict[int, int] = {}
        self.lists: list[list[int | None]] = []
        self.cont = 0
        self.emitted = 0
        self.block_opened = False
        self.statement_indent = 0
        self.pinned = self.suppression_lines()

    # -- structure ------------------------------------------------------------------------

    def elements(self, node: Tree[Token]) -> list[Tok | Tree[Token]]:
        from lark import Tree

        if node.meta.empty:
            return []
        start, end = node.meta.start_pos, node.meta.end_pos
        children = [c for c in node.children if isinstance(c, Tree) and not c.meta.empty]
        result: list[Tok | Tree[Token]] = []
        index = bisect.bisect_left(self.starts, start)
        child_index = 0
        while index < len(self.tokens) and self.tokens[index].start < end:
            token = self.tokens[index]
            while child_index < len(children) and children[child_index].meta.end_pos <= token.start:
                result.append(children[child_index])
                child_index += 1
            if child_index < len(children) and children[child_index].meta.start_pos <= token.start:
                index += 1
                continue
            result.append(token)
            index += 1
        result.extend(children[child_index:])
        return result

    @staticmethod
    def range(element: Tok | Tree[Token]) -> tuple[int, int]:
        if isinstance(element, Tok):
            return element.start, element.end
        return element.meta.start_pos, element.meta.end_pos

    def comments_in(self, start: int, end: int) -> bool:
        index = bisect.bisect_left(self.comment_starts, start)
        return index < len(self.comment_starts) and self.comment_starts[index] < end

    def own_line_comments_in(self, start: int, end: int) -> bool:
        """Whether a comment on a line of its own lies between ``start`` and ``end``."""
        index = bisect.bisect_left(self.comment_starts, start)
        while index < len(self.comment_starts) and self.comment_starts[index] < end:
            if "\n" in self.text[start : self.comment_starts[index]]:
                return True
            index += 1
        return False

    def suppression_lines(self) -> set[int]:
        """The source lines (by the offset of their line break) whose statements a
        ``# funnelc: allow`` comment covers: the line it ends, or for a comment on a line of
        its own the next line with code (as funnelc/lint/suppress.py reads them).  Such a line
        keeps exactly its tokens, so the suppression covers the same statements."""
        from funnelc.lint.suppress import _PRAGMA

        pinned = set()
        for comment in self.comments:
            if not _PRAGMA.search(comment.text):
                continue
            line_start = self.text.rfind("\n", 0, comment.start) + 1
            if self.text[line_start : comment.start].strip():
                pinned.add(comment.end)
                continue
            position = comment.end
            while position < len(self.text):
                line_end = self.text.find("\n", position + 1)
                line_end = len(self.text) if line_end == -1 else line_end
                line = self.text[position:line_end].strip()
                if line and not line.startswith("#"):
                    pinned.add(line_end)
                    break
                position = line_end
        return pinned

    def line_end(self, position: int) -> int:
        end = self.text.find("\n", position)
        return len(self.text) if end == -1 else end

    def on_pinned_line(self, token: Tok, *, first: bool = False) -> bool:
        """Whether ``token`` is on the same source line as the previous token and that line
        is pinned (see :meth:`suppression_lines`); with ``first``: whether the two are on
        different lines and either line is pinned, so a line break belongs between them."""
        if self.prev is None or first != ("\n" in self.text[self.prev.end : token.start]):
            return False
        if first and self.line_end(self.prev.end) in self.pinned:
            return True
        return self.line_end(token.start) in self.pinned

    # -- output ---------------------------------------------------------------------------

    def finish_line(self) -> None:
        if self.cur.strip():
            self.lines.append(self.cur.rstrip(" "))
        self.cur = ""

    def blank_before(self, position: int) -> bool:
        """Whether the author left a blank line right before ``position``."""
        return self.text.count("\n", self.last_end, position) >= 2

    def new_line(self, indent: int, blank: bool) -> None:
        self.finish_line()
        if blank and self.lines and self.lines[-1] and not self.block_opened:
            self.lines.append("")
        self.block_opened = False
        self.cur = " " * indent

    def flush_comments(self, before: int, comment_indent: int, blank_ok: bool) -> bool:
        """Print the comments that come before offset ``before``; returns whether any did
        (a comment always ends its line)."""
        printed = False
        while (
            self.next_comment < len(self.comments)
            and self.comments[self.next_comment].start < before
        ):
            comment = self.comments[self.next_comment]
            self.next_comment += 1
            text = comment.text.rstrip()
            trailing = (
                self.emitted > 0
                and self.cur.strip() != ""
                and "\n" not in self.text[self.last_end : comment.start]
            )
            if trailing:
                shown = width(self.cur)
                aligned = shown <= COMMENT_COLUMN - 2 and COMMENT_COLUMN + width(text) <= MAX_WIDTH
                gap = COMMENT_COLUMN - shown if aligned else 2
                self.cur += " " * gap + text
                self.finish_line()
            else:
                blank = blank_ok and self.blank_before(comment.start)
                self.new_line(comment_indent, blank)
                self.cur += text
                self.finish_line()
            self.last_end = comment.end
            printed = True
        return printed

    def put(self, token: Tok) -> None:
        pending, self.pending = self.pending, None
        if isinstance(pending, _Newline) and self.on_pinned_line(token):
            assert self.prev is not None
            pending = " " if "{" in (self.prev.text, token.text) or token.text == "}" else "  "
        if isinstance(pending, _Newline):
            self.flush_comments(token.start, pending.comment_indent, True)
            blank = pending.blank_ok and self.blank_before(token.start)
            self.new_line(pending.indent, blank)
        else:
            broke = self.flush_comments(token.start, self.cont, False)
            list_column = self.lists[-1][0] if self.lists else None
            if not broke and self.on_pinned_line(token, first=True):
                # A line that ends with a suppression starts where it started: the same
                # tokens on one line, even in the middle of a statement.
                self.finish_line()
                broke = True
            if broke:
                self.cur = " " * (list_column if list_column is not None else self.cont)
            elif (
                self.prev is not None
                and self.prev.text == ","
                and list_column is not None
                and "\n" in self.text[self.prev.end : token.start]
            ):
                self.finish_line()
                self.cur = " " * list_column
            elif self.prev is not None and self.cur.strip():
                self.cur += self.separator(self.prev, token, pending)
        self.cur += self.spell(token)
        if self.lists and self.lists[-1][0] is None and self.lists[-1][1] == token.start:
            self.lists[-1][0] = width(self.cur) - width(self.spell(token))
        self.last_end = token.end
        self.prev = token
        self.emitted += 1

    def separator(self, prev: Tok, token: Tok, pending: str | None) -> str:
        if prev.start in self.align:
            return " " * max(1, self.align[prev.start] - width(self.cur))
        if pending is not None:
            return pending
        if token.text in _NO_SPACE_BEFORE or prev.text in _NO_SPACE_AFTER:
            return ""
        if token.text == "(" and prev.kind == "ID":
            return ""
        if "OTHER" in (token.kind, prev.kind):
            # Punctuation this printer does not know: keep the author's spacing around it.
            return "" if prev.end == token.start else " "
        return " "

    def spell(self, token: Tok) -> str:
        if token.kind == "STRING":
            return canonical_string(token.text)
        if token.kind == "LONG_STRING":
            return canonical_long_string(token.text, self.statement_indent)
        return token.text

    # -- walking --------------------------------------------------------------------------

    def walk(self, node: Tree[Token], indent: int) -> None:
        elements = self.elements(node)
        commas = any(isinstance(e, Tok) and e.text == "," for e in elements)
        if commas and len(elements) > 1:
            self.lists.append([None, self.range(elements[1])[0]])
        index = 0
        while index < len(elements):
            element = elements[index]
            if isinstance(element, Tok) and element.text == "{":
                close_token: Tok | None = None
                depth, close = 0, index
                for position in range(index, len(elements)):
                    item = elements[position]
                    if isinstance(item, Tok) and item.text in ("{", "}"):
                        depth += 1 if item.text == "{" else -1
                        if depth == 0:
                            close, close_token = position, item
                            break
                if close_token is None:
                    raise FormatterError("unbalanced braces")
                leaf = node.data in _ATTRIBUTE_BLOCKS
                self.block(element, elements[index + 1 : close], close_token, indent, leaf)
                index = close + 1
                continue
            self.element(element, indent)
            index += 1
        if commas and len(elements) > 1:
            self.lists.pop()

    def element(self, element: Tok | Tree[Token], indent: int) -> None:
        if isinstance(element, Tok):
            self.put(element)
        else:
            self.walk(element, indent)

    def statement(self, element: Tok | Tree[Token], indent: int) -> None:
        self.pending = _Newline(indent, indent, True)
        self.statement_indent = indent
        self.cont = indent + 2 * INDENT
        self.element(element, indent)

    def items(self, items: list[Tok | Tree[Token]], indent: int) -> None:
        self.align_groups(items, indent)
        saved = self.lists
        self.lists = []
        for item in items:
            self.statement(item, indent)
        self.lists = saved

    def block(
        self,
        opening: Tok,
        items: list[Tok | Tree[Token]],
        closing: Tok,
        indent: int,
        leaf: bool,
    ) -> None:
        """A block: on one line if it is empty, or if it is a block of attributes the author
        wrote on one line; otherwise one item per line."""
        self.put(opening)
        inside = self.comments_in(opening.end, closing.start)
        one_line = not inside and (
            not items or (leaf and "\n" not in self.text[opening.end : closing.start])
        )
        if one_line:
            for number, item in enumerate(items):
                self.pending = " " if number == 0 else "  "
                self.element(item, indent)
            self.pending = " "
            self.put(closing)
            return
        saved = (self.statement_indent, self.cont)
        self.block_opened = True
        self.items(items, indent + INDENT)
        self.statement_indent, self.cont = saved
        self.pending = _Newline(indent, indent + INDENT, False)
        self.put(closing)

    def align_groups(self, items: list[Tok | Tree[Token]], indent: int) -> None:
        """Line up the names and types of consecutive ``field`` (and ``reason``) statements."""
        from lark import Tree

        group: list[list[Tok | Tree[Token]]] = []
        previous: Tree[Token] | None = None
        for item in items:
            alignable = (
                isinstance(item, Tree)
                and item.data in ("field_decl", "reason_decl")
                and not self.comments_in(item.meta.start_pos, item.meta.end_pos)
            )
            joined = (
                alignable
                and previous is not None
                and isinstance(item, Tree)
                and previous.data == item.data
                and self.text.count("\n", previous.meta.end_pos, item.meta.start_pos) <= 1
                and not self.own_line_comments_in(previous.meta.end_pos, item.meta.start_pos)
            )
            if alignable and isinstance(item, Tree):
                if joined:
                    group[-1].append(item)
                else:
                    group.append([item])
                previous = item
            else:
                previous = None
        for members in group:
            if len(members) > 1:
                self.align_group(members, indent)

    def align_group(self, members: list[Tok | Tree[Token]], indent: int) -> None:
        rows = []
        for member in members:
            assert not isinstance(member, Tok)
            parts = [e for e in self.elements(member) if isinstance(e, Tok)]
            if len(parts) < 3 or parts[2].kind != "STRING":
                return
            rows.append(parts)
        keyword = max(width(row[0].text) for row in rows)
        ids = max(width(row[1].text) for row in rows)
        names = max(width(canonical_string(row[2].text)) for row in rows)
        name_column = indent + keyword + 1 + ids + 1
        for row in rows:
            self.align[row[1].start] = name_column
            if members[0].data == "field_decl":  # type: ignore[union-attr]
                self.align[row[2].start] = name_column + names + 1

    def run(self) -> str:
        elements = self.elements(self.tree)
        self.items(elements, 0)
        self.flush_comments(len(self.text) + 1, 0, True)
        self.finish_line()
        if self.emitted != len(self.tokens):
            raise FormatterError("tokens")
        return "".join(f"{line}\n" for line in self.lines)


# ---- the API --------------------------------------------------------------------------------


def _normalise(text: str) -> tuple[str, str]:
    """LF text and the line break to write: the one the file's first line ends with."""
    text = text.removeprefix("\ufeff")
    newline = "\n"
    first = text.find("\n")
    if first > 0 and text[first - 1] == "\r":
        newline = "\r\n"
    return text.replace("\r\n", "\n").replace("\r", "\n"), newline


def format_source(source: SourceFile) -> FormatResult:
    """Format one file's (LF) text; refuse it, with the compiler's diagnostics, if it has
    syntax errors."""

    from funnelc.parse import parse

    parsed = parse(source)
    if parsed.tree is None or parsed.diagnostics:
        return FormatResult(None, parsed.diagnostics)
    tree, comments = _parse_with_comments(source.text)
    if tree is None:  # pragma: no cover - parse() above accepted the same text
        return FormatResult(None, parsed.diagnostics)
    text = _Printer(source.text, tree, comments).run()
    # Never let through a text whose tokens, string values, comments or parse tree differ.
    if _essence(text) != _essence(source.text):
        raise FormatterError(f"formatting {source.path} would change its tokens")
    again, again_comments = _parse_with_comments(text)
    if (
        again is None
        or _tree_essence(again) != _tree_essence(tree)
        or [c.text.rstrip() for c in again_comments] != [c.text.rstrip() for c in comments]
    ):
        raise FormatterError(f"formatting {source.path} would change its parse tree")
    return FormatResult(text)


def _parse_with_comments(text: str) -> tuple[Tree[Token] | None, list[Tok]]:
    from lark.exceptions import UnexpectedInput

    with _COLLECTING:
        _COLLECTOR.comments = []
        try:
            tree = _comment_parser().parse(text)
        except UnexpectedInput:
            return None, []
        finally:
            found, _COLLECTOR.comments = _COLLECTOR.comments, []
    return tree, [Tok("COMMENT", str(c), c.start_pos or 0, c.end_pos or 0) for c in found]


def _essence(text: str) -> list[tuple[str, str]]:
    """What formatting must keep: every token in order, strings by value, comments by text."""
    kept = []
    for token in _tokens(text):
        if token.kind == "STRING" and not _has_bad_escape(token.text[1:-1]):
            from funnelc.lower import _unescape

            kept.append(("STRING", _unescape(token.text[1:-1])))
        elif token.kind == "LONG_STRING":
            kept.append(("LONG_STRING", _long_value(token.text)))
        elif token.kind == "COMMENT":
            kept.append(("COMMENT", token.text.rstrip()))
        else:
            kept.append((token.kind, token.text))
    return kept


def format_text(text: str, path: str = "<stdin>") -> FormatResult:
    """Format a file's text as read (any line breaks, a BOM): the result keeps the line break
    of the file's first line (LF or CRLF)."""
    normal, newline = _normalise(text)
    result = format_source(SourceFile(path, normal))
    if result.text is None or newline == "\n":
        return result
    return FormatResult(result.text.replace("\n", newline), result.diagnostics)


def unified_diff(before: str, after: str, path: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{path}",
        tofile=f"b/{path}",
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def write_atomically(path: Path, data: bytes) -> Diagnostic | None:
    """Replace ``path`` by ``data`` through a temporary file in the same directory, keeping
    the file's permissions; a symbolic link is followed, so the link stays a link."""
    target = Path(os.path.realpath(path))
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
        handle, temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
        )
    except OSError as error:
        return codes.make(
            "F605", None, path=display_path(path), reason=error.strerror or str(error)
        )
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        Path(temporary).chmod(mode)
        Path(temporary).replace(target)
    except OSError as error:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        return codes.make(
            "F605", None, path=display_path(path), reason=error.strerror or str(error)
        )
    return None


@dataclass
class FmtReport:
    """What ``funnelc fmt`` did, for the command line to print."""

    changed: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, SourceFile] = field(default_factory=dict)
    diffs: list[str] = field(default_factory=list)


def format_files(
    paths: Iterable[Path],
    *,
    write: bool,
    diff: bool,
    on_file: Callable[[str], None] | None = None,
) -> FmtReport:
    """Format the ``.funnel`` files named by ``paths`` (directories are searched); write the
    changed ones if ``write``; collect unified diffs if ``diff``."""
    from funnelc.loader import discover, read_source

    report = FmtReport()
    found, problems = discover(list(paths))
    report.diagnostics.extend(problems)
    seen: set[Path] = set()
    for file, root, _index in found:
        if file in seen:
            continue
        seen.add(file)
        shown = display_path(file)
        try:
            data = file.read_bytes()
        except OSError as error:
            report.diagnostics.append(
                codes.make("F504", None, path=shown, reason=error.strerror or str(error))
            )
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            # Reported as `check` reports it (F508, with the excerpt); never rewritten.
            source, problem = read_source(file, root)
            if source is not None:
                report.sources[source.path] = source
            if problem is not None:
                report.diagnostics.append(problem)
            continue
        normal, _newline = _normalise(text)
        report.sources[shown] = SourceFile(shown, normal)
        result = format_text(text, shown)
        if result.text is None:
            report.diagnostics.extend(result.diagnostics)
            continue
        if result.text == text:
            report.unchanged.append(shown)
            continue
        report.changed.append(shown)
        if diff:
            report.diffs.append(unified_diff(normal, result.text.replace("\r\n", "\n"), shown))
        if write:
            problem = write_atomically(file, result.text.encode("utf-8"))
            if problem is not None:
                report.diagnostics.append(problem)
            else:
                report.written.append(shown)
                if on_file is not None:
                    on_file(shown)
    return report
