"""The shared-scanner lexer (funnelc.shared_lexer) reads every text exactly as Lark's own
contextual lexer does: the same tokens at the same positions, the same tree, the same syntax
errors and recovery — only without compiling a regular expression per parser state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lark import Lark, Token, Tree
from lark.lexer import ContextualLexer

from funnelc import parse
from funnelc.resources import grammar_path
from funnelc.shared_lexer import SharedScannerLexer, install
from funnelc.source import SourceFile

ROOT = Path(__file__).resolve().parent.parent


def stock() -> Lark:
    """Lark's parser with Lark's lexer, from the same tables as the process's parser (funnelc's
    table of typical mistakes is keyed by parser states, which another build numbers anew)."""
    grammar = grammar_path().read_text(encoding="utf-8")
    made = parse.read_serialised(parse.prebuilt_path(), parse.parser_key(grammar))
    assert made is not None
    return made


STOCK = stock()
SHARED = install(stock())

KEYWORDS = sorted(
    {t.pattern.value for t in STOCK.terminals if t.pattern.type == "str" and t.name.isupper()}
)
PIECES = [
    *KEYWORDS,
    *(k + "s" for k in KEYWORDS[:6]),
    *(k[:-1] for k in KEYWORDS[:6]),
    "stagex",
    "a",
    "b1",
    "_x",
    " ",
    "\n",
    "\t",
    "\ufeff",
    "\r\n",
    '"A"',
    '"Встреча"',
    '""',
    '"""',
    '"""x\n"y"\n"""',
    '"open',
    "# note\n",
    "{",
    "}",
    "(",
    ")",
    ",",
    ".",
    "->",
    "-",
    ">",
    "2d",
    "5bd",
    "30min",
    "10%",
    "-5%",
    "3x",
    "1.5d",
    "@",
    "é",
    "Ω",
]


def texts() -> list[str]:
    found = [p.read_text(encoding="utf-8") for p in sorted(ROOT.glob("examples/**/*.funnel"))]
    found += [p.read_text(encoding="utf-8") for p in sorted(ROOT.glob("tests/errors/*.funnel"))]
    assert len(found) > 50
    return found


def tokens(tree: Tree[Token] | None) -> Iterator[tuple[object, ...]]:
    if tree is None:
        return
    meta = tree.meta
    yield (
        tree.data,
        getattr(meta, "start_pos", None),
        getattr(meta, "end_pos", None),
        getattr(meta, "line", None),
        getattr(meta, "end_column", None),
    )
    for child in tree.children:
        if isinstance(child, Tree):
            yield from tokens(child)
        else:
            yield (
                child.type,
                str(child),
                child.start_pos,
                child.end_pos,
                child.line,
                child.column,
                child.end_line,
                child.end_column,
            )


def funnelc_parse(made: Lark, text: str) -> tuple[object, ...]:
    """funnelc's parse pass (recovery, friendly messages) with ``made`` as the parser."""
    saved = dict(parse._PROCESS)
    parse._PROCESS["parser"] = made
    try:
        result = parse.parse(SourceFile("t.funnel", text))
    finally:
        parse._PROCESS.clear()
        parse._PROCESS.update(saved)
    return (
        tuple(tokens(result.tree)),
        tuple(repr(d) for d in result.diagnostics),
        result.comments,
    )


def lark_parse(made: Lark, text: str) -> tuple[object, ...]:
    """Lark alone: the tree, or the error with where it was raised and what was expected."""
    try:
        return ("ok", tuple(tokens(made.parse(text))))
    except Exception as error:
        return (
            type(error).__name__,
            getattr(error, "pos_in_stream", None),
            getattr(error, "line", None),
            getattr(error, "column", None),
            sorted(getattr(error, "expected", None) or getattr(error, "allowed", None) or ()),
            str(getattr(error, "token", "")),
            getattr(getattr(error, "token", None), "type", None),
        )


def test_the_process_parser_has_the_shared_lexer() -> None:
    assert isinstance(parse.parser().parser.lexer, SharedScannerLexer)
    assert type(STOCK.parser.lexer) is ContextualLexer


def test_its_expression_is_the_root_lexers() -> None:
    shared = install(stock()).parser.lexer
    assert isinstance(shared, SharedScannerLexer)
    root = STOCK.parser.lexer.root_lexer
    assert shared._match.__self__.pattern == root.scanner._mres[0].pattern  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", texts(), ids=lambda t: str(len(t)))
def test_files_read_the_same(text: str) -> None:
    assert funnelc_parse(SHARED, text) == funnelc_parse(STOCK, text)
    assert lark_parse(SHARED, text) == lark_parse(STOCK, text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), max_size=40), st.sampled_from(PIECES))
def test_any_sequence_of_pieces_reads_the_same(pieces: list[str], sep: str) -> None:
    text = sep.join(pieces)
    assert lark_parse(SHARED, text) == lark_parse(STOCK, text)
    assert funnelc_parse(SHARED, text) == funnelc_parse(STOCK, text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_file_with_one_piece_inserted_reads_the_same(data: st.DataObject) -> None:
    base = data.draw(st.sampled_from(texts()[:8]))
    at = data.draw(st.integers(0, len(base)))
    piece = data.draw(st.sampled_from(PIECES))
    text = base[:at] + piece + base[at:]
    assert funnelc_parse(SHARED, text) == funnelc_parse(STOCK, text)


def compiled(state: object) -> object:
    """A state lexer's scanner if it was built (Lark builds it on first use)."""
    return vars(state).get("_scanner")


def test_a_state_lexer_is_compiled_only_for_errors() -> None:
    """A clean file needs no per-state expression (that is the point); an error does."""
    made = install(stock())
    lexer = made.parser.lexer
    assert isinstance(lexer, SharedScannerLexer)
    for text in texts()[:4]:
        made.parse(text)
    assert all(compiled(state) is None for state in lexer.lexers.values())
    with pytest.raises(Exception):  # noqa: B017 (which one is Lark's business)
        made.parse('pipeline p "P" { deal { stage @ } }')
    assert any(compiled(state) is not None for state in lexer.lexers.values())


def test_a_grammar_it_does_not_model_keeps_larks_lexer() -> None:
    flagged = Lark('start: "a"i ID\nID: /[a-z]+/\n%ignore " "', parser="lalr", lexer="contextual")
    assert type(install(flagged).parser.lexer) is ContextualLexer
    plain = Lark('start: "a" ID\nID: /[a-z]+/\n%ignore " "', parser="lalr", lexer="contextual")
    assert isinstance(install(plain).parser.lexer, SharedScannerLexer)
    assert plain.parse("a a") == Tree("start", [Token("ID", "a")])
