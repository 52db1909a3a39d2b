"""Robustness: whatever text it is given, the compiler answers with diagnostics, never a crash.

Property tests (hypothesis) feed the compiler random text, soups of the language's own tokens,
and valid files broken by random edits (slices deleted, duplicated or swapped, tokens inserted,
truncation).  For every input: no exception; the result is ok or carries an error; each
diagnostic's code is in the catalogue and each span lies inside its file's text; both
renderers handle every diagnostic, and the human one draws the primary span's line with a
caret under the right column.

Then determinism: compiling and emitting twice gives the same bytes, in one process and across
processes with different hash seeds; and the outputs do not depend on where the project sits
on disk.  Paths in diagnostics and in the json target's ``source.file`` are relative to the
working directory (that is what people click on in a terminal), so a different working
directory may change those strings, and only those.

Last, parser recovery: independent syntax errors on different lines are reported one each.

Budgets (``max_examples``) keep the file well under a minute on two cores.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import funnelc
from funnelc.build import emit_all
from funnelc.codes import CODES
from funnelc.compiler import Result
from funnelc.diagnostics import Diagnostic, has_errors
from funnelc.emit import EmitOptions
from funnelc.render import char_width, expand_line, render_human, render_json, render_one
from funnelc.source import SourceFile, Span
from tests.conftest import EXAMPLES, ROOT
from tests.test_build import (
    SAMPLE_COMMON,
    SAMPLE_MAIN,
    SAMPLE_UPSELL,
    available_targets,
    snapshot,
    write_project,
)

# --- inputs ----------------------------------------------------------------------------------

BUILTIN = SAMPLE_COMMON + SAMPLE_MAIN.replace('import "common.funnel"\n', "") + SAMPLE_UPSELL
"""One self-contained valid file (the sample project of ``test_build`` without its import)."""


def _example_sets() -> list[dict[str, str]]:
    """Sets of files that compile together: the built-in sample, and examples/ if present.

    Keys are paths relative to ``examples/``, so ``import "shared/common.funnel"`` finds its
    file among the keys (``compile_texts`` resolves imports against them).
    """
    sets = [{"sample.funnel": BUILTIN}]
    files = sorted(EXAMPLES.rglob("*.funnel")) if EXAMPLES.is_dir() else []
    if files:
        sets.append(
            {p.relative_to(EXAMPLES).as_posix(): p.read_text(encoding="utf-8") for p in files}
        )
    return sets


EXAMPLE_SETS = _example_sets()

KEYWORDS = [
    "import", "field", "reason", "pipeline", "segment", "lead", "definition", "accept", "stage",
    "key", "deal", "goal", "exit", "requires", "sla", "probability", "task", "color", "colour",
    "timeout", "then", "won", "lost", "next", "reasons", "revive", "after",
    "text", "textarea", "number", "money", "date", "datetime", "bool", "choice", "multichoice",
    "phone", "email", "url",
]  # fmt: skip

VOCABULARY = [
    *KEYWORDS,
    "{", "}", "(", ")", ",", ".", "->", "→", ":", ";", "=", "#", "# комментарий\n", "%",
    '"x"', '""', '"Привет, мир"', '"\\""', '"\\\\"', '"\\u0416"', '"\\q"', '"\\u12"', '"',
    '"не закрыта', '"""', '"""много\n  строк"""', '"""\\"""', "'x'", "«x»", "“x”",
    "2h", "30min", "3d", "2w", "5bd", "0d", "2", "3x", "30%", "-5%", "101%", "0%", "1.5d",
    "99999999999999999999d", "a", "b2b", "new", "pit", "upsell.new", "x.y.z", "_", "Этап",
    "😀", "👩‍💼", "日本", "e\u0301", "\t", "\n", "\r\n", "\r", "\x00", "\x0c", "\ufeff",
    "\u200b", "\u2028", "\x85", " ",
]  # fmt: skip
"""Tokens of the language and the usual ways to get them wrong.  Lone surrogates are left out:
they cannot occur in a UTF-8 file, which is all the compiler ever reads."""

TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=400)
IDENT = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
SOUP = st.lists(
    st.tuples(st.one_of(st.sampled_from(VOCABULARY), IDENT), st.sampled_from(["", " ", "\n"])),
    max_size=80,
).map(lambda parts: "".join(token + gap for token, gap in parts))


@st.composite
def mutated(draw: st.DrawFn) -> tuple[dict[str, str], str]:
    """A set of valid files with one of them broken by 1–5 random edits; returns (set, key)."""
    files = dict(draw(st.sampled_from(EXAMPLE_SETS)))
    key = draw(st.sampled_from(sorted(files)))
    text = files[key]
    for _ in range(draw(st.integers(1, 5))):
        n = len(text)
        a = draw(st.integers(0, n))
        b = draw(st.integers(a, min(n, a + 80)))
        operation = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "truncate"]))
        if operation == "delete":
            text = text[:a] + text[b:]
        elif operation == "duplicate":
            text = text[:b] + text[a:b] + text[b:]
        elif operation == "swap":
            c = draw(st.integers(b, n))
            d = draw(st.integers(c, min(n, c + 80)))
            text = text[:a] + text[c:d] + text[b:c] + text[a:b] + text[d:]
        elif operation == "insert":
            token = draw(st.one_of(st.sampled_from(VOCABULARY), IDENT))
            text = text[:a] + token + text[a:]
        else:
            text = text[:a]
    files[key] = text
    return files, key


# --- what every result must satisfy ----------------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _span_inside(span: Span, sources: Mapping[str, SourceFile]) -> None:
    assert span.path in sources, f"span points into unknown file {span.path!r}"
    length = len(sources[span.path].text)
    assert 0 <= span.start <= span.end <= length, (span, length)


def _check_caret(d: Diagnostic, sources: Mapping[str, SourceFile], rendered: str) -> None:
    """The primary line is drawn with carets starting under the span's first character."""
    assert d.span is not None
    source = sources[d.span.path]
    position = source.position(d.span.start)
    assert 1 <= position.line <= source.line_count
    assert f"--> {d.span.path}:{position.line}:{position.column}\n" in rendered
    line = source.line_text(position.line)
    before = expand_line(line[: position.column - 1])
    expected_column = sum(char_width(c) for c in before)
    rows = rendered.split("\n")
    for number_row, underline in itertools.pairwise(rows):
        gutter = number_row.split(" |", 1)[0]
        if gutter.strip() != str(position.line) or "^" not in underline:
            continue
        prefix = len(gutter) + len(" | ")
        assert underline.index("^") - prefix == expected_column, (number_row, underline)
        end = source.position(d.span.end)
        if end.line == position.line:
            # As many carets as the span is wide on screen (at least one).
            through = expand_line(line[: end.column - 1])
            width = max(sum(char_width(c) for c in through) - expected_column, 1)
            carets = underline[prefix + expected_column :]
            assert carets[:width] == "^" * width and carets[width : width + 1] != "^", underline
        assert number_row[prefix:] == expand_line(line).rstrip()
        return
    pytest.fail(f"no caret line for line {position.line} in:\n{rendered}")


def check_result(result: Result, texts: Mapping[str, str]) -> None:
    """Everything that must hold for any compile result (see the module docstring)."""
    assert result.ok or has_errors(result.diagnostics)
    assert (result.project is not None) == result.ok
    for path, text in texts.items():
        if path in result.sources:
            normalised = text.replace("\r\n", "\n").replace("\r", "\n")
            assert result.sources[path].text == normalised
    for d in result.diagnostics:
        assert d.code in CODES, d.code
        assert d.message
        if d.span is not None:
            _span_inside(d.span, result.sources)
        for label in d.labels:
            _span_inside(label.span, result.sources)
        plain = render_one(d, result.sources)
        coloured = render_one(d, result.sources, color=True)
        assert ANSI.sub("", coloured) == plain
        first = plain.split("\n", 1)[0]
        assert first.startswith(f"{d.severity.value}[{d.code}]: ")
        if d.span is not None:
            _check_caret(d, result.sources, plain)
    human = render_human(result.diagnostics, result.sources)
    assert human.count("\n") >= len(result.diagnostics)
    data = json.loads(render_json(result.diagnostics, result.sources))
    assert len(data) == len(result.diagnostics)
    for item, d in zip(data, result.diagnostics, strict=True):
        assert item["code"] == d.code
        if d.span is None:
            assert item["location"] is None
        else:
            location = item["location"]
            assert location["start"]["offset"] == d.span.start
            assert location["end"]["offset"] == d.span.end
            source = result.sources[d.span.path]
            assert 1 <= location["start"]["line"] <= location["end"]["line"] <= source.line_count


