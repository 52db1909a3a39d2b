"""Pass 1, parse: source text → Lark tree, or syntax diagnostics.

The grammar is compiled once per process.  Building the LALR tables takes tens of
milliseconds, so a serialised parser (``Lark.save``) ships next to the grammar
(``funnel.parser.pickle``) and is loaded instead whenever it was made from this very grammar, with
these options and this version of Lark (:func:`parser_key`, written in its first line; a test
fails when it is stale, ``python -m funnelc.parse`` rewrites it).  Otherwise the parser is built
in memory; only a session with ``persist`` (the CLI's) may then keep a copy in the user's cache
directory (:func:`prepare_parser`).  A library call never writes anything to disk.

Syntax errors are turned into friendly messages by matching them against a catalogue of
typical mistakes (Lark's ``match_examples``), and the parser recovers after an error so that
one run can report several of them: after an error it skips tokens up to the end of that line
and reports at most one error per line.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import pickle
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import lark
from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.grammar import Rule
from lark.lexer import TerminalDef
from lark.utils import SerializeMemoizer

from funnelc import codes
from funnelc.diagnostics import Diagnostic, Label, did_you_mean
from funnelc.i18n import N_, _, join
from funnelc.model import Comment
from funnelc.resources import grammar_path
from funnelc.shared_lexer import install
from funnelc.source import SourceFile

MAX_SYNTAX_ERRORS = 20
MAX_RECOVERIES = 200
"""Recovery attempts per file, reported errors and their cascades together.  Each attempt costs
time proportional to the depth of the parser's stack, and a file of junk is one long cascade,
so recovery stops here: whatever the input, the parse does a bounded amount of work beyond
lexing it."""


_OPTIONS: dict[str, object] = {
    "parser": "lalr",
    "lexer": "contextual",
    "propagate_positions": True,
    "maybe_placeholders": False,
}
_MAGIC = b"funnelc-parser"
_FORMAT = 2
"""Of the pickle after the header line: ``Lark.save``'s dictionary, its memo (the rules and
terminals) already made into objects, which saves Lark's generic deserialisation of them."""
_PROCESS: dict[str, Lark] = {}
"""The parser of this process once it exists (immutable once built, like a ``functools.cache``;
:func:`prepare_parser` may be the one that builds it)."""


def parser_key(grammar: str) -> str:
    """What a serialised parser must have been made from: this grammar text, these options
    and this version of Lark (whose format of ``Lark.save`` may change between versions)."""
    digest = hashlib.sha256(
        f"format {_FORMAT}\nlark {lark.__version__}\n{sorted(_OPTIONS.items())!r}\n".encode()
    )
    digest.update(grammar.encode("utf-8"))
    return digest.hexdigest()


def prebuilt_path() -> Path:
    """The serialised parser that ships next to the grammar."""
    return grammar_path().with_name("funnel.parser.pickle")


def serialise(built: Lark, key: str) -> bytes:
    """A serialised parser: the line ``funnelc-parser <key> lark <version>``, then the pickle of
    what ``Lark.save`` writes, with its memo deserialised (:data:`_FORMAT`)."""
    body = io.BytesIO()
    built.save(body)
    saved = pickle.loads(body.getvalue())
    saved["memo"] = SerializeMemoizer.deserialize(
        saved["memo"], {"Rule": Rule, "TerminalDef": TerminalDef}, {}
    )
    header = b" ".join([_MAGIC, key.encode(), b"lark", lark.__version__.encode()])
    return header + b"\n" + pickle.dumps(saved, protocol=pickle.HIGHEST_PROTOCOL)


def read_serialised(path: Path, key: str) -> Lark | None:
    """The parser stored at ``path`` if it was made for ``key``; ``None`` when the file is
    missing, unreadable, stale or damaged (the caller then builds one)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    header, newline, body = data.partition(b"\n")
    if not newline or header.split(b" ")[:2] != [_MAGIC, key.encode()]:
        return None
    try:
        saved = pickle.loads(body)
        memo = saved["memo"]
        for made in memo.values():
            if isinstance(made, Rule):
                made._deserialize()  # type: ignore[no-untyped-call]  # its hash, as Lark does
            elif not isinstance(made, TerminalDef):
                return None
        loaded = Lark.load(saved)
    except Exception:  # a truncated or damaged file: whatever unpickling raised, build instead
        return None
    return loaded if isinstance(loaded, Lark) else None


def _write_serialised(path: Path, built: Lark, key: str) -> None:
    """Keep ``built`` at ``path`` atomically; a read-only or missing directory is no error."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".parser.", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(serialise(built, key))
            Path(temporary).replace(path)
        except BaseException:
            with contextlib.suppress(OSError):
                Path(temporary).unlink()
            raise


