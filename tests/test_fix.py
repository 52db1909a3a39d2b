"""``funnelc check --fix``: the fixes diagnostics carry, applied in rounds.

What is promised (issue 10, "Must show 2"): a file with fixable findings is repaired so that a
second ``check`` no longer reports them, and nothing changes beyond what each fix says — the
compiled model differs only in the attribute the fix set (compared with that attribute masked)
and no token outside the fix's edits changes.  A property over randomly edited examples: fixing
never raises and never leaves errors of codes the file did not have.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

import funnelc
from funnelc.diagnostics import Applicability, Diagnostic, Fix, TextEdit
from funnelc.fixes import apply, choose, edit_distance, fix_texts
from funnelc.lint.engine import LintConfig
from funnelc.lint.engine import lint as run_lint
from funnelc.loader import load_texts
from funnelc.resolve import resolve
from funnelc.source import Span
from funnelc.validate import validate
from tests.test_fixes import BASE
from tests.test_fmt import _strip, tokens
from tests.test_robustness import EXAMPLE_SETS, mutated

ALL_LINT = LintConfig(preset="strict")

# BASE (tests/test_fixes.py) with findings of every kind that has a fix: two typos in one line
# (safe), a stage name that names a process, a stage without an exit criterion and without an
# SLA (unsafe), all among Cyrillic text, so that character and byte offsets differ.
BROKEN = (
    BASE.replace("  qualified -> signed\n", "  qualifeid -> sigend\n")
    .replace("      requires budget\n", "      requires budjet\n")
    .replace('{ goal "Готов платить"  exit "Счёт выставлен"  sla 3d }', '{ goal "Готов платить" }')
    .replace('"Договор подписан"', '"Подписание договора"')
)
SAFE_FIXED = BROKEN.replace("qualifeid -> sigend", "qualified -> signed").replace(
    "requires budjet", "requires budget"
)
ALL_FIXED = SAFE_FIXED.replace(
    'stage signed "Подписание договора" key { goal "Готов платить" }',
    'stage signed "Договор подписан" key { goal "Готов платить"  exit "TODO"  sla 5d }',
)
FIXED_CODES = {"F102", "F103", "L001", "L004", "L006"}


def invoke(args: list[str]) -> Result:
    return CliRunner().invoke(app(), args)


def app() -> Any:
    from funnelc.cli import app as typer_app

    return typer_app


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory with no funnelc.toml above it, as the working directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def reported(path: Path) -> set[str]:
    """The codes a plain `funnelc check` reports (with every rule selected)."""
    result = funnelc.compile([path], lint=ALL_LINT)
    return {d.code for d in result.diagnostics}


def test_the_broken_file_has_what_the_fixes_fix() -> None:
    assert BROKEN != BASE
    assert {"F102", "F103"} <= {
        d.code for d in funnelc.compile_text(BROKEN, "b.funnel").diagnostics
    }
    assert {"L001", "L004", "L006"} <= {
        d.code for d in funnelc.compile_text(SAFE_FIXED, "b.funnel", lint=ALL_LINT).diagnostics
    }
    assert not reported_text(ALL_FIXED) & FIXED_CODES


def reported_text(text: str) -> set[str]:
    return {d.code for d in funnelc.compile_text(text, "b.funnel", lint=ALL_LINT).diagnostics}


# ---- the command line -------------------------------------------------------------------------


def write_config(root: Path) -> None:
    (root / "funnelc.toml").write_text('[lint]\npreset = "strict"\n', encoding="utf-8")


def test_fix_applies_the_safe_fixes_and_a_second_check_is_clean_of_them(project: Path) -> None:
    write_config(project)
    path = project / "b.funnel"
    path.write_text(BROKEN, encoding="utf-8")
    result = invoke(["check", "--fix", "b.funnel"])
    assert path.read_text(encoding="utf-8") == SAFE_FIXED, result.stderr
    assert "3 fixes applied, 1 file changed" in result.stderr
    assert "3 more are fixable with `--unsafe-fixes`" in result.stderr
    # What remains are lint warnings, errors of no kind: exit 0, and a second check agrees.
    assert result.exit_code == 0, result.stderr
    again = invoke(["check", "b.funnel"])
    assert again.exit_code == 0
    assert "F102" not in again.stderr and "F103" not in again.stderr
    assert {"L001", "L004", "L006"} <= set(re.findall(r"warning\[(L\d+)\]", again.stderr))


def test_unsafe_fixes_repair_the_rest(project: Path) -> None:
    write_config(project)
    path = project / "b.funnel"
    path.write_text(BROKEN, encoding="utf-8")
    result = invoke(["check", "--fix", "--unsafe-fixes", "b.funnel"])
    assert path.read_text(encoding="utf-8") == ALL_FIXED, result.stderr
    assert "6 fixes applied, 1 file changed" in result.stderr
    assert "--unsafe-fixes" not in result.stderr
    again = invoke(["check", "b.funnel"])
    assert not set(re.findall(r"\[([FL]\d+)\]", again.stderr)) & FIXED_CODES, again.stderr
    assert not reported(path) & FIXED_CODES
    # Nothing is left to fix: a second --fix changes nothing and writes nothing.
    before = path.stat()
    third = invoke(["check", "--fix", "--unsafe-fixes", "b.funnel"])
    assert "0 fixes applied, 0 files changed" in third.stderr
    assert path.stat().st_mtime_ns == before.st_mtime_ns


def test_diff_writes_nothing_and_shows_the_fixes(project: Path) -> None:
    path = project / "b.funnel"
    path.write_text(BROKEN, encoding="utf-8")
    result = invoke(["check", "--diff", "b.funnel"])
    assert result.exit_code == 1
    assert path.read_text(encoding="utf-8") == BROKEN
    assert result.stdout.startswith("--- a/b.funnel\n+++ b/b.funnel\n")
    assert "-  qualifeid -> sigend\n" in result.stdout
    assert "+  qualified -> signed\n" in result.stdout
    assert "3 fixes would be applied" in result.stderr
    unsafe = invoke(["check", "--diff", "--unsafe-fixes", "b.funnel"])
    assert '+    stage signed "Договор подписан" key' in unsafe.stdout
    assert path.read_text(encoding="utf-8") == BROKEN


def test_the_exit_code_says_what_remains(project: Path) -> None:
    path = project / "b.funnel"
    # An unknown stage with no close id has no fix; the typo beside it has one.
    path.write_text(
        BROKEN.replace("  qualifeid -> sigend\n", "  zzzzzz -> signed\n"), encoding="utf-8"
    )
    result = invoke(["check", "--fix", "b.funnel"])
    assert result.exit_code == 1
    assert "error[F102]: unknown stage `zzzzzz`" in result.stderr
    assert "1 problem remains" in result.stderr
    assert "requires budget" in path.read_text(encoding="utf-8")
    strict = invoke(["check", "--fix", "--strict", str(project / "b.funnel")])
    assert strict.exit_code == 1


def test_only_changed_files_are_written_keeping_bom_crlf_and_mode(project: Path) -> None:
    broken, clean = project / "b.funnel", project / "clean.funnel"
    broken.write_bytes(b"\xef\xbb\xbf" + BROKEN.replace("\n", "\r\n").encode("utf-8"))
    broken.chmod(0o640)
    clean.write_text(BASE.replace("pipeline p ", "pipeline q "), encoding="utf-8")
    before = clean.stat()
    result = invoke(["check", "--fix", "."])
    assert "3 fixes applied, 1 file changed" in result.stderr, result.stderr
    assert broken.read_bytes() == b"\xef\xbb\xbf" + SAFE_FIXED.replace("\n", "\r\n").encode()
    assert broken.stat().st_mode & 0o777 == 0o640
    after = clean.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert sorted(p.name for p in project.iterdir()) == ["b.funnel", "clean.funnel"]


def test_a_file_that_is_not_utf8_is_never_rewritten(project: Path) -> None:
    path = project / "b.funnel"
    data = BROKEN.encode("utf-8").replace("Нет бюджета".encode(), "Нет бюджета".encode("cp1251"))
    path.write_bytes(data)
    result = invoke(["check", "--fix", "--unsafe-fixes", "b.funnel"])
    assert result.exit_code == 1
    assert "F508" in result.stderr
    assert path.read_bytes() == data


def test_a_fix_in_an_imported_file(project: Path) -> None:
    (project / "shared").mkdir()
    (project / "shared" / "reasons.funnel").write_text(
        'reason no_budget "Нет бюджета"\n', encoding="utf-8"
    )
    main = BASE.replace('reason no_budget "Нет бюджета"\n', 'import "shared\\\\reasons.funnel"\n')
    (project / "b.funnel").write_text(main, encoding="utf-8")
    result = invoke(["check", "--fix", "b.funnel"])
    assert result.exit_code == 0, result.stderr
    assert (
        (project / "b.funnel")
        .read_text(encoding="utf-8")
        .startswith('import "shared/reasons.funnel"\n')
    )


def test_usage() -> None:
    result = invoke(["check", "--help"])
    assert "--fix" in result.stdout and "--unsafe-fixes" in result.stdout
    assert "--diff" in result.stdout


# ---- one fix at a time: nothing changes beyond it ----------------------------------------------


def _mask(project: Any, stage_id: str, attribute: str) -> Any:
    """The stripped project (positions removed) with one attribute of one stage blanked out,
    wherever the stage appears (the declared modules and the resolved pipelines)."""
    from funnelc.model import EdgeKind, Stage

    index = 1 + [f.name for f in dataclasses.fields(Stage) if f.compare].index(attribute)

    def derived(value: Any) -> bool:
        """The edge an SLA brings with it: its timeout, from the stage to the pit."""
        return (
            attribute == "sla"
            and isinstance(value, tuple)
            and value[:2] == ("Edge", EdgeKind.TIMEOUT)
            and value[2][2] == stage_id
        )

    def walk(value: Any) -> Any:
        if isinstance(value, tuple):
            if value[:1] == ("Stage",) and value[1][1] == stage_id:
                return (*value[:index], "<masked>", *value[index + 1 :])
            return tuple(walk(item) for item in value if not derived(item))
        return value

    return walk(_strip(project))


MASKED = {"L001": "name", "L002": "name", "L003": "name", "L004": "exits", "L006": "sla"}


def assert_only_the_fix_changed(text: str, diagnostic: Diagnostic) -> str:
    """Apply ``diagnostic``'s fix alone and check the promise: the tokens outside its edits are
    the same, and (for a lint fix, where the file compiles before and after) the model is the
    same but for the attribute the fix is about."""
    assert diagnostic.fix is not None
    (edit,) = diagnostic.fix.edits
    after = apply(text, edit.span.path, [diagnostic.fix])
    start, end = edit.span.start, edit.span.end
    assert tokens(after) == tokens(text[:start]) + tokens(edit.new_text) + tokens(text[end:])
    if diagnostic.code in MASKED:
        before_model = funnelc.compile_text(text, edit.span.path).project
        after_model = funnelc.compile_text(after, edit.span.path).project
        assert before_model is not None and after_model is not None
        stage = str(diagnostic.args["stage"])
        attribute = MASKED[diagnostic.code]
        assert _mask(before_model, stage, attribute) == _mask(after_model, stage, attribute)
        assert _strip(before_model) != _strip(after_model)  # the fix did change something
    return after


def test_each_fix_changes_only_what_it_says() -> None:
    text, seen = BROKEN, set()
    for _round in range(10):
        result = funnelc.compile_text(text, "b.funnel", lint=ALL_LINT)
        fixable = [d for d in result.diagnostics if d.fix is not None]
        if not fixable:
            break
        seen.add(fixable[0].code)
        text = assert_only_the_fix_changed(text, fixable[0])
    assert text == ALL_FIXED
    assert seen == FIXED_CODES


def test_an_in_progress_name_gets_the_suggested_result_name() -> None:
    text = BASE.replace('"Договор подписан"', '"Согласование договора в процессе"')
    (diagnostic,) = [
        d
        for d in funnelc.compile_text(text, "b.funnel", lint=ALL_LINT).diagnostics
        if d.code == "L002"
    ]
    assert diagnostic.fix is not None
    assert diagnostic.fix.applicability is Applicability.UNSAFE
    after = assert_only_the_fix_changed(text, diagnostic)
    assert '"Договор согласован"' in after
    assert "L002" not in reported_text(after)


@pytest.mark.parametrize("name", ["В работе", "Сделка в работе", "WIP"])
def test_an_in_progress_name_with_nothing_to_go_on_gets_no_fix(name: str) -> None:
    text = BASE.replace('"Договор подписан"', f'"{name}"')
    (diagnostic,) = [
        d
        for d in funnelc.compile_text(text, "b.funnel", lint=ALL_LINT).diagnostics
        if d.code == "L002"
    ]
    assert diagnostic.fix is None


# ---- the rounds -------------------------------------------------------------------------------


def _fix(text: str, *, unsafe: bool, rounds: int = 10) -> Any:
    first = funnelc.compile_text(text, "b.funnel", lint=ALL_LINT)
    return fix_texts(
        first,
        lambda texts: funnelc.compile_texts(texts, lint=ALL_LINT),
        unsafe=unsafe,
        rounds=rounds,
    )


def test_rounds() -> None:
    run = _fix(BROKEN, unsafe=True)
    assert run.texts["b.funnel"] == ALL_FIXED
    assert run.changed == ["b.funnel"]
    assert run.applied == 6
    # 1: the three typos (the lint waits for them); 2: the name, and of the two insertions at
    # the same place the first; 3: the other.
    assert run.rounds == 3
    assert not {d.code for d in run.result.diagnostics} & FIXED_CODES
    one = _fix(BROKEN, unsafe=True, rounds=1)
    assert one.texts["b.funnel"] == SAFE_FIXED and one.rounds == 1
    assert _fix(BROKEN, unsafe=False).texts["b.funnel"] == SAFE_FIXED


def test_several_fixes_on_one_line_with_cyrillic_before_them() -> None:
    line = '    stage signed "Подписание договора" key { goal "Готов платить" }\n'
    assert line in BROKEN
    run = _fix(SAFE_FIXED, unsafe=True)
    fixed_line = (
        '    stage signed "Договор подписан" key { goal "Готов платить"  exit "TODO"  sla 5d }\n'
    )
    assert run.texts["b.funnel"] == SAFE_FIXED.replace(line, fixed_line)
    # The two typos of `qualifeid -> sigend` are fixed in one round, by character offsets.
    first = funnelc.compile_text(BROKEN, "b.funnel")
    on_line = [d for d in first.diagnostics if d.code == "F102"]
    assert len(on_line) == 2
    assert {d.fix.applicability for d in on_line if d.fix} == {Applicability.SAFE}
    chosen, settled = choose([d.fix for d in on_line if d.fix])
    assert len(chosen) == settled == 2
    assert "  qualified -> signed\n" in apply(BROKEN, "b.funnel", chosen)


def test_choose_defers_what_touches_a_chosen_fix() -> None:
    def fix(start: int, end: int, text: str) -> Fix:
        return Fix((TextEdit(Span("x", start, end), text),), Applicability.SAFE, text)

    a, b, c, d = fix(0, 3, "a"), fix(2, 5, "b"), fix(3, 3, "c"), fix(3, 3, "d")
    chosen, settled = choose([a, b, c, d, a])
    assert chosen == [a, c] and settled == 3  # `b` overlaps `a`, `d` inserts where `c` does
    assert apply("0123456789", "x", chosen) == "ac3456789"


def test_a_fix_that_would_break_the_syntax_is_undone() -> None:
    first = funnelc.compile_text(BROKEN, "b.funnel")
    bad = [
        dataclasses.replace(d, fix=Fix((TextEdit(d.span, "{ {"),), Applicability.SAFE, "break it"))
        if d.span is not None and d.fix is not None
        else d
        for d in first.diagnostics
    ]
    run = fix_texts(
        dataclasses.replace(first, diagnostics=tuple(bad)),
        lambda texts: funnelc.compile_texts(texts),
        unsafe=True,
    )
    assert run.texts["b.funnel"] == BROKEN
    assert run.reverted == ["b.funnel"] and run.changed == [] and run.applied == 0


def test_edit_distance() -> None:
    assert edit_distance("qualifed", "qualified", 2) == 1
    assert edit_distance("no_budgte", "no_budget", 2) == 1  # a swap is one edit
    assert edit_distance("abc", "xyz", 2) == 3
    assert edit_distance("a", "abcdef", 2) == 3


# ---- properties -------------------------------------------------------------------------------


def error_codes_by_pass(files: Mapping[str, str]) -> list[set[str]]:
    """The error codes of each pass that ran (loading, resolve, validate, lint), in the order of
    the passes: the compiler stops after the first one with errors."""
    loaded = load_texts(dict(files))
    found = [{d.code for d in loaded.diagnostics if d.is_error}]
    if found[-1]:
        return found
    project, diagnostics = resolve(loaded.modules, loaded.imports)
    project = dataclasses.replace(project, sources=dict(loaded.sources))
    found.append({d.code for d in diagnostics if d.is_error})
    if found[-1]:
        return found
    found.append({d.code for d in validate(project) if d.is_error})
    if found[-1]:
        return found
    found.append({d.code for d in run_lint(project, ALL_LINT) if d.is_error})
    return found


def check_fixing(files: dict[str, str]) -> Any:
    """Fix ``files`` with every fix; it must not raise, and every pass that ran before has no
    error of a code it did not have (later passes, which the errors kept from running, may
    now report what they find)."""
    first = funnelc.compile_texts(files, lint=ALL_LINT)
    run = fix_texts(first, lambda texts: funnelc.compile_texts(texts, lint=ALL_LINT), unsafe=True)
    before = error_codes_by_pass(files)
    after = error_codes_by_pass(run.texts)
    for index, codes in enumerate(after[: len(before)]):
        assert codes <= before[index], (index, codes - before[index])
    assert not run.reverted
    return run


def _typo(rng: random.Random, word: str) -> str:
    i = rng.randrange(len(word))
    if rng.random() < 0.5 and i + 1 < len(word):
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + word[i + 1 :]


FIXABLE_EDITS = (
    re.compile(r"(?<=-> )\w+"),  # a reference to a stage
    re.compile(r"(?<=requires )\w+"),
    re.compile(r"(?<=reasons )\w+"),
    re.compile(r" *\bsla \d+\w+"),
    re.compile(r' *\bexit "[^"]*"'),
)


@st.composite
def fixable(draw: st.DrawFn) -> dict[str, str]:
    """An example set with 1–3 edits of the kinds fixes repair: a typo in a reference, an SLA
    or exit criterion taken out."""
    files = dict(draw(st.sampled_from(EXAMPLE_SETS)))
    key = draw(st.sampled_from(sorted(files)))
    rng = random.Random(draw(st.integers(0, 2**32)))
    text = files[key]
    for _ in range(draw(st.integers(1, 3))):
        pattern = rng.choice(FIXABLE_EDITS)
        found = list(pattern.finditer(text))
        if not found:
            continue
        m = rng.choice(found)
        replacement = (
            _typo(rng, m.group())
            if m.group()[-1:].isalnum() and "sla" not in m.group() and "exit" not in m.group()
            else ""
        )
        text = text[: m.start()] + replacement + text[m.end() :]
    files[key] = text
    return files


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_fixing_randomly_edited_examples(case: tuple[dict[str, str], str]) -> None:
    files, _key = case
    check_fixing(files)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fixable())
def test_fixing_examples_with_fixable_edits(files: dict[str, str]) -> None:
    run = check_fixing(files)
    # What the fixes are for is gone, unless a guess could not be made.
    left = [d for d in run.result.diagnostics if d.fix is not None]
    assert not left, left


def test_the_fixable_edits_do_give_fixes() -> None:
    """Guards the property above: its edits do produce diagnostics with fixes."""
    rng = random.Random(7)
    fixed = 0
    for files in EXAMPLE_SETS:
        for key, text in files.items():
            for pattern in FIXABLE_EDITS:
                for m in list(pattern.finditer(text))[:2]:
                    is_ref = "sla" not in m.group() and "exit" not in m.group()
                    edited = (
                        text[: m.start()]
                        + (_typo(rng, m.group()) if is_ref else "")
                        + text[m.end() :]
                    )
                    result = funnelc.compile_texts({**files, key: edited}, lint=ALL_LINT)
                    fixed += any(d.fix is not None for d in result.diagnostics)
    assert fixed >= 10


def test_diff_with_a_machine_format_is_a_usage_error(project: Path) -> None:
    (project / "b.funnel").write_text(BROKEN, encoding="utf-8")
    result = invoke(["check", "--diff", "--format", "json", "b.funnel"])
    assert result.exit_code == 2 and result.stdout == ""


def test_fix_with_json_prints_what_remains_as_json(project: Path) -> None:
    import json

    (project / "b.funnel").write_text(BROKEN, encoding="utf-8")
    result = invoke(["check", "--fix", "--format", "json", "b.funnel"])
    remaining = json.loads(result.stdout)
    assert "F102" not in {d["code"] for d in remaining}
    assert "3 fixes applied" in result.stderr
