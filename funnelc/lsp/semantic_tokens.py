"""Semantic tokens (full document): keywords, strings, numbers (durations, percentages),
comments, and ids by what they name — pipeline, stage, field, loss reason — with the
``declaration`` modifier where they are declared.  Pure: a text and an index in, a list of
``(start, end, type, modifiers)`` out; :func:`encode` makes the protocol's relative form."""

from __future__ import annotations

import re
from collections.abc import Iterable

from funnelc.lsp.analysis import Index
from funnelc.lsp.completion import ALL_KEYWORDS
from funnelc.lsp.positions import Encoding, LineIndex

TOKEN_TYPES = (
    "keyword",
    "string",
    "number",
    "comment",
    "namespace",
    "enumMember",
    "property",
    "enum",
    "operator",
    "variable",
)
TOKEN_MODIFIERS = ("declaration",)
_KIND_TYPE = {"pipeline": "namespace", "stage": "enumMember", "field": "property", "reason": "enum"}

_SCAN = re.compile(
    r'(?P<string>"""(?:[^"\\]|\\.|"(?!""))*"""|"(?:[^"\\\n]|\\.)*")'
    r"|(?P<comment>#[^\n]*)"
    r"|(?P<number>-?[0-9]+(?:min|bd|h|d|w|%)?(?![A-Za-z0-9_]))"
    r"|(?P<id>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<operator>->)",
    re.DOTALL,
)

Token = tuple[int, int, str, int]


def tokens(text: str, index: Index, path: str) -> list[Token]:
    """Every token to colour, in text order."""
    ids = {o.span.start: o for o in index.by_path.get(path, ())}
    found: list[Token] = []
    for m in _SCAN.finditer(text):
        kind = m.lastgroup
        assert kind is not None
        if kind == "id":
            occurrence = ids.get(m.start())
            if occurrence is not None and occurrence.span.end == m.end():
                modifiers = 1 if occurrence.definition else 0
                found.append((m.start(), m.end(), _KIND_TYPE[occurrence.kind], modifiers))
            elif m.group() in ALL_KEYWORDS:
                found.append((m.start(), m.end(), "keyword", 0))
            else:
                found.append((m.start(), m.end(), "variable", 0))
        else:
            found.append((m.start(), m.end(), kind, 0))
    return found


def encode(text: str, found: Iterable[Token], encoding: Encoding) -> list[int]:
    """The protocol's flat list: per token, line delta, start delta, length, type, modifiers.
    A token spanning lines (a long string) is split into one token per line."""
    lines = LineIndex(text)
    data: list[int] = []
    previous_line, previous_start = 0, 0
    for start, end, kind, modifiers in found:
        pieces: list[tuple[int, int]] = []
        cursor = start
        while cursor < end:
            newline = text.find("\n", cursor, end)
            stop = end if newline == -1 else newline
            if stop > cursor:
                pieces.append((cursor, stop))
            cursor = stop + 1
        for a, b in pieces:
            position = lines.position(a, encoding)
            length = lines.position(b, encoding).character - position.character
            delta_line = position.line - previous_line
            delta_start = (
                position.character - previous_start if delta_line == 0 else position.character
            )
            data += [delta_line, delta_start, length, TOKEN_TYPES.index(kind), modifiers]
            previous_line, previous_start = position.line, position.character
    return data