def build_parser(grammar: str | None = None) -> Lark:
    """A parser built from the grammar (no serialised copy read or written)."""
    if grammar is None:
        grammar = grammar_path().read_text(encoding="utf-8")
    return Lark(grammar, **_OPTIONS)


def _load_parser(store: Path | None) -> Lark:
    grammar = grammar_path().read_text(encoding="utf-8")
    key = parser_key(grammar)
    built = read_serialised(prebuilt_path(), key)
    if built is not None:
        return built
    stored = store / f"parser-{key[:20]}.pickle" if store is not None else None
    if stored is not None:
        built = read_serialised(stored, key)
        if built is not None:
            return built
    built = build_parser(grammar)
    if stored is not None:
        _write_serialised(stored, built, key)
    return built


def parser() -> Lark:
    """The LALR parser for ``.funnel`` files, made once per process (see the module's text),
    with :mod:`funnelc.shared_lexer`'s lexer (Lark's contextual lexer, compiled once)."""
    built = _PROCESS.get("parser")
    if built is None:
        built = _PROCESS.setdefault("parser", install(_load_parser(None)))
    return built


def prepare_parser(store: Path | None) -> Lark:
    """:func:`parser`, for a process that allows a cache on disk (the CLI's session): when the
    shipped parser does not fit the installed Lark, one built here is kept in ``store`` (a
    directory) and read from there by the next process.  Nothing is written when the shipped
    one fits, when ``store`` is ``None`` or when the parser already exists."""
    built = _PROCESS.get("parser")
    if built is None:
        built = _PROCESS.setdefault("parser", install(_load_parser(store)))
    return built


@dataclass(frozen=True, slots=True)
class ParseResult:
    tree: Tree[Token] | None
    diagnostics: tuple[Diagnostic, ...]
    comments: tuple[Comment, ...]


# Typical mistakes and what to say about them.  Each key is a message; each value lists
# snippets that fail in the same parser state as the mistake.  The second element is the
# help line.
_EDGE_ARROW = (
    "an edge needs `->` between its two stages",
    "write `a -> b`, `timeout -> pit` or `revive pit -> new`",
)

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
        "a stage starts with the keyword `stage`",
        'write `stage <id> "<name>"`, or `won`/`lost` for an outcome',
    ): [
        'pipeline p "P" { deal { a "A" } }',
        'pipeline p "P" { deal { stage x "X" a "A" } }',
        'pipeline p "P" { deal { stage x "X" { } a "A" } }',
        'pipeline p "P" { lead { a "A" } }',
        'pipeline p "P" { lead { stage x "X" a "A" } }',
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
        'pipeline p "P" { deal { stage a "A" { exit "x" next b } } }',
        'pipeline p "P" { deal { stage a "A" { goal "x" next b } } }',
        'pipeline p "P" { deal { stage a "A" { sla 2d next b } } }',
        'pipeline p "P" { deal { stage a "A" { requires x next b } } }',
        'pipeline p "P" { deal { won a "A" { goal "g" sla 2d } } }',
        'pipeline p "P" { deal { won a "A" { next q.s sla 2d } } }',
    ],
    (
        "list items are separated by commas",
        "separate the ids with commas: `requires budget, deadline`, `reasons no_budget, silent`",
    ): [
        'pipeline p "P" { deal { stage a "A" { requires x y } } }',
        'pipeline p "P" { deal { lost a "A" { reasons x y } } }',
    ],
    _EDGE_ARROW: [
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
        'pipeline p "P" { deal { stage a "A" { } }',
        'pipeline p "P" { deal { stage a "A" }',
        'pipeline p "P" { deal { won a "A" }',
        'pipeline p "P" { lead { stage a "A" } deal { stage b "B" }',
        'pipeline p "P" { deal { stage a "A" { exit "x" won w "W" } }',
        'pipeline p "P" { deal { stage a "A" { exit "x" stage b "B" } }',
        'pipeline p "P" { deal { stage a "A" { sla 2d lost w "W" } }',
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
    "ID": N_("an id"),
    "STRING": N_("a string"),
    "LONG_STRING": N_("a string"),
    "DURATION": N_("a duration such as `2d`"),
    "PERCENT": N_("a percentage such as `30%`"),
    "LBRACE": "`{`",
    "RBRACE": "`}`",
    "LPAR": "`(`",
    "RPAR": "`)`",
    "COMMA": "`,`",
    "DOT": "`.`",
    "$END": N_("the end of the file"),
}