def compile_and_check(text: str) -> Result:
    result = funnelc.compile_text(text)
    check_result(result, {"<input>.funnel": text})
    return result


FAST = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- properties: never a crash ---------------------------------------------------------------


@FAST
@given(TEXT)
@example("")
@example("\ufeff")
@example("\x00")
@example('"')
@example('"""')
@example("{" * 3000)
@example("pipeline p " + '"P" {' * 500)
@example("\t\tpipeline\tp\t«P»\t{")
def test_random_text_never_crashes(text: str) -> None:
    compile_and_check(text)


@FAST
@given(SOUP)
@example('pipeline p "P" { deal { stage a "A" { sla 2d } won w "W" lost l "L" } timeout -> l }')
@example('import "x.funnel" import "x.funnel" pipeline p "P" {}')
@example('pipeline p "P" { deal { stage a "A" { requires a, } } }')
@example('pipeline p "P" { revive a -> b.c.d after 2d "x" }')
def test_token_soup_never_crashes(text: str) -> None:
    compile_and_check(text)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_sources_never_crash(case: tuple[dict[str, str], str]) -> None:
    files, _ = case
    result = funnelc.compile_texts(files)
    check_result(result, files)


@pytest.mark.parametrize("files", EXAMPLE_SETS, ids=lambda files: sorted(files)[0])
def test_unmutated_sets_compile(files: dict[str, str]) -> None:
    """Guards the property above: its starting points are valid, so mutations matter."""
    result = funnelc.compile_texts(files)
    assert result.ok, render_human(result.diagnostics, result.sources)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.binary(max_size=200) | mutated().map(lambda case: case[0][case[1]].encode("utf-8")),
    st.sampled_from(["", "bom", "crlf", "cr"]),
)
def test_files_on_disk_never_crash(data: bytes, variant: str) -> None:
    """Through the file reader: any bytes, a BOM, CRLF and lone CR line ends."""
    if variant == "bom":
        data = b"\xef\xbb\xbf" + data
    elif variant == "crlf":
        data = data.replace(b"\n", b"\r\n")
    elif variant == "cr":
        data = data.replace(b"\n", b"\r")
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "input.funnel"
        path.write_bytes(data)
        result = funnelc.compile([path])
        for d in result.diagnostics:
            assert d.code in CODES
            if d.span is not None:
                _span_inside(d.span, result.sources)
                _check_caret(d, result.sources, render_one(d, result.sources))
        json.loads(render_json(result.diagnostics, result.sources))
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            assert [d.code for d in result.diagnostics] == ["F508"]


@pytest.mark.parametrize(
    "text",
    [
        'pipeline p "P" { deal { stage a "A" { sla %sd } won w "W" lost l "L" } timeout -> l }',
        'pipeline p "P" { deal { stage a "A" { probability %s%% } won w "W" lost l "L" } }',
        'pipeline p "P" { deal { stage a "A" { sla 2d } won w "W" lost l "L" } timeout -> l '
        "revive l -> a after %sd }",
    ],
    ids=["sla", "probability", "revive-delay"],
)
def test_huge_numbers_are_diagnostics(text: str) -> None:
    compile_and_check(text % ("9" * 4301))


