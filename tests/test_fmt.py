"""``funnelc fmt``: the canonical style of docs/style.md, and the formatter's promises.

Promises, checked over every example, every test input that parses (``tests/errors``,
``tests/fixtures``, ``tests/lint`` — its ``.funnel`` files and the sources of its YAML cases)
and generated files (hypothesis):

* the meaning never changes: the compiled project (spans aside), every diagnostic and every
  lint finding (suppressions included) are the same before and after, and so is every comment;
* formatting is idempotent;
* the formatter only changes white space and the spelling of strings (the tokens, in order,
  are the same);
* a file with syntax errors is refused with the compiler's diagnostics and left alone.

The style itself is pinned by ``tests/fmt/*.in`` → ``*.expected`` pairs (``--bless``
rewrites them) and by the examples, which are already formatted.
"""

from __future__ import annotations

import dataclasses
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

import funnelc
from funnelc import fmt
from funnelc.cli import app
from funnelc.fmt import canonical_string, format_text
from funnelc.lower import _unescape
from funnelc.parse import parse
from funnelc.source import SourceFile, Span
from tests.conftest import EXAMPLES, TESTS, check_golden
from tests.test_robustness import mutated

FMT_CASES = TESTS / "fmt"
DOCS = TESTS.parent / "docs"

# ---- helpers ----------------------------------------------------------------------------------


def _strip(value: Any) -> Any:
    """A comparable copy of a model or diagnostic with every position removed."""
    if isinstance(value, Span):
        return None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        kept = (f.name for f in dataclasses.fields(value) if f.compare)
        return (type(value).__name__, *(_strip(getattr(value, name)) for name in kept))
    if isinstance(value, list | tuple):
        return tuple(_strip(item) for item in value)
    if isinstance(value, Mapping):
        return tuple((_strip(k), _strip(v)) for k, v in value.items())
    if isinstance(value, set | frozenset):
        return frozenset(_strip(item) for item in value)
    if isinstance(value, str):
        return value.rstrip(" \t") if value.startswith("#") else value
    return value


def meaning(texts: Mapping[str, str]) -> tuple[Any, Any]:
    """What a set of files means: the project and every diagnostic, lint findings included."""
    result = funnelc.compile_texts(texts, lint=True)
    return _strip(result.project), _strip(tuple(result.diagnostics))


def comments(text: str) -> list[str]:
    parsed = parse(SourceFile("x.funnel", text.replace("\r\n", "\n")))
    return [c.text.rstrip(" \t") for c in parsed.comments]


def tokens(text: str) -> list[tuple[str, str]]:
    """The file's tokens, strings by value: what the formatter must not change."""
    result = []
    for token in fmt._tokens(text.replace("\r\n", "\n")):
        if token.kind == "STRING":
            result.append(("STRING", _unescape(token.text[1:-1])))
        elif token.kind == "LONG_STRING":
            result.append(("LONG_STRING", fmt._long_value(token.text)))
        elif token.kind != "COMMENT":
            result.append((token.kind, token.text))
    return result


def formatted(text: str) -> str:
    result = format_text(text, "x.funnel")
    assert result.text is not None, result.diagnostics
    return result.text


def check_promises(files: Mapping[str, str]) -> dict[str, str]:
    """Format every file of a set; assert meaning, comments, tokens and idempotence."""
    after = {name: formatted(text) for name, text in files.items()}
    for name, text in files.items():
        assert formatted(after[name]) == after[name], f"{name}: not idempotent"
        assert comments(after[name]) == comments(text), f"{name}: comments changed"
        assert tokens(after[name]) == tokens(text), f"{name}: tokens changed"
    assert meaning(after) == meaning(files)
    return after


def has_syntax_errors(text: str) -> bool:
    return parse(SourceFile("x.funnel", text.replace("\r\n", "\n"))).tree is None


# ---- the corpus -------------------------------------------------------------------------------


