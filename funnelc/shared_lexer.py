"""Lark's contextual lexer, with one compiled regular expression instead of one per state.

Lark's contextual lexer gives each parser state a lexer of its own, which knows only the
terminals that state accepts (so that ``stage`` is a keyword where a keyword may come and an id
where only an id may), and compiles that lexer's regular expression the first time the state
is reached.  Python's regex compiler is slow: a ``funnelc check`` of the examples reached 27
states and spent about 4 ms compiling, more than a tenth of its own work.

:class:`SharedScannerLexer` produces exactly the tokens of Lark's contextual lexer (the same
types, values and positions, and the same errors) with the root lexer's expression, which
knows every terminal, plus, per state and per terminal matched, a short *plan* worked out once:

* a state's expression lists its terminals in the same order as the root one (Lark sorts them
  by one key), minus those it does not accept, plus the literals (keywords) that the root
  expression folds into a regex terminal such as ``ID`` while the state, which does not accept
  ``ID``, keeps them as alternatives of their own;
* where the root expression's first match is terminal ``T``, the state's first match is
  therefore ``T`` itself, unless one of the state's own literals listed before ``T`` matches
  there (a ``startswith``), or — when the state does not accept ``T`` — the first of its later
  alternatives that matches (each tried with its own expression, compiled once per terminal);
* the keyword a state gives an ``ID`` it accepts is looked up in that state's keywords only.

Whenever a plan cannot say (no match at all, a state that accepts nothing there, or a grammar
with flags, callbacks or bytes that the plans do not model), the state's own Lark lexer is
asked instead, so errors and recovery are exactly Lark's.  ``tests/test_shared_lexer.py``
compares the two lexers token for token.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedToken
from lark.lexer import (
    BasicLexer,
    ContextualLexer,
    LexerState,
    PatternStr,
    Scanner,
    TerminalDef,
)

_Step = tuple[str, Any, str]
"""``("literal", text, name)``, ``("regex", pattern, name)``, ``("root", None, name)`` (the
root's match) or ``("ask", None, "")`` (the state's own lexer)."""
_Plan = tuple[tuple[_Step, ...] | None, dict[str, dict[str, str]]]
"""The steps to try in order (``None``: take the root's match as it is), and the keywords the
state's regex terminals stand for (by terminal, then by text)."""


class SharedScannerLexer(ContextualLexer):
    """A drop-in for a :class:`lark.lexer.ContextualLexer` (see the module's text)."""

    def __init__(self, base: ContextualLexer) -> None:  # not ContextualLexer's: adopts ``base``
        self.lexers = base.lexers
        self.root_lexer = base.root_lexer
        root = base.root_lexer
        assert isinstance(root, BasicLexer)
        self._root: BasicLexer = root
        self._order = {t.name: i for i, t in enumerate(root.terminals)}
        self._absorbers = _absorbers(list(root.terminals))
        self._plans: dict[Any, dict[str, _Plan]] = {}
        self._ignore = root.ignore_types
        self._newline = root.newline_types
        # The root lexer's expression, as its scanner would build it (without the keywords'
        # own expression, which Lark's UnlessCallback needs and the plans do not).
        scanner = Scanner(  # type: ignore[no-untyped-call]
            [t for t in root.terminals if t.name not in self._absorbers], 0, re, use_bytes=False
        )
        mres = scanner._mres
        self._match: Callable[[str, int, int], re.Match[str] | None] = (
            mres[0].match if len(mres) == 1 else _first_match(mres)
        )
        self._patterns: dict[str, re.Pattern[str]] = {}

    def lex(self, lexer_state: LexerState, parser_state: Any) -> Iterator[Token]:
        # ContextualLexer.lex, with next_token replaced.
        try:
            while True:
                lexer = self.lexers[parser_state.position]
                yield self._next_token(lexer, lexer_state, parser_state)
        except EOFError:
            pass
        except UnexpectedCharacters as e:
            try:
                last_token = lexer_state.last_token
                token = self.root_lexer.next_token(lexer_state, parser_state)
                raise UnexpectedToken(  # type: ignore[no-untyped-call]
                    token,
                    e.allowed,
                    state=parser_state,
                    token_history=[last_token],
                    terminals_by_name=self.root_lexer.terminals_by_name,
                )
            except UnexpectedCharacters:
                raise e  # noqa: B904 (re-raised as Lark does)

    def _next_token(self, lexer: Any, lex_state: LexerState, parser_state: Any) -> Token:
        # BasicLexer.next_token, with the root's expression and the state's plan.
        plans = self._plans.get(lexer)
        if plans is None:
            plans = self._plans[lexer] = {}
        line_ctr = lex_state.line_ctr
        text = lex_state.text
        source, end = text.text, text.end
        match = self._match
        ignore = self._ignore
        newline = self._newline
        while line_ctr.char_pos < end:
            pos = line_ctr.char_pos
            found = match(source, pos, end)
            if found is None:
                return lexer.next_token(lex_state, parser_state)  # type: ignore[no-any-return]
            value: str = found.group(0)
            type_: str = found.lastgroup  # type: ignore[assignment]
            plan = plans.get(type_)
            if plan is None:
                plan = plans[type_] = self._make_plan(lexer, type_)
            steps, keywords = plan
            if steps is not None:
                for kind, what, name in steps:
                    if kind == "literal":
                        if source.startswith(what, pos, end):
                            value, type_ = what, name
                            break
                    elif kind == "regex":
                        other = what.match(source, pos, end)
                        if other:
                            value, type_ = other.group(0), name
                            break
                    elif kind == "root":
                        break
                    else:
                        return lexer.next_token(lex_state, parser_state)  # type: ignore[no-any-return]
                else:
                    return lexer.next_token(lex_state, parser_state)  # type: ignore[no-any-return]
            if type_ in ignore:
                line_ctr.feed(value, type_ in newline)
                continue
            token = Token(type_, value, pos, line_ctr.line, line_ctr.column)
            line_ctr.feed(value, type_ in newline)
            token.end_line = line_ctr.line
            token.end_column = line_ctr.column
            token.end_pos = line_ctr.char_pos
            if keywords:
                keyword = keywords.get(type_, _NO_KEYWORDS).get(value)
                if keyword is not None:
                    token.type = keyword
            lex_state.last_token = token
            return token
        raise EOFError(self)

    def _make_plan(self, lexer: Any, matched: str) -> _Plan:
        accepted = {t.name for t in lexer.terminals}
        # The state's alternatives, in its (and the root's) order.
        alternatives = [
            t for t in lexer.terminals if not (self._absorbers.get(t.name, set()) & accepted)
        ]
        matched_at = self._order[matched]
        steps: list[_Step] = []
        decided = False
        for terminal in alternatives:
            own_literal = terminal.name in self._absorbers  # folded into a regex at the root
            if terminal.name == matched:
                steps.append(("root", None, matched))
                decided = True
                break
            if own_literal:
                steps.append(("literal", terminal.pattern.value, terminal.name))
            elif self._order[terminal.name] > matched_at:
                steps.append(("regex", self._pattern(terminal), terminal.name))
            # else: listed before the root's first match, so it does not match here
        # The keywords that the state's regex terminals fold into themselves (Lark's
        # UnlessCallback): ``stage`` read as ``ID`` is ``STAGE`` where ``STAGE`` is accepted.
        keywords: dict[str, dict[str, str]] = {}
        for terminal in lexer.terminals:
            for regex in self._absorbers.get(terminal.name, set()) & accepted:
                keywords.setdefault(regex, {})[terminal.pattern.value] = terminal.name
        if not decided:
            steps.append(("ask", None, ""))
        if steps == [("root", None, matched)]:
            return None, keywords
        return tuple(steps), keywords

    def _pattern(self, terminal: TerminalDef) -> re.Pattern[str]:
        pattern = self._patterns.get(terminal.name)
        if pattern is None:
            pattern = self._patterns[terminal.name] = re.compile(terminal.pattern.to_regexp())
        return pattern


_NO_KEYWORDS: dict[str, str] = {}


def _first_match(
    patterns: list[re.Pattern[str]],
) -> Callable[[str, int, int], re.Match[str] | None]:
    """Lark's Scanner.match over several expressions (a grammar of more than 100 terminals)."""

    def match(source: str, pos: int, end: int) -> re.Match[str] | None:
        for pattern in patterns:
            found = pattern.match(source, pos, end)
            if found:
                return found
        return None

    return match


def _absorbers(terminals: list[TerminalDef]) -> dict[str, set[str]]:
    """For each literal that a regex terminal of the same priority matches whole (a keyword
    that ``ID`` matches), the regex terminals that fold it into themselves (Lark's
    ``_create_unless``)."""
    literals = [t for t in terminals if isinstance(t.pattern, PatternStr)]
    regexes = [t for t in terminals if not isinstance(t.pattern, PatternStr)]
    found: dict[str, set[str]] = {}
    for literal in literals:
        for regex in regexes:
            if regex.priority != literal.priority:
                continue
            text = literal.pattern.value
            match = re.match(regex.pattern.to_regexp(), text)
            if match and match.group(0) == text:
                found.setdefault(literal.name, set()).add(regex.name)
    return found


def install(parser: Lark) -> Lark:
    """Give ``parser`` the shared-scanner lexer when its grammar is one the plans model (no
    flags on literals, callbacks or bytes); otherwise leave it as it is.  Returns ``parser``."""
    frontend = getattr(parser, "parser", None)
    lexer = getattr(frontend, "lexer", None)
    if type(lexer) is not ContextualLexer or not isinstance(lexer.root_lexer, BasicLexer):
        return parser
    root = lexer.root_lexer
    conf = parser.lexer_conf
    if (
        conf.callbacks
        or conf.g_regex_flags
        or conf.use_bytes
        or conf.re_module is not re
        or conf.postlex is not None
        or any(t.pattern.flags for t in root.terminals if isinstance(t.pattern, PatternStr))
    ):
        return parser
    frontend.lexer = SharedScannerLexer(lexer)  # type: ignore[union-attr]
    return parser