@pytest.mark.parametrize("path", ["a\\nb.funnel", "\\u001b[2J\\u001b[31mred.funnel"])
def test_human_output_has_no_control_characters_from_the_input(path: str) -> None:
    # A `"""` string: in a `"` one a backslash is taken for a Windows separator (F007).  A line
    # break may be in a string; an escape character is F005, and the path is looked up anyway.
    result = funnelc.compile_text(f'import """{path}"""\n')
    found = [d for d in result.diagnostics if d.code == "F502"]
    assert [d.code for d in result.diagnostics if d.code != "F005"] == ["F502"]
    rendered = render_human(found, result.sources)
    controls = [c for c in rendered if unicodedata.category(c) == "Cc" and c != "\n"]
    assert controls == []
    assert rendered.split("\n", 1)[0].endswith("`")


@pytest.mark.parametrize("char", ["\u3000", "\U00018cd6"], ids=["U+3000", "U+18CD6"])
def test_caret_after_a_wide_unprintable_character(char: str) -> None:
    text = f'pipeline p "x{char}y" {{ deal {{ stage a A }} }}\n'
    result = funnelc.compile_text(text)
    [d] = result.diagnostics
    rows = render_one(d, result.sources).split("\n")
    [index] = [i for i, row in enumerate(rows) if row.startswith("1 | ")]
    assert rows[index + 1].index("^") == rows[index].index(" A ") + 1


# --- determinism -----------------------------------------------------------------------------


def _emit(result: Result, targets: list[str]) -> dict[str, bytes]:
    assert result.ok and result.project is not None
    built = emit_all(result.project, targets, EmitOptions())
    assert not built.diagnostics
    return dict(built.files)


@pytest.mark.parametrize("files", EXAMPLE_SETS, ids=lambda files: sorted(files)[0])
def test_compile_and_emit_twice_gives_identical_bytes(files: dict[str, str]) -> None:
    targets = available_targets()
    first = funnelc.compile_texts(files)
    second = funnelc.compile_texts(dict(reversed(list(files.items()))))
    assert first.diagnostics == second.diagnostics
    assert _emit(first, targets) == _emit(second, targets) == _emit(first, targets)


def _copy_examples(destination: Path) -> Path:
    if EXAMPLES.is_dir() and any(EXAMPLES.rglob("*.funnel")):
        shutil.copytree(EXAMPLES, destination)
    else:
        write_project(destination)
    return destination


def _build_files(cwd: Path, inputs: list[str], targets: list[str]) -> dict[str, bytes]:
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        return _emit(funnelc.compile(inputs), targets)
    finally:
        os.chdir(previous)


def test_outputs_do_not_depend_on_where_the_project_is(tmp_path: Path) -> None:
    """The same project at two absolute locations, built the same way: the same bytes."""
    targets = available_targets()
    one = _copy_examples(tmp_path / "one" / "project")
    two = _copy_examples(tmp_path / "somewhere" / "else" / "entirely")
    assert _build_files(one, ["."], targets) == _build_files(two, ["."], targets)