_COMMENT_SCAN = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*"""|"(?:[^"\\\n]|\\.)*"|#[^\n]*', re.S)


def _terminal_text(term: str) -> str | None:
    """How a terminal is shown in "expected …": a keyword or punctuation as written."""
    if term in _EXPECTED_NAMES:
        return _(_EXPECTED_NAMES[term])
    try:
        pattern = parser().get_terminal(term).pattern
    except KeyError:
        return None
    if pattern.type == "str":
        return f"`{pattern.value}`"
    return None


def _describe_expected(expected: set[str]) -> str:
    """``expected one of `goal`, `sla`, `}`…``, most useful first: closing brackets, then
    the rest in alphabetical order; synonyms (``color``/``colour``) shown once."""
    names: set[str] = set()
    for term in expected:
        shown = _terminal_text(term)
        if shown and shown != "`colour`":
            names.add(shown)
    first = [n for n in ("`}`", "`)`", "`->`") if n in names]
    ordered = first + sorted(names - set(first))
    if not ordered:
        return ""
    if len(ordered) > 8:
        return _("expected one of {items}").format(items=join(", ", [*ordered[:8], "…"]))
    if len(ordered) == 1:
        return _("expected {item}").format(item=ordered[0])
    return _("expected one of {items}").format(items=join(", ", ordered))


def _found(token: Token) -> str:
    if token.type == "$END":
        return _("end of file")
    if token.type in ("STRING", "LONG_STRING"):
        return _("a string")
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
    at_end = not isinstance(error, UnexpectedToken) or error.token.type == "$END"
    if isinstance(error, UnexpectedToken) and not at_end:
        token = error.token
        start = token.start_pos if token.start_pos is not None else len(source.text)
        end = token.end_pos if token.end_pos is not None else start
        expected = _describe_expected(set(error.accepts or error.expected))
        found = _found(token)
    else:
        start = end = len(source.text.rstrip())
        expected = _describe_expected(set(error.expected))
        found = _("end of file")
    wants_value = isinstance(error, UnexpectedToken) and bool(
        set(error.accepts or error.expected)
        & {"STRING", "LONG_STRING", "ID", "DURATION", "PERCENT"}
    )
    if not at_end and wants_value:
        # Something is missing before a token on a later line: point just after the last
        # thing written, where the missing piece belongs, not at the next line.
        before = _skip_space_back(source.text, start)
        if before and source.position(before).line < source.position(start).line:
            start, end = before, before
    typo = typo_hint = ""
    if found == "`key`":
        message = N_("`key` belongs right after the stage's display name")
        hint = N_('write `stage qualified "Квалификация пройдена" key { … }`')
    elif isinstance(error, UnexpectedToken) and not at_end:
        keyword = _misspelt_keyword(error)
        if keyword:
            typo = _("unknown keyword {found}").format(found=found)
            typo_hint = _("did you mean `{name}`?").format(name=keyword)
    detail = typo or (_(message) if message else _("unexpected {found}").format(found=found))
    hint = typo_hint if typo else (_(hint) if hint else hint)
    help_line = hint or expected
    notes = (
        (_("found {found}; {expected}").format(found=found, expected=expected),)
        if message and expected
        else ()
    )
    return codes.make(
        "F001",
        source.span(start, max(end, start)),
        detail=detail,
        hint=help_line,
        notes=notes,
    )


@functools.cache
def _keywords() -> frozenset[str]:
    return frozenset(
        t.pattern.value
        for t in parser().terminals
        if t.pattern.type == "str" and t.pattern.value.isidentifier()
    )


def _misspelt_keyword(error: UnexpectedToken) -> str | None:
    """The keyword a bare word where a keyword belongs (`gaol`) is a typo of, if any."""
    word = str(error.token.value)
    if not word.isidentifier() or word in _keywords():
        return None  # a real keyword in the wrong place is another mistake
    keywords = []
    for term in error.accepts or error.expected:
        try:
            pattern = parser().get_terminal(term).pattern
        except KeyError:
            continue
        if pattern.type == "str" and pattern.value.isidentifier() and pattern.value != word:
            keywords.append(pattern.value)
    return did_you_mean(word, keywords)


def _pos(error: UnexpectedInput) -> int:
    return int(error.pos_in_stream or 0)


def _pattern(source: tuple[str, int]) -> re.Pattern[str]:
    """The compiled expression (``re`` keeps it cached).  The patterns below are for syntax
    errors only, compiled on first use rather than at import: a clean check never needs them."""
    return re.compile(*source)


_WORD = (r"\w+%?", 0)
_NUMBER = (r"[0-9]+(?:[.,][0-9]+)?\w*%?", 0)
_FRACTION = (r"([0-9]+)[.,]([0-9]+)(min|bd|h|d|w)", 0)
_UNIT_MINUTES = (("w", 7 * 24 * 60), ("d", 24 * 60), ("h", 60), ("min", 1))


def _whole_duration(word: str) -> str | None:
    """``1.5d`` → ``36h``: the same duration as a whole number of a smaller unit, if any."""
    match = _pattern(_FRACTION).fullmatch(word)
    if match is None or match.group(3) == "bd" or len(word) > 20:
        return None
    whole, fraction, unit = match.groups()
    numerator = int(whole + fraction) * dict(_UNIT_MINUTES)[unit]
    denominator = 10 ** len(fraction)
    if numerator % denominator:
        return None
    minutes = numerator // denominator
    for name, size in _UNIT_MINUTES:
        if minutes and minutes % size == 0:
            return f"{minutes // size}{name}"
    return None


_UNIT_WORD = (r"([0-9]+)([^\W\d_]+)", 0)


def _char_error(source: SourceFile, error: UnexpectedCharacters) -> Diagnostic:
    """A character no token can start with: explain the likely mistake behind it."""
    text = source.text
    pos = _pos(error)
    char = text[pos] if pos < len(text) else ""
    if char == '"':
        line_end = text.find("\n", pos)
        if text[max(0, pos - 2) : pos] == '""':
            # `"""` with no closing `"""`: the lexer took `""` as an empty string.
            return codes.make(
                "F003",
                source.span(pos - 2, pos + 1),
                help=_('close the multi-line string with `"""`'),
            )
        end = len(text) if line_end == -1 else line_end
        return codes.make("F003", source.span(pos, end))
    allowed = set(error.allowed or ())
    start, end = pos, pos + (1 if char else 0)
    shown = char if char.isprintable() and char != "" else repr(char)
    detail = _("unexpected character `{char}`").format(char=shown)
    hint = ""
    if char.isdigit():
        match = _pattern(_NUMBER).match(text, pos)
        end = pos + len(match.group(0)) if match else pos + 1
        word = text[pos:end]
        unit = _pattern(_UNIT_WORD).fullmatch(word)
        if "DURATION" in allowed and _pattern(_FRACTION).fullmatch(word):
            detail = _("`{word}` is not a whole number").format(word=word)
            whole = _whole_duration(word)
            hint = (
                _("durations are whole numbers: write `{whole}`").format(whole=whole)
                if whole
                else _("durations are whole numbers of `min`, `h`, `d`, `w` or `bd`")
            )
        elif "DURATION" in allowed:
            detail = (
                _("unknown duration unit in `{word}`") if unit else _("`{word}` has no unit")
            ).format(word=word)
            hint = _("durations are written `30min`, `2h`, `3d`, `2w` or `5bd` (business days)")
        elif "PERCENT" in allowed:
            detail = _("`{word}` is not a percentage").format(word=word)
            hint = _("probabilities are percentages: write `30%`")
        else:
            detail = _("unexpected number `{word}`").format(word=word)
    elif char in ":=":
        hint = _('attributes are written without `:` or `=`: `goal "…"`, `sla 2d`')
    elif char == ";":
        hint = _("statements are not ended with `;`: remove it")
    elif char in "«“„'":
        closing = {"«": "»", "“": "”", "„": "“", "'": "'"}[char]
        close_at = text.find(
            closing, pos + 1, len(text) if text.find("\n", pos) == -1 else text.find("\n", pos)
        )
        if close_at != -1:
            end = close_at + 1
            detail = _("`{text}` is not a string the language understands").format(
                text=text[start:end]
            )
        hint = _('strings use straight double quotes: "…"; «ёлочки» may go inside them')
    elif char.isalpha() and not char.isascii():
        # Take in the whole word, including an ASCII part the lexer already read as an id.
        word_start = pos
        while word_start > 0 and (text[word_start - 1].isalnum() or text[word_start - 1] == "_"):
            word_start -= 1
        match = _pattern(_WORD).match(text, pos)
        start, end = word_start, pos + (len(match.group(0)) if match else 1)
        detail = _("`{text}` is not a valid id").format(text=text[start:end])
        hint = _(
            "ids are ASCII machine keys (`new_lead`); put display names in quotes: "
            '`stage new_lead "Новый клиент"`'
        )
    elif allowed:
        hint = _describe_expected(allowed)
    return codes.make("F002", source.span(start, end), detail=detail, hint=hint)


def scan_comments(source: SourceFile) -> tuple[Comment, ...]:
    """Every ``#`` comment of the file (strings are skipped, so a ``#`` inside one is not)."""
    comments = []
    for match in _COMMENT_SCAN.finditer(source.text):
        if match.group(0).startswith("#"):
            comments.append(Comment(match.group(0), source.span(match.start(), match.end())))
    return tuple(comments)


_INSERTABLE = ("STRING", "ID", "DURATION", "PERCENT", "RBRACE", "RPAR")

_QUOTES = {"«": "»", "“": "”", "„": "“"}  # the typographic quotes people paste
_PLACEHOLDER = {"STRING": '""', "DURATION": "1d", "PERCENT": "0%", "ID": "_"}


def _skip_bad_text(source: SourceFile, error: UnexpectedCharacters) -> None:
    """Recover from text no token matches: skip the whole bad piece (an unterminated string,
    a «quoted» name, a number without its unit, a Cyrillic id) and, where the parser wanted a
    value there, stand a placeholder token in for it so the statement still parses."""
    text = source.text
    position = _pos(error)
    char = text[position : position + 1]
    line_end = text.find("\n", position)
    line_end = len(text) if line_end == -1 else line_end
    skip_to = position + 1
    stands_for = ""
    if char == '"':
        long_string = text[max(0, position - 2) : position] == '""'
        skip_to, stands_for = (len(text) if long_string else line_end), "STRING"
    elif char in _QUOTES and text.find(_QUOTES[char], position + 1, line_end) != -1:
        skip_to, stands_for = text.find(_QUOTES[char], position + 1, line_end) + 1, "STRING"
    elif char.isdigit() or (char.isalpha() and not char.isascii()):
        match = _pattern(_NUMBER if char.isdigit() else _WORD).match(text, position)
        skip_to = position + (len(match.group(0)) if match else 1)
        stands_for = "DURATION" if char.isdigit() else "ID"
    state = error.interactive_parser.lexer_thread.state
    assert state is not None
    state.line_ctr.feed(text[position:skip_to])
    interactive = error.interactive_parser
    if stands_for:
        accepts = interactive.accepts()  # type: ignore[no-untyped-call]
        for kind in (stands_for, "PERCENT", "STRING", "ID"):
            if kind in accepts:
                interactive.feed_token(Token(kind, _PLACEHOLDER[kind]))
                break


def _repair(error: UnexpectedToken) -> bool:
    """Recover from an unexpected token by inserting one plausible token before it, if that
    lets the parser accept it (a missing name, duration or `}`); otherwise drop the token.

    Returns whether the token was kept (the parser went on from it) rather than dropped.
    """
    interactive = error.interactive_parser
    accepts = interactive.accepts()  # type: ignore[no-untyped-call]
    token = error.token
    text_before = error.interactive_parser.lexer_thread.state
    same_line = _same_line_as_previous(text_before, token)
    if "STRING" in accepts and str(token.value).isidentifier() and same_line:
        # A bare word where a name belongs (`won paid Paid`): read it as the string it was
        # meant to be, so the rest of the statement parses and later errors are still found.
        trial = interactive.copy()  # type: ignore[no-untyped-call]
        try:
            trial.feed_token(Token("STRING", f'"{token.value}"'))
        except UnexpectedInput:
            pass
        else:
            interactive.feed_token(Token("STRING", f'"{token.value}"'))
            return True
    arrows = [t for t in accepts if t.startswith("__ANON")]
    if token.type == "ID" and "STAGE" in accepts:
        # `accepted "…"` in a phase: the `stage` keyword is missing.
        interactive.feed_token(Token("STAGE", "stage"))
        interactive.feed_token(token)
        return True
    for candidate in (*_INSERTABLE, *arrows):
        if candidate not in accepts:
            continue
        if candidate == "RBRACE" and token.type in ("ID", "STRING", "LONG_STRING"):
            continue  # closing a block early to accept an id only moves the error further
        trial = interactive.copy()  # type: ignore[no-untyped-call]
        try:
            trial.feed_token(Token(candidate, ""))
            if error.token.type not in trial.accepts():
                continue
            interactive.feed_token(Token(candidate, ""))
            interactive.feed_token(error.token)
        except UnexpectedInput:
            continue
        return True
    return False


def _same_line_as_previous(state: object, token: Token) -> bool:
    """Whether ``token`` sits on the line where the text before it ends (so it belongs to the
    statement being parsed, not to the next one)."""
    text = getattr(state, "text", None)
    raw = getattr(text, "text", text)
    if not isinstance(raw, str) or token.start_pos is None:
        return True
    return "\n" not in raw[_skip_space_back(raw, token.start_pos) : token.start_pos]


def _skip_space_back(text: str, end: int) -> int:
    """Where the whitespace that ends at ``end`` starts: ``len(text[:end].rstrip())`` without
    copying the text before it (recovery runs on every error, and files of junk are long)."""
    start = end
    while start > 0 and text[start - 1].isspace():
        start -= 1
    return start


_LINE_STRING = (r'"(?:[^"\\\n]|\\.)*"', 0)


def _unclosed_quote(source: SourceFile, start: int) -> Diagnostic | None:
    """``stage met "Встреча состоялась won w "Успех"``: the error at ``Успех`` comes from a
    string that was never closed, so the lexer paired its quote with the next one.  When the
    error sits right after a string on its line and the line has an unpaired quote, point
    at that string's opening quote instead."""
    text = source.text
    if start == 0 or text[start - 1] != '"' or text[start : start + 1] == '"':
        return None  # (`"""` with no closing `"""` is reported as such)
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    line_end = len(text) if line_end == -1 else line_end
    if line_end - line_start > 10_000:
        return None
    opening = None
    for match in _pattern(_LINE_STRING).finditer(text, line_start, line_end):
        if match.end() == start:
            opening = match.start()
            break
        if match.end() > start:
            return None
    if opening is None:
        return None
    if len(re.findall(r'(?<!\\)"', text[start:line_end])) % 2 == 0:
        return None
    return codes.make(
        "F003",
        source.span(opening, opening + 1),
        labels=(
            Label(
                source.span(start - 1, start),
                _("this quote was taken as the end of that string"),
            ),
        ),
        notes=(_("the string opened here was never closed, so the text after it is not in it"),),
        help=_('close the string with `"` where the name ends'),
    )


