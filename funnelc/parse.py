"""Pass 1, parse: source text → Lark tree, or syntax diagnostics.

The grammar is compiled once per process and cached on disk by Lark (keyed by the grammar's
hash), which keeps a cold ``funnelc check`` close to the cost of importing Lark itself.

Syntax errors are turned into friendly messages by matching them against a catalogue of
typical mistakes (Lark's ``match_examples``), and the parser recovers after an error so that
one run can report several of them: after an error it skips tokens up to the end of that line
and reports at most one error per line.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from funnelc import codes
from funnelc.diagnostics import Diagnostic
from funnelc.model import Comment
from funnelc.resources import grammar_path
from funnelc.source import SourceFile

MAX_SYNTAX_ERRORS = 20


@functools.cache
def parser() -> Lark:
    """The LALR parser for ``.funnel`` files, built once per process."""
    return Lark(
        grammar_path().read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=False,
        cache=True,
    )


@dataclass(frozen=True, slots=True)
class ParseResult:
    tree: Tree[Token] | None
    diagnostics: tuple[Diagnostic, ...]
    comments: tuple[Comment, ...]


# Typical mistakes and what to say about them.  Each key is a message; each value lists
# snippets that fail in the same parser state as the mistake.  The second element is the
# help line.
_MISTAKES: dict[tuple[str, str], list[str]] = {
    (
        "a stage needs an id and a quoted display name",
        'write it as `stage <id> "<name>"`, e.g. `stage met "Встреча состоялась"`',
    ): [
        'pipeline p "P" { deal { stage "A" } }',
        'pipeline p "P" { deal { stage a } }',
        'pipeline p "P" { deal { stage a { } } }',
        'pipeline p "P" { deal { stage a B } }',
    ],
    (
        "a display name must be a quoted string",
        'put the name in double quotes: `"Договор подписан"`',
    ): [
        "pipeline p P { }",
        "pipeline p { }",
        'pipeline p "P" { deal { won w W } }',
        'pipeline p "P" { deal { lost l L } }',
        "field f F text",
        "reason r R",
    ],
    (
        "a stage must be inside a `lead { … }` or `deal { … }` block",
        "open stages belong to a phase: wrap them in `deal { … }` (or `lead { … }`)",
    ): [
        'pipeline p "P" { stage a "A" }',
        'pipeline p "P" { won a "A" }',
        'pipeline p "P" { lost a "A" }',
    ],
    (
        "won outcomes belong to the deal phase",
        "a lead is won when sales accepts it; put `won` in the `deal { … }` block",
    ): [
        'pipeline p "P" { lead { won a "A" } }',
    ],
    (
        "this attribute is not allowed here",
        "stage attributes are goal, exit, requires, sla, probability, task, color, timeout, then; "
        "outcomes take goal, next, reasons and color",
    ): [
        'pipeline p "P" { deal { stage a "A" { next b } } }',
        'pipeline p "P" { deal { stage a "A" { reasons b } } }',
        'pipeline p "P" { deal { won a "A" { sla 2d } } }',
        'pipeline p "P" { deal { won a "A" { requires x } } }',
        'pipeline p "P" { deal { won a "A" { exit "x" } } }',
        'pipeline p "P" { deal { stage a "A" { key } } }',
    ],
    (
        "list items are separated by commas",
        "write `requires budget, deadline`",
    ): [
        'pipeline p "P" { deal { stage a "A" { requires x y } } }',
        'pipeline p "P" { deal { lost a "A" { reasons x y } } }',
    ],
    (
        "an edge needs `->` between its two stages",
        "write `a -> b`, `timeout -> pit` or `revive pit -> new`",
    ): [
        'pipeline p "P" { revive a b }',
        'pipeline p "P" { timeout pit }',
        'pipeline p "P" { a b }',
        'pipeline p "P" { deal { stage a "A" { timeout pit } } }',
    ],
    (
        "a closing `}` is missing",
        "every `{` needs a matching `}`; check the block that starts above",
    ): [
        'pipeline p "P" {',
        'pipeline p "P" { deal {',
        'pipeline p "P" { deal { stage a "A" {',
        'pipeline p "P" { deal { won a "A" {',
        'pipeline p "P" { lead {',
    ],
    (
        "a pipeline needs an id and a quoted display name",
        'write it as `pipeline <id> "<name>" { … }`',
    ): [
        'pipeline "P" { }',
        "pipeline { }",
    ],
}

_EXPECTED_NAMES = {
    "ID": "an id",
    "STRING": "a string",
    "LONG_STRING": "a string",
    "DURATION": "a duration such as `2d`",
    "PERCENT": "a percentage such as `30%`",
    "LBRACE": "`{`",
    "RBRACE": "`}`",
    "LPAR": "`(`",
    "RPAR": "`)`",
    "COMMA": "`,`",
    "DOT": "`.`",
    "$END": "the end of the file",
}

_COMMENT_SCAN = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*"""|"(?:[^"\\\n]|\\.)*"|#[^\n]*', re.S)