def _lint_sources() -> dict[str, str]:
    found = {}
    for path in sorted((TESTS / "lint").glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for kind in ("pass", "fail"):
            for number, case in enumerate(document.get(kind) or []):
                if isinstance(case, dict) and isinstance(case.get("source"), str):
                    found[f"{path.name}:{kind}:{number}"] = case["source"]
    return found


def _corpus() -> dict[str, dict[str, str]]:
    """Sets of files that are compiled together, keyed by a name for the test id."""
    sets: dict[str, dict[str, str]] = {}
    examples = sorted(EXAMPLES.rglob("*.funnel"))
    sets["examples"] = {
        p.relative_to(EXAMPLES).as_posix(): p.read_text(encoding="utf-8") for p in examples
    }
    for path in sorted(TESTS.rglob("*.funnel")):
        if FMT_CASES in path.parents:
            continue
        text = path.read_text(encoding="utf-8")
        if has_syntax_errors(text):
            continue
        name = path.relative_to(TESTS).as_posix()
        if path.parent != TESTS / "errors" and path.parent.parent == TESTS / "errors":
            # A multi-file error case: its files import one another.
            key = path.parent.relative_to(TESTS).as_posix()
            sets.setdefault(key, {})[path.name] = text
        else:
            sets[name] = {path.name: text}
    for name, text in _lint_sources().items():
        sets[name] = {"x.funnel": text}
    for number, block in enumerate(_funnel_blocks(DOCS / "language.md")):
        if not has_syntax_errors(block):
            sets[f"language.md:{number}"] = {"x.funnel": block}
    return sets


def _funnel_blocks(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return re.findall(r"^```funnel\n(.*?)^```", text, re.S | re.M)


CORPUS = _corpus()


def test_the_corpus_is_large() -> None:
    """Guards the property below against an empty glob."""
    assert len(CORPUS["examples"]) >= 6
    assert sum(len(files) for files in CORPUS.values()) > 150


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_formatting_keeps_meaning_and_is_idempotent(name: str) -> None:
    check_promises(CORPUS[name])


def test_examples_are_formatted() -> None:
    """``funnelc fmt --check examples/`` passes: the examples are in the canonical style."""
    for name, text in CORPUS["examples"].items():
        assert formatted(text) == text, name
    result = CliRunner().invoke(app, ["fmt", "--check", str(EXAMPLES)])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_the_style_guide_is_in_its_own_style() -> None:
    blocks = _funnel_blocks(DOCS / "style.md")
    assert blocks
    for block in blocks:
        assert formatted(block) == block


SYNTAX_ERRORS = sorted(
    p for p in (TESTS / "errors").glob("F00*.funnel") if has_syntax_errors(p.read_text("utf-8"))
)


def test_there_are_files_with_syntax_errors() -> None:
    assert len(SYNTAX_ERRORS) > 30


@pytest.mark.parametrize("path", SYNTAX_ERRORS, ids=lambda p: p.stem)
def test_syntax_errors_are_refused_with_the_compilers_diagnostics(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    result = format_text(text, "x.funnel")
    assert result.text is None
    assert result.diagnostics == parse(SourceFile("x.funnel", text)).diagnostics
    assert result.diagnostics


# ---- the style, case by case ------------------------------------------------------------------

STYLE_CASES = sorted(FMT_CASES.glob("*.in"))
"""Inputs are ``*.in``, not ``*.funnel``: they are unformatted on purpose, and `funnelc fmt`
or an editor pointed at ``tests/`` must leave them alone."""


def test_there_are_style_cases() -> None:
    assert len(STYLE_CASES) >= 5


@pytest.mark.parametrize("path", STYLE_CASES, ids=lambda p: p.stem)
def test_style_case(path: Path, bless: bool) -> None:
    """Each input gives its expected output (read and written as bytes: CRLF cases too)."""
    text = path.read_bytes().decode("utf-8")
    result = format_text(text, path.name)
    assert result.text is not None, result.diagnostics
    check_golden(path.with_suffix(".expected"), result.text.encode("utf-8"), bless)
    assert formatted(result.text) == result.text
    assert meaning({"x.funnel": result.text}) == meaning({"x.funnel": text})


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # Indentation, one statement per line, spacing around punctuation.
        (
            'pipeline p "P" {deal{stage a "A"  won w "W"}  a->w}',
            'pipeline p "P" {\n  deal {\n    stage a "A"\n    won w "W"\n  }\n  a -> w\n}\n',
        ),
        # An attribute block written on one line stays there; two spaces between attributes.
        (
            'pipeline p "P" { deal { stage a "A" {sla 2d probability 10%} } }',
            'pipeline p "P" {\n  deal {\n    stage a "A" { sla 2d  probability 10% }\n  }\n}\n',
        ),
        # One written over several lines gets one attribute per line.
        (
            'pipeline p "P" { deal { stage a "A" { sla 2d probability 10%\n} } }',
            'pipeline p "P" {\n  deal {\n    stage a "A" {\n      sla 2d\n'
            "      probability 10%\n    }\n  }\n}\n",
        ),
        # The pipeline's language declaration is a statement like the others.
        (
            'pipeline p "P" {language   ru deal{stage a "A"}}',
            'pipeline p "P" {\n  language ru\n  deal {\n    stage a "A"\n  }\n}\n',
        ),
        # Empty blocks.
        ('pipeline p "P" {\n\n}', 'pipeline p "P" { }\n'),
        # At most one blank line, none at the start or the end of a block or the file.
        (
            '\n\n\nfield a "A" text\n\n\n\nreason r "R"\n\n\n',
            'field a "A" text\n\nreason r "R"\n',
        ),
        # A blank line after a comment that ends with a brace is kept.
        ('# {\n\nreason r "R"\n', '# {\n\nreason r "R"\n'),
        # References and lists.
        ('field f "F" choice( "a" ,"b" , )', 'field f "F" choice("a", "b",)\n'),
        # Consecutive fields are aligned; a blank line starts a new group.
        (
            'field a "A" text\nfield long_id "Long" text\n\nfield b "B" money\n',
            'field a       "A"    text\nfield long_id "Long" text\n\nfield b "B" money\n',
        ),
        # A comment at the end of a line does not break a group; one on its own line does.
        (
            'field a "A" text # c\nfield bb "B" text\n# own\nfield ccc "C" text\n',
            'field a  "A" text' + " " * 31 + '# c\nfield bb "B" text\n# own\nfield ccc "C" text\n',
        ),
        (
            'field a "A" text # c\n# own\nfield bb "B" text\n',
            'field a "A" text' + " " * 32 + '# c\n# own\nfield bb "B" text\n',
        ),
        # Trailing comments at column 49, or two spaces after longer code.
        (
            'reason r "R" # why\n',
            'reason r "R"' + " " * 36 + "# why\n",
        ),
        (
            f'reason r "{"x" * 50}" # why\n',
            f'reason r "{"x" * 50}"  # why\n',
        ),
        # Comments only.
        ("# only\n\n\n# comments", "# only\n\n# comments\n"),
        ("", ""),
        ("\n \n\t\n", ""),
    ],
)
def test_style(source: str, expected: str) -> None:
    assert formatted(source) == expected
    assert formatted(expected) == expected


def test_a_comment_inside_a_statement_stays_there() -> None:
    source = "revive pit # why\n -> new after 30d\n"
    text = 'pipeline p "P" { deal { stage new "N" lost pit "P" } ' + source + "}"
    out = formatted(text)
    assert "  revive pit" in out and "# why\n      -> new after 30d\n" in out
    check_promises({"x.funnel": text})


def test_a_line_that_ends_with_a_suppression_is_not_split() -> None:
    """A suppression at the end of a line covers what starts on that line: splitting the line
    would change what it suppresses, so its statements stay together."""
    text = (
        'pipeline p "P" {\n  deal { stage preparing "Готовим КП" { sla 2d } stage sending '
        '"Отправляем КП" { sla 2d }   # funnelc: allow L003 -- термин\n'
        '    won w "W" lost pit "Яма" }\n  timeout -> pit\n}\n'
    )
    assert formatted(text) == (
        'pipeline p "P" {\n  deal { stage preparing "Готовим КП" { sla 2d }  stage sending '
        '"Отправляем КП" { sla 2d }  # funnelc: allow L003 -- термин\n'
        '    won w "W"\n    lost pit "Яма"\n  }\n  timeout -> pit\n}\n'
    )
    check_promises({"x.funnel": text})
    split = formatted(text.replace("# funnelc: allow", "# not an allow"))
    assert '    stage sending "Отправляем КП"' in split


def test_a_suppression_keeps_covering_its_line() -> None:
    text = (
        'pipeline p "P" {\n  deal {\n'
        '    stage preparing "Готовим КП" { sla 2d }   # funnelc: allow L001, L002 -- термин\n'
        '    won w "W"\n    lost pit "P"\n  }\n  timeout -> pit\n}\n'
    )
    check_promises({"x.funnel": text})


# ---- strings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('"plain"', '"plain"'),
        ('"\\u0430\\u0431"', '"аб"'),
        ('"tab\there"', '"tab\\there"'),
        ('"nbsp\u00a0here"', '"nbsp\\u00a0here"'),
        ('"bidi\u202eoverride"', '"bidi\\u202eoverride"'),
        ('"zero\u200bwidth"', '"zero\\u200bwidth"'),
        ('"family 👨\u200d👩\u200d👧"', '"family 👨\u200d👩\u200d👧"'),
        ('"quote \\" backslash \\\\"', '"quote \\" backslash \\\\"'),
        ('"\\n\\r\\0\\t"', '"\\n\\r\\0\\t"'),
        ('"\\U0001F389"', '"🎉"'),
        ('"\\x41 is not an escape"', '"\\x41 is not an escape"'),
        ('"control\\u0001"', '"control\\u0001"'),
    ],
)
def test_string_spelling(raw: str, expected: str) -> None:
    assert canonical_string(raw) == expected