_INDENT = (r"[ \t]*", 0)
_BRACES = (r'"""(?:[^"\\]|\\.|"(?!""))*"""|"(?:[^"\\\n]|\\.)*"|#[^\n]*|[{}]', re.S)


def _extra_brace(source: SourceFile, before: int) -> Diagnostic | None:
    """An extra ``}`` closes its block early, and the parser notices only where something
    no longer fits, often many lines later.  If the braces before ``before`` close more
    blocks than they open, find the ``}`` that does not line up with its ``{`` (a lone ``}``
    indented differently from the line of its ``{``, or ``} }`` closing a block opened on an
    earlier line) and report it where it is."""
    text = source.text
    opened: list[int] = []
    suspects: list[tuple[int, int]] = []  # (offset of the `}`, offset of the `{` it closes)
    last_close_same_line = -1
    for match in _pattern(_BRACES).finditer(text, 0, len(text)):
        char = match.group(0)
        if char == "{":
            opened.append(match.start())
            continue
        if char != "}":
            continue
        at = match.start()
        if not opened:
            if at >= before and not suspects:
                return None
            culprit = suspects[0][0] if suspects else at
            return _extra_brace_diagnostic(source, culprit)
        opener = opened.pop()
        if suspects or at >= before:
            continue  # only the first suspect before the error counts
        line_start = at - source.position(at).column + 1
        opener_line = opener - source.position(opener).column + 1
        first_on_line = _skip_space_back(text, at) <= line_start
        if opener_line != line_start:
            indent = _pattern(_INDENT).match(text, opener_line).end() - opener_line  # type: ignore[union-attr]
            misaligned = first_on_line and at - line_start != indent
            second_on_line = not first_on_line and last_close_same_line == line_start
            if misaligned or second_on_line:
                suspects.append((at, opener))
        else:
            last_close_same_line = line_start
    return None