def _describe_expected(expected: set[str]) -> str:
    names: set[str] = set()
    for term in expected:
        if term in _EXPECTED_NAMES:
            names.add(_EXPECTED_NAMES[term])
        elif term.startswith("__ANON"):
            continue
        elif term.isupper() and term.isalpha():
            names.add(f"`{term.lower()}`")
        else:
            names.add(f"`{term}`")
    ordered = sorted(names)
    if not ordered:
        return ""
    if len(ordered) > 6:
        return "expected one of " + ", ".join(ordered[:6]) + ", …"
    return "expected " + (ordered[0] if len(ordered) == 1 else "one of " + ", ".join(ordered))


def _found(token: Token) -> str:
    if token.type == "$END":
        return "the end of the file"
    if token.type in ("STRING", "LONG_STRING"):
        return "a string"
    return f"`{token.value}`"


@functools.cache
def _mistake_index() -> tuple[
    dict[tuple[object, str], tuple[str, str]], dict[object, tuple[str, str]]
]:
    """Where each catalogued mistake leaves the parser: (LALR state, token type) → message.

    Lark's ``match_examples`` also compares the depth of the parser's stack, which differs for
    the second pipeline of a file, so the index keys on the LALR state alone.
    """
    by_token: dict[tuple[object, str], tuple[str, str]] = {}
    by_state: dict[object, tuple[str, str]] = {}
    for label, examples in _MISTAKES.items():
        for example in examples:
            try:
                parser().parse(example)
            except UnexpectedToken as error:
                by_token.setdefault((error.state.position, error.token.type), label)
                by_state.setdefault(error.state.position, label)
            except UnexpectedInput:
                continue
    return by_token, by_state


def _match_mistake(error: UnexpectedInput) -> tuple[str, str]:
    if not isinstance(error, UnexpectedToken) or error.state is None:
        return "", ""
    by_token, by_state = _mistake_index()
    position = error.state.position
    label = by_token.get((position, error.token.type)) or by_state.get(position)
    return label if label else ("", "")


def _token_error(source: SourceFile, error: UnexpectedToken | UnexpectedEOF) -> Diagnostic:
    message, hint = _match_mistake(error)
    if isinstance(error, UnexpectedToken):
        token = error.token
        start = token.start_pos if token.start_pos is not None else len(source.text)
        end = token.end_pos if token.end_pos is not None else start
        if token.type == "$END":
            start = end = len(source.text.rstrip())
        expected = _describe_expected(set(error.accepts or error.expected))
        found = _found(token)
    else:
        start = end = len(source.text.rstrip())
        expected = _describe_expected(set(error.expected))
        found = "the end of the file"
    detail = message or f"unexpected {found}"
    help_line = hint or (expected[:1].upper() + expected[1:] if expected else "")
    notes = (f"found {found}; {expected}",) if message and expected else ()
    return codes.make(
        "F001",
        source.span(start, max(end, start)),
        detail=detail,
        hint=help_line,
        notes=notes,
    )


def _pos(error: UnexpectedInput) -> int:
    return int(error.pos_in_stream or 0)


def _char_error(source: SourceFile, error: UnexpectedCharacters) -> Diagnostic:
    pos = _pos(error)
    char = source.text[pos] if pos < len(source.text) else ""
    if char == '"':
        line_end = source.text.find("\n", pos)
        end = len(source.text) if line_end == -1 else line_end
        return codes.make("F003", source.span(pos, end))
    allowed = set(error.allowed or ())
    hint = ""
    if char.isdigit():
        if "DURATION" in allowed:
            hint = "durations need a unit: `30min`, `2h`, `3d`, `2w` or `5bd` (business days)"
        elif "PERCENT" in allowed:
            hint = "probabilities are percentages: write `30%`"
    elif char in ":=":
        hint = 'attributes are written without `:` or `=`: `goal "…"`, `sla 2d`'
    elif char == ";":
        hint = "statements are not ended with `;`: remove it"
    elif char in "«“„'":
        hint = 'strings use straight double quotes: "…"'
    elif char.isalpha() and not char.isascii():
        hint = (
            "ids are ASCII machine keys (`new_lead`); put display names in quotes: "
            '`stage new_lead "Новый клиент"`'
        )
    elif allowed:
        expected = _describe_expected(allowed)
        hint = expected[:1].upper() + expected[1:]
    shown = char if char.isprintable() and char != "" else repr(char)
    length = 1 if char else 0
    if char.isdigit() or (char.isalpha() and not char.isascii()):
        match = re.compile(r"\w+%?").match(source.text, pos)
        length = len(match.group(0)) if match else 1
        shown = source.text[pos : pos + length]
    return codes.make("F002", source.span(pos, pos + length), char=shown, hint=hint)