@given(st.text())
def test_a_canonical_string_has_the_same_value(value: str) -> None:
    spelled = canonical_string('"' + fmt._escape(value) + '"')
    assert _unescape(spelled[1:-1]) == value
    assert "\n" not in spelled
    assert canonical_string(spelled) == spelled


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=30))
def test_any_written_string_keeps_its_value(body: str) -> None:
    raw = '"' + body.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    assert _unescape(canonical_string(raw)[1:-1]) == _unescape(raw[1:-1])


def test_a_long_string_is_reindented_and_keeps_its_value() -> None:
    text = (
        'pipeline p "P" {\nlead {\n definition """\n'
        "\t\t  first\n\t\t    second\t\n\n\t\t  third\n"
        '            """\n}\n}\n'
    )
    out = formatted(text)
    assert '    definition """\n      first\n        second\t\n\n      third\n    """\n' in out
    check_promises({"x.funnel": text})


def test_a_long_string_that_cannot_be_reindented_is_kept() -> None:
    text = 'pipeline p "P" { lead { definition """one\n   two""" } }'
    assert '"""one\n   two"""' in formatted(text)
    check_promises({"x.funnel": text})


# ---- generated files ---------------------------------------------------------------------------

_IDS = st.sampled_from(["a", "b", "new", "pit", "paid", "lost_", "won_", "x1"])
_NAME_TEXT = st.text(alphabet=st.sampled_from(list("ab Яжё🎉\t\\\"'#{}—\u00a0\u200d")), max_size=8)


