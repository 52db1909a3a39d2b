"""Escaping user text for Markdown (CommonMark + GitHub Flavored Markdown), by context.

Every string that comes from a ``.funnel`` file (a display name, a goal, a label, a path) and is
written into a Markdown file goes through exactly one of these functions, chosen by where it
lands:

* :func:`inline` — running text of a paragraph, a list item or a heading;
* :func:`cell` — the inside of a GFM table cell;
* :func:`code` — a code span (the function writes the backticks).

The result renders as the literal text and never as structure: no list item, checklist box,
heading, table, thematic break, HTML, link, autolink, image, emphasis or code span can come out
of a name, whatever it contains.  Line breaks become spaces (they cannot survive inline anyway)
and other control characters, which the compiler already refuses, are replaced by U+FFFD here
too (defence in depth: a NUL byte makes GitHub show the whole file as binary).
"""

from __future__ import annotations

import re

__all__ = ["REPLACEMENT", "cell", "code", "inline", "plain"]

REPLACEMENT = "\ufffd"

_LINE_BREAK = re.compile(r"\r\n|[\n\r\u0085\u2028\u2029\t\v\f]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_ASCII_PUNCTUATION = frozenset("!\"#$%'()*+,-./:;=?@[\\]^_`{|}~")
"""Every ASCII punctuation character that CommonMark lets a backslash escape, except ``& < >``
(written as entities).  Escaping all of them, not just the ones that mean something where they
stand, is what keeps the rule simple enough to trust: ``\\.`` and ``\\:`` also break GFM's
extended autolinks (``www.x``, ``https://x``), ``\\|`` a table cell, ``\\~`` strikethrough."""


def plain(text: str) -> str:
    """``text`` on one line: every line break (and tab) a space, every other control character
    (and lone surrogate) U+FFFD.  The base of the three contexts."""
    return _CONTROL.sub(REPLACEMENT, _LINE_BREAK.sub(" ", text))


def inline(text: str) -> str:
    """``text`` escaped for running Markdown text: it renders as itself, character for
    character (after :func:`plain`), wherever on a line it stands — at the start of a list
    item, in a heading, after ``- [ ] ``."""
    body = plain(text)
    core = body.strip()
    start = body.index(core) if core else len(body)
    end = start + len(core)
    # White space at either end is written as character references: a parser drops it at the
    # edge of a line, and the text must come back as it was.
    out = [f"&#{ord(c)};" for c in body[:start]]
    for char in core:
        if char in _ENTITIES:
            out.append(_ENTITIES[char])
        elif char in _ASCII_PUNCTUATION:
            out.append("\\" + char)
        else:
            out.append(char)
    out += [f"&#{ord(c)};" for c in body[end:]]
    return "".join(out)


def cell(text: str) -> str:
    """``text`` escaped for a GFM table cell: :func:`inline` already escapes ``|`` (``\\|``,
    which GFM honours in a cell) and turns line breaks into spaces."""
    return inline(text)


_BACKTICKS = re.compile(r"`+")


def code(text: str, *, in_table: bool = False) -> str:
    """``text`` as a code span, backticks included.

    The fence is one backtick longer than the longest run of backticks inside, and the text is
    padded with a space on each side when it starts or ends with a backtick or a space
    (CommonMark strips exactly one space from each side of such a span).  In a table cell a
    ``|`` must still be ``\\|`` (GFM splits cells before it reads code spans)."""
    body = plain(text)
    if in_table:
        body = body.replace("|", "\\|")
    if body == "":
        return "` `"
    longest = max((len(run) for run in _BACKTICKS.findall(body)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if body.strip(" ") and (body[0] in "` " or body[-1] in "` ") else ""
    return f"{fence}{pad}{body}{pad}{fence}"