def scan_comments(source: SourceFile) -> tuple[Comment, ...]:
    """Every ``#`` comment of the file (strings are skipped, so a ``#`` inside one is not)."""
    comments = []
    for match in _COMMENT_SCAN.finditer(source.text):
        if match.group(0).startswith("#"):
            comments.append(Comment(match.group(0), source.span(match.start(), match.end())))
    return tuple(comments)


_INSERTABLE = ("STRING", "ID", "DURATION", "PERCENT", "RBRACE", "RPAR")


def _repair(error: UnexpectedToken) -> None:
    """Recover from an unexpected token by inserting one plausible token before it, if that
    lets the parser accept it (a missing name, duration or `}`); otherwise drop the token."""
    interactive = error.interactive_parser
    accepts = interactive.accepts()  # type: ignore[no-untyped-call]
    arrows = [t for t in accepts if t.startswith("__ANON")]
    for candidate in (*_INSERTABLE, *arrows):
        if candidate not in accepts:
            continue
        trial = interactive.copy()  # type: ignore[no-untyped-call]
        try:
            trial.feed_token(Token(candidate, ""))
            if error.token.type not in trial.accepts():
                continue
            interactive.feed_token(Token(candidate, ""))
            interactive.feed_token(error.token)
        except UnexpectedInput:
            continue
        return


def _error_start(source: SourceFile, error: UnexpectedInput) -> int:
    if isinstance(error, UnexpectedToken) and error.token.start_pos is not None:
        return int(error.token.start_pos)
    if isinstance(error, UnexpectedCharacters):
        return int(_pos(error))
    return len(source.text)


def _error_end(source: SourceFile, error: UnexpectedInput) -> int:
    if isinstance(error, UnexpectedToken) and error.token.end_pos is not None:
        return int(error.token.end_pos)
    if isinstance(error, UnexpectedCharacters):
        if source.text[_pos(error) : _pos(error) + 1] == '"':
            line_end = source.text.find("\n", _pos(error))
            return len(source.text) if line_end == -1 else line_end
        return int(_pos(error)) + 1
    return len(source.text)


def parse(source: SourceFile) -> ParseResult:
    """Parse one file.  Never raises for bad input: problems come back as diagnostics."""
    diagnostics: list[Diagnostic] = []
    last_error_end = -1

    def report(error: UnexpectedInput) -> None:
        nonlocal last_error_end
        start = _error_start(source, error)
        between = source.text[last_error_end:start] if last_error_end >= 0 else "x"
        cascade = last_error_end >= 0 and (
            not between.strip()
            or source.position(start).line == source.position(last_error_end).line
        )
        if not cascade:
            if isinstance(error, UnexpectedCharacters):
                diagnostics.append(_char_error(source, error))
            elif isinstance(error, UnexpectedToken | UnexpectedEOF):
                diagnostics.append(_token_error(source, error))
        last_error_end = max(last_error_end, _error_end(source, error))

    def on_error(error: UnexpectedInput) -> bool:
        report(error)
        if len(diagnostics) >= MAX_SYNTAX_ERRORS:
            return False
        if isinstance(error, UnexpectedCharacters):
            char = source.text[_pos(error) : _pos(error) + 1]
            if char == '"':
                # Skip the rest of an unterminated string's line in one step.
                state = error.interactive_parser.lexer_thread.state
                assert state is not None
                line_end = source.text.find("\n", _pos(error))
                rest = source.text[_pos(error) : line_end if line_end != -1 else None]
                state.line_ctr.feed(rest)
            return True
        if isinstance(error, UnexpectedToken):
            if error.token.type == "$END":
                return False
            _repair(error)
        return True

    tree: Tree[Token] | None = None
    try:
        tree = parser().parse(source.text, on_error=on_error)
    except UnexpectedInput as error:
        if not diagnostics:
            if isinstance(error, UnexpectedCharacters):
                diagnostics.append(_char_error(source, error))
            elif isinstance(error, UnexpectedToken | UnexpectedEOF):
                diagnostics.append(_token_error(source, error))
    except RecursionError:
        diagnostics.append(
            codes.make("F001", source.span(0, 0), detail="the file is nested too deeply", hint="")
        )
    if diagnostics:
        tree = None
    return ParseResult(tree, tuple(diagnostics), scan_comments(source) if tree else ())