@st.composite
def _string(draw: st.DrawFn) -> str:
    # Sometimes a name the lint rules flag, so that suppressions have something to cover.
    value = draw(st.one_of(_NAME_TEXT, st.sampled_from(["Готовим КП", "Звоним клиенту"])))
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def _attribute(draw: st.DrawFn) -> list[str]:
    kind = draw(st.sampled_from(["goal", "exit", "sla", "probability", "requires", "task"]))
    if kind in ("goal", "exit", "task"):
        return [kind, draw(_string())]
    if kind == "sla":
        return [kind, draw(st.sampled_from(["2d", "30min", "5bd", "1w"]))]
    if kind == "probability":
        return [kind, draw(st.sampled_from(["10%", "0%", "100%"]))]
    items = draw(st.lists(_IDS, min_size=1, max_size=3))
    out = [kind]
    for number, item in enumerate(items):
        out += [item] if number == 0 else [",", item]
    return out


@st.composite
def _stage(draw: st.DrawFn) -> list[str]:
    out = [draw(st.sampled_from(["stage", "stage", "won", "lost"])), draw(_IDS), draw(_string())]
    if out[0] == "stage" and draw(st.booleans()):
        out.append("key")
    if draw(st.booleans()):
        out.append("{")
        if out[0] == "stage":
            for attribute in draw(st.lists(_attribute(), max_size=3)):
                out += attribute
        elif draw(st.booleans()):
            out += ["reasons", draw(_IDS)]
        out.append("}")
    return out