def _files_named(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {value["file"]} if isinstance(value.get("file"), str) else set()
        return found.union(*(_files_named(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_files_named(v) for v in value))
    return set()


def test_working_directory_changes_nothing(tmp_path: Path) -> None:
    """From the project's parent, every output is the same bytes: ``source.file`` is relative
    to the project root (here the inputs' root), not to the working directory."""
    targets = available_targets()
    project = _copy_examples(tmp_path / "project")
    inside = _build_files(project, ["."], targets)
    outside = _build_files(tmp_path, ["project"], targets)
    assert inside == outside
    for name in inside:
        if name.startswith("json/"):
            for path in _files_named(json.loads(inside[name])):
                assert not Path(path).is_absolute() and "\\" not in path
                assert (project / path).is_file()


def test_bytes_do_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    """Two processes with different ``PYTHONHASHSEED`` (set order, dict-of-set order) agree."""
    targets = available_targets()
    project = _copy_examples(tmp_path / "project")
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / f"out{seed}"
        args = [sys.executable, "-m", "funnelc", "build", ".", "-o", str(out)]
        for target in targets:
            args += ["-t", target]
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(args, cwd=project, env=env, capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
        outputs.append({k: v[0] for k, v in snapshot(out).items()})
        check = subprocess.run(
            [sys.executable, "-m", "funnelc", "check", "-f", "json", "."],
            cwd=ROOT / "tests" / "errors" if (ROOT / "tests" / "errors").is_dir() else project,
            env=env,
            capture_output=True,
            timeout=300,
        )
        outputs[-1]["<check>"] = check.stdout
    assert outputs[0] == outputs[1]


# --- parser recovery -------------------------------------------------------------------------

RECOVERY_SAMPLE_STAGES = 6


def _pipeline_with(broken: Mapping[int, str]) -> str:
    """A valid pipeline with one stage per line (lines 3–8); ``broken`` replaces some."""
    lines = ['pipeline p "Воронка" {', "  deal {"]
    for k in range(RECOVERY_SAMPLE_STAGES):
        default = '    stage sK "Этап K" { sla 2d }'
        lines.append(broken.get(k, default).replace("K", str(k)))
    lines += ['    won w "Оплачено"', '    lost l "Потеряно"', "  }", "  timeout -> l", "}", ""]
    return "\n".join(lines)


# Mistakes confined to one line that leave the braces balanced.  (An invalid escape such as
# `"\\q"` is F004, found when lowering, which runs only on a file that parsed.)
LINE_MISTAKES = [
    '    stage sK "Этап K" { sla 2 }',
    '    stage sK "Этап K" { sla 2d; }',
    "    stage sK Этап { sla 2d }",
    '    stage sK "Этап K" { probability 30 }',
    '    stage sK "Этап K" { requires a b }',
    '    stage "Этап K" { sla 2d }',
    "    stage sK 'Этап' { sla 2d }",
    '    stage sK "Этап K" { goal: "x" }',
    '    stage sK "Этап K" { sla = 2d }',
    '    stage sK "Этап K" { exit "x" "y" }',
    '    stage sK "Этап K" { sla 2d } key',
    '    stage sK "Этап K" { then }',
    '    stage sK "Этап K" { timeout l }',
    '    stage sK { sla 2d }',
    '    stage sK "Этап K" { sla 3x }',
    '    stage sK "Этап K" { sla 2d } →',
    '    stage sK "Этап K" { next a.b }',
    '    stage 1sK "Этап K" { sla 2d }',
]  # fmt: skip


def _syntax_lines(text: str) -> list[tuple[str, int]]:
    result = funnelc.compile_text(text)
    source = result.sources["<input>.funnel"]
    return [
        (d.code, source.position(d.span.start).line if d.span else 0) for d in result.diagnostics
    ]


def test_three_independent_syntax_errors_give_three_diagnostics() -> None:
    text = _pipeline_with(
        {
            0: '    stage sK "Этап K" { sla 2 }',  # a duration without unit
            2: '    stage sK "Этап K" { requires a b }',  # a list without commas
            4: "    stage sK Этап { sla 2d }",  # an unquoted Cyrillic name
        }
    )
    assert _syntax_lines(text) == [("F002", 3), ("F001", 5), ("F002", 7)]


@settings(max_examples=120, deadline=None)
@given(
    st.sets(st.integers(0, RECOVERY_SAMPLE_STAGES - 1), min_size=3, max_size=3),
    st.lists(st.sampled_from(LINE_MISTAKES), min_size=3, max_size=3),
)
def test_independent_line_mistakes_are_reported_once_each(
    lines: set[int], mistakes: list[str]
) -> None:
    broken = dict(zip(sorted(lines), mistakes, strict=True))
    reported = _syntax_lines(_pipeline_with(broken))
    assert [line for _, line in reported] == [k + 3 for k in sorted(lines)], reported
    assert {code for code, _ in reported} <= {"F001", "F002"}


def test_unterminated_strings_on_adjacent_lines_are_each_reported() -> None:
    broken = dict.fromkeys((1, 2, 3), '    stage sK "Этап K { sla 2d }')
    assert _syntax_lines(_pipeline_with(broken)) == [("F003", 4), ("F003", 5), ("F003", 6)]


def test_missing_stage_keyword_does_not_cascade() -> None:
    broken = {1: '    sK "Этап K" { sla 2d }'}
    assert _syntax_lines(_pipeline_with(broken)) == [("F001", 4)]