def _extra_brace_diagnostic(source: SourceFile, at: int) -> Diagnostic:
    return codes.make(
        "F001",
        source.span(at, at + 1),
        detail=_("an extra `}`"),
        hint=_("remove it, or check that each `{` above is closed once"),
        notes=(_("it closes an outer block early, so what follows is out of place"),),
    )


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
    recoveries = 0

    def report(error: UnexpectedInput) -> bool:
        """Record the error unless it is a cascade of the previous one: right after it, or
        on the same line.  Returns whether it was a cascade."""
        start = _error_start(source, error)
        between = source.text[last_error_end:start] if last_error_end >= 0 else "x"
        cascade = last_error_end >= 0 and (
            not between.strip()
            or source.position(start).line == source.position(last_error_end).line
        )
        if not cascade:
            unclosed = _unclosed_quote(source, start)
            if unclosed is not None:
                diagnostics.append(unclosed)
            elif isinstance(error, UnexpectedCharacters):
                diagnostics.append(_char_error(source, error))
            elif isinstance(error, UnexpectedToken | UnexpectedEOF):
                diagnostics.append(_token_error(source, error))
        return cascade

    def on_error(error: UnexpectedInput) -> bool:
        nonlocal last_error_end, recoveries
        cascade = report(error)
        recoveries += 1
        if len(diagnostics) >= MAX_SYNTAX_ERRORS or recoveries >= MAX_RECOVERIES:
            return False
        kept = False
        if isinstance(error, UnexpectedCharacters):
            _skip_bad_text(source, error)
        elif isinstance(error, UnexpectedToken):
            if error.token.type == "$END":
                return False
            kept = _repair(error)
        # The window in which further errors count as a cascade grows with every error that
        # was reported or whose token had to be dropped, not with a token recovery kept.
        if not (cascade and kept):
            last_error_end = max(last_error_end, _error_end(source, error))
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
            codes.make(
                "F001", source.span(0, 0), detail=_("the file is nested too deeply"), hint=""
            )
        )
    if diagnostics:
        tree = None
        first = diagnostics[0].span
        extra = _extra_brace(source, first.start if first is not None else len(source.text))
        if (
            extra is not None
            and extra.span is not None
            and (first is None or extra.span.start < first.start)
        ):
            # What was reported follows from the extra `}`: report that one instead.
            diagnostics = [extra]
    return ParseResult(tree, tuple(diagnostics), scan_comments(source) if tree else ())


if __name__ == "__main__":  # python -m funnelc.parse: rewrite the shipped serialised parser
    _text = grammar_path().read_text(encoding="utf-8")
    prebuilt_path().write_bytes(serialise(build_parser(), parser_key(_text)))
    print(f"wrote {prebuilt_path()}")
