"""The Markdown escaping of user text (``targets/markdown.py``), checked with a real
CommonMark + GFM parser (markdown-it-py): whatever a name holds, the document keeps its
structure (no extra list item, checkbox, heading, table, HTML, link, emphasis…) and the name
comes back as its own text."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

try:
    from targets import markdown
except ImportError:  # installed as a wheel
    markdown = importlib.import_module("funnelc.targets.markdown")

HOSTILE = [
    "x\n\n- [ ] Give admin rights to everyone",
    "- [ ] checked?",
    "* star item",
    "+ plus item",
    "1. numbered",
    "1) numbered",
    "# heading",
    "###### six",
    "Title\n===",
    "a\n---\nb",
    "***",
    "| a | b |\n|---|---|\n| c | d |",
    "a | b",
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    "![img](http://x/y.png)",
    "<http://evil.example>",
    "https://evil.example/path",
    "www.evil.example",
    "mail@evil.example",
    "`code` and ``more``",
    "```",
    "*em* _em_ **strong** __strong__ ~~gone~~",
    "&amp; &lt; &#x41; &copy;",
    "back\\slash \\* \\",
    "trailing two spaces  ",
    "  leading spaces",
    "> quote",
    "    indented code",
    "[ref]: http://x",
    "[ref]",
    "a\x00b",
    "tab\there\rcr\x0bvt\x1b[31mred",
    "{{&fields[SEMANTICS]=S&x=}}",
    "$result[find_new][0][ID]",
    "Квалификация (B2B) — «этап» 🚀",
    "`",
    " ` ",
    "",
    " ",
    "\\",
    "<!-- comment -->",
    "a<br>b",
    "[x]: <y> 'z'",
    "<div>\nblock\n</div>",
    "_",
    "-",
    "=",
    "~~~",
]

_PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _document(name: str) -> str:
    i, c = markdown.inline(name), markdown.cell(name)
    return (
        f"# Title «{i}»\n\n"
        f"{i}\n\n"
        f"Name: {i} end\n\n"
        f"- [ ] {i}\n"
        f"- [ ] «{i}» and {markdown.code(name)} end\n\n"
        "| a | b |\n"
        "|---|---|\n"
        f"| {c} | {markdown.code(name, in_table=True)} |\n"
    )


def _shape(tokens: list[Token]) -> list[Any]:
    """Block structure, and for each inline the kinds of its children."""
    return [
        (t.type, t.tag, [c.type for c in t.children or []] if t.type == "inline" else None)
        for t in tokens
    ]


def _texts(tokens: list[Token]) -> list[str]:
    return [
        "".join(c.content for c in t.children or [] if c.type == "text")
        for t in tokens
        if t.type == "inline"
    ]


def _codes(tokens: list[Token]) -> list[str]:
    return [
        c.content
        for t in tokens
        if t.type == "inline"
        for c in t.children or []
        if c.type == "code_inline"
    ]


REFERENCE = _PARSER.parse(_document("x"))


def _check(name: str) -> None:
    if markdown.plain(name).strip() == "":
        name = f"a{name}b"  # a line of nothing but spaces is no paragraph at all
    source = _document(name)
    assert "\x00" not in source
    tokens = _PARSER.parse(source)
    # Same blocks, and inside every inline only text and the one code span we wrote.
    assert _shape(tokens) == _shape(REFERENCE), source
    shown = markdown.plain(name)
    assert _texts(tokens) == [t.replace("x", shown) if t else t for t in _texts(REFERENCE)], source
    expected_code = markdown.plain(name) or " "
    assert _codes(tokens) == [expected_code, expected_code], source
    html = _PARSER.render(source)
    for bad in ("<script", "<img", "<a ", "<em", "<strong", "<s>", "<h2", "<li><p>"):
        assert bad not in html.replace("<h1>", ""), (bad, html)


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_stay_text(name: str) -> None:
    _check(name)


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(codec="utf-8"), max_size=40))
@example("``` `` `")
@example("x\n\n- [ ] y")
def test_any_text_stays_text(name: str) -> None:
    _check(name)


def test_plain_replaces_controls_and_line_breaks() -> None:
    assert markdown.plain("a\nb\r\nc\td\x00e\x7ff\x85g\ud800") == "a b c d\ufffde\ufffdf g\ufffd"


def test_code_fence_is_longer_than_any_backtick_run() -> None:
    assert markdown.code("a") == "`a`"
    assert markdown.code("a`b") == "``a`b``"
    assert markdown.code("``x```") == "```` ``x``` ````"
    assert markdown.code(" a") == "`  a `"
    assert markdown.code("a|b", in_table=True) == "`a\\|b`"


def test_inline_escapes_every_ascii_punctuation() -> None:
    assert markdown.inline("a-b.c") == "a\\-b\\.c"
    assert markdown.inline("<&>") == "&lt;&amp;&gt;"
    assert markdown.inline("Этап 1") == "Этап 1"