@st.composite
def generated_file(draw: st.DrawFn) -> str:
    """A funnel file (often not a valid funnel, always parseable) built from tokens joined by
    random white space, comments, blank lines and line ends."""
    tokens: list[str] = []
    for _ in range(draw(st.integers(0, 2))):
        tokens += ["field", draw(_IDS), draw(_string()), draw(st.sampled_from(["text", "money"]))]
        if draw(st.booleans()):
            tokens += ["reason", draw(_IDS), draw(_string())]
    tokens += ["pipeline", draw(_IDS), draw(_string()), "{"]
    if draw(st.booleans()):
        tokens += ["segment", draw(_string())]
    if draw(st.booleans()):
        tokens += ["lead", "{", "definition", draw(_string()), "}"]
    tokens += ["deal", "{"]
    for stage in draw(st.lists(_stage(), max_size=4)):
        tokens += stage
    tokens += ["}"]
    if draw(st.booleans()):
        tokens += [draw(_IDS), "->", draw(_IDS)]
    if draw(st.booleans()):
        tokens += ["timeout", "->", draw(_IDS)]
    if draw(st.booleans()):
        tokens += ["revive", draw(_IDS), "->", draw(_IDS), "after", "30d"]
    tokens += ["}"]
    separators = st.sampled_from(
        [
            " ",
            " ",
            " ",
            "  ",
            "\t",
            "\n",
            "\n",
            "\n\n",
            "\n\n\n",
            "\r\n",
            " # note\n",
            "\n# own line\n",
            "\n\n# after a blank\n\n",
            "  # funnelc: allow L001 -- why\n",
            "  # funnelc: allow L003 -- термин\n",
        ]
    )
    out = [draw(st.sampled_from(["", "# head\n", "\n\n"]))]
    for number, token in enumerate(tokens):
        if number:
            out.append(draw(separators))
        out.append(token)
    out.append(draw(st.sampled_from(["", "\n", "\n\n", " # end"])))
    return "".join(out)


_SEPARATORS = st.sampled_from(
    [
        " ",
        " ",
        " ",
        "  ",
        "\t",
        "\n",
        "\n",
        "\n\n",
        "\n\n\n",
        "\r\n",
        " # note\n",
        "\n# own line\n",
        "  # funnelc: allow L003 -- термин\n",
        "  # funnelc: allow in-progress-stage, L004 -- так принято\n",
        "\n# funnelc: allow L003 -- на своей строке\n",
        "\n# funnelc: allow L004 -- перед пустой строкой\n\n",
    ]
)
_STAGE_NAMES = ["Готовим КП", "Звоним клиенту", "Клиент оплатил счёт", "Встреча состоялась"]


@st.composite
def valid_funnel(draw: st.DrawFn) -> str:
    """A funnel that compiles (so the lint rules run over it), with random stage names,
    attributes, layout, comments and suppressions."""
    count = draw(st.integers(1, 4))
    tokens = ["field", "budget", '"Бюджет"', "money", "reason", "no_money", '"Нет денег"']
    tokens += ["pipeline", "p", '"Продажи"', "{"]
    if draw(st.booleans()):
        tokens += ["segment", '"Все"']
    tokens += ["deal", "{"]
    for number in range(count):
        tokens += ["stage", f"s{number}", '"' + draw(st.sampled_from(_STAGE_NAMES)) + '"']
        if number == 0 and draw(st.booleans()):
            tokens.append("key")
        attributes = draw(
            st.lists(
                st.sampled_from(["goal", "exit", "sla", "probability", "requires"]), unique=True
            )
        )
        if attributes:
            tokens.append("{")
            for attribute in attributes:
                value = {
                    "goal": '"Цель"',
                    "exit": '"Выход"',
                    "sla": "2d",
                    "probability": f"{10 * (number + 1)}%",
                    "requires": "budget",
                }
                tokens += [attribute, value[attribute]]
            tokens.append("}")
    tokens += ["won", "paid", '"Оплачено"', "lost", "pit", '"Яма"', "{", "reasons", "no_money", "}"]
    tokens += ["}", "timeout", "->", "pit"]
    if draw(st.booleans()):
        tokens += ["revive", "pit", "->", "s0", "after", "30d"]
    tokens += ["}"]
    out = [tokens[0]]
    for token in tokens[1:]:
        out += [draw(_SEPARATORS), token]
    return "".join(out) + "\n"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_funnel())
def test_generated_funnels_keep_their_lint_findings(text: str) -> None:
    result = funnelc.compile_text(text.replace("\r\n", "\n"), lint=True)
    assert result.ok, [d.message for d in result.diagnostics if d.severity.value == "error"]
    check_promises({"x.funnel": text})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated_file())
def test_generated_files_keep_meaning_and_are_idempotent(text: str) -> None:
    assert not has_syntax_errors(text.replace("\r\n", "\n")), text
    check_promises({"x.funnel": text})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(CORPUS)), st.randoms(use_true_random=False))
def test_horizontal_space_does_not_matter(name: str, rng: Any) -> None:
    """Changing the spaces and tabs between tokens, indentation included (not the line
    breaks, not inside strings or comments), does not change the output."""
    for key, text in CORPUS[name].items():
        pieces = []
        for match in fmt._SCAN.finditer(text):
            if match.lastgroup == "WS":
                lines = match.group(0).split("\n")
                pieces.append("\n".join(rng.choice([" ", "  ", "\t", " \t "]) for _ in lines))
            else:
                pieces.append(match.group(0))
        assert formatted("".join(pieces)) == formatted(text), key


# ---- the command line --------------------------------------------------------------------------

UGLY = 'pipeline p "P" {deal{stage a "А"   won w "W"}}\n'
PRETTY = 'pipeline p "P" {\n  deal {\n    stage a "А"\n    won w "W"\n  }\n}\n'


def invoke(args: list[str], stdin: bytes | None = None) -> Result:
    return CliRunner().invoke(app, args, input=stdin)


def test_fmt_rewrites_changed_files_only(tmp_path: Path) -> None:
    ugly, pretty = tmp_path / "ugly.funnel", tmp_path / "pretty.funnel"
    ugly.write_text(UGLY, encoding="utf-8")
    pretty.write_text(PRETTY, encoding="utf-8")
    ugly.chmod(0o640)
    before = pretty.stat()
    result = invoke(["fmt", str(tmp_path)])
    assert result.exit_code == 0, result.stderr
    assert ugly.read_text(encoding="utf-8") == PRETTY
    assert stat.S_IMODE(ugly.stat().st_mode) == 0o640
    after = pretty.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert "1 file reformatted, 1 file already formatted" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pretty.funnel", "ugly.funnel"]


def test_check_lists_the_files_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "ugly.funnel").write_text(UGLY, encoding="utf-8")
    (tmp_path / "pretty.funnel").write_text(PRETTY, encoding="utf-8")
    result = invoke(["fmt", "--check", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [f"would reformat {(tmp_path / 'ugly.funnel').as_posix()}"]
    assert (tmp_path / "ugly.funnel").read_text(encoding="utf-8") == UGLY
    assert invoke(["fmt", "--check", str(tmp_path / "pretty.funnel")]).exit_code == 0


def test_diff_prints_a_unified_diff(tmp_path: Path) -> None:
    path = tmp_path / "ugly.funnel"
    path.write_text(UGLY, encoding="utf-8")
    result = invoke(["fmt", "--diff", str(path)])
    assert result.exit_code == 1
    assert result.stdout.startswith(f"--- a/{path.as_posix()}\n+++ b/{path.as_posix()}\n@@")
    assert "-" + UGLY in result.stdout and '+    stage a "А"\n' in result.stdout
    assert path.read_text(encoding="utf-8") == UGLY


def test_stdin_to_stdout() -> None:
    result = invoke(["fmt", "-"], UGLY.encode("utf-8"))
    assert result.exit_code == 0
    assert result.stdout_bytes == PRETTY.encode("utf-8")
    check = invoke(["fmt", "--check", "-"], UGLY.encode("utf-8"))
    assert (check.exit_code, check.stdout) == (1, "")
    assert invoke(["fmt", "--check", "-"], PRETTY.encode("utf-8")).exit_code == 0


def test_stdin_with_a_syntax_error() -> None:
    result = invoke(["fmt", "-"], b'pipeline p "P" { deal { stage a A } }\n')
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "error[F001]" in result.stderr and "<stdin>:1:" in result.stderr


def test_a_file_with_syntax_errors_is_left_alone(tmp_path: Path) -> None:
    bad, good = tmp_path / "bad.funnel", tmp_path / "good.funnel"
    bad.write_text('pipeline p "P" {deal{stage a A}}\n', encoding="utf-8")
    good.write_text(UGLY, encoding="utf-8")
    result = invoke(["fmt", str(tmp_path)])
    assert result.exit_code == 1
    assert "error[F001]" in result.stderr
    assert bad.read_text(encoding="utf-8") == 'pipeline p "P" {deal{stage a A}}\n'
    assert good.read_text(encoding="utf-8") == PRETTY


def test_crlf_stays_crlf_and_a_bom_is_dropped(tmp_path: Path) -> None:
    crlf, bom = tmp_path / "crlf.funnel", tmp_path / "bom.funnel"
    crlf.write_bytes(UGLY.replace("\n", "\r\n").encode("utf-8"))
    bom.write_bytes(b"\xef\xbb\xbf" + PRETTY.encode("utf-8"))
    assert invoke(["fmt", str(tmp_path)]).exit_code == 0
    assert crlf.read_bytes() == PRETTY.replace("\n", "\r\n").encode("utf-8")
    assert bom.read_bytes() == PRETTY.encode("utf-8")
    assert invoke(["fmt", "--check", str(tmp_path)]).exit_code == 0


def test_a_symlink_stays_a_link(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    real = tmp_path / "data" / "real.funnel"
    real.write_text(UGLY, encoding="utf-8")
    link = tmp_path / "link.funnel"
    link.symlink_to(real)
    assert invoke(["fmt", str(link)]).exit_code == 0
    assert link.is_symlink()
    assert real.read_text(encoding="utf-8") == PRETTY


def test_a_failed_write_is_reported_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ugly.funnel"
    path.write_text(UGLY, encoding="utf-8")

    def refuse(self: Path, target: object) -> Path:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "replace", refuse)
    result = invoke(["fmt", str(path)])
    assert result.exit_code == 1
    assert "error[F605]" in result.stderr and "Permission denied" in result.stderr
    assert path.read_text(encoding="utf-8") == UGLY
    assert [p.name for p in tmp_path.iterdir()] == ["ugly.funnel"]


def test_a_file_that_is_not_utf8_is_reported_as_check_reports_it(tmp_path: Path) -> None:
    path = tmp_path / "cp1251.funnel"
    data = 'pipeline p "Продажи" { }\n'.encode("cp1251")
    path.write_bytes(data)
    result = invoke(["fmt", str(tmp_path)])
    check = invoke(["check", str(tmp_path)])
    assert result.exit_code == 1
    code = re.search(r"error\[(F5\d\d)\]", check.stderr)
    assert code is not None and f"error[{code.group(1)}]" in result.stderr
    assert path.read_bytes() == data


def test_usage_errors(tmp_path: Path) -> None:
    assert invoke(["fmt", "-", str(tmp_path)]).exit_code == 2
    result = invoke(["fmt", str(tmp_path / "missing.funnel")])
    assert result.exit_code == 1 and "F504" in result.stderr


def test_the_meaning_check_can_fail() -> None:
    """Guards the promises above: what they compare does change with a name, a comment or the
    line a suppression sits on."""
    base = (
        'pipeline p "P" {\n  deal {\n    stage preparing "Готовим КП" { sla 2d }\n'
        '    won w "W"\n    lost pit "Яма"\n  }\n  timeout -> pit\n}\n'
    )
    renamed = base.replace("Готовим КП", "Готовим  КП")
    assert meaning({"x.funnel": renamed}) != meaning({"x.funnel": base})
    allow = "  # funnelc: allow L003 -- термин\n"
    suppressed = base.replace("{ sla 2d }\n", "{ sla 2d }" + allow)
    moved = base.replace('"W"\n', '"W"' + allow)
    assert meaning({"x.funnel": suppressed}) != meaning({"x.funnel": moved})
    assert comments(suppressed) != comments(base)
    assert tokens(renamed) != tokens(base)


def test_diff_of_stdin() -> None:
    result = invoke(["fmt", "--diff", "-"], UGLY.encode("utf-8"))
    assert result.exit_code == 1
    assert result.stdout.startswith("--- a/<stdin>\n+++ b/<stdin>\n")
    assert invoke(["fmt", "--diff", "-"], PRETTY.encode("utf-8")).stdout == ""


def test_the_formatter_refuses_to_change_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    """The last check before anything is written: a printer that lost a token is a bug, and
    it stops the formatter instead of reaching the file."""
    monkeypatch.setattr(fmt._Printer, "spell", lambda self, token: token.text.replace("W", "V"))
    with pytest.raises(fmt.FormatterError):
        format_text(UGLY)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_randomly_edited_examples(case: tuple[dict[str, str], str]) -> None:
    """The examples broken by random edits (test_robustness): a result that still parses keeps
    its meaning and formats idempotently; one that does not is refused with the parser's
    diagnostics."""
    files, key = case
    text = files[key]
    if has_syntax_errors(text):
        result = format_text(text, "x.funnel")
        assert result.text is None
        normal = text.replace("\r\n", "\n").replace("\r", "\n")  # as the loader reads it
        assert result.diagnostics == parse(SourceFile("x.funnel", normal)).diagnostics
    else:
        check_promises(files)


def test_a_construct_the_printer_does_not_know() -> None:
    """A statement and a terminal the grammar may gain (here `locale ru-RU` in a pipeline,
    with `=>` as new punctuation) are printed from the parser's own tokens, one statement per
    line, with the author's spacing around unknown punctuation."""
    from lark import Lark

    from funnelc.resources import grammar_path

    grammar = grammar_path().read_text(encoding="utf-8")
    grammar = grammar.replace("_pipeline_item: segment", "_pipeline_item: locale\n| segment")
    grammar += '\nlocale: "locale" LOCALE ("=>" ID)?\nLOCALE.3: /[a-z]{2}-[A-Z]{2}/\n'
    parser = Lark(grammar, parser="lalr", lexer="contextual", propagate_positions=True)
    text = 'pipeline p "P" {  locale   ru-RU =>x # lang\n deal { stage a "A" } }'
    tree = parser.parse(text)
    [comment] = [t for t in fmt._tokens(text) if t.kind == "COMMENT"]
    out = fmt._Printer(text, tree, [comment]).run()
    assert out == (
        'pipeline p "P" {\n  locale ru-RU =>x' + " " * 30 + "# lang\n"
        '  deal {\n    stage a "A"\n  }\n}\n'
    )
