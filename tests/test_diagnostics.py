"""UI tests for diagnostics: every failing case under ``tests/errors`` and every code's docs.

A case is a ``.funnel`` file (or a folder with a ``main.funnel`` for import problems) whose
first line is ``# expect: F102 …``: the codes the compiler must report, in order.  Its rendered
diagnostics are compared with the snapshot ``tests/errors/<case>.stderr``; ``pytest --bless``
rewrites the snapshots after an intended change.  Problems that cannot be written as a file in
the repository (a file that is not UTF-8, a folder with no ``.funnel`` files, a build whose
renderer fails or whose output cannot be written) are built in a temporary directory by
:data:`RUNTIME_CASES`.

A case whose header also has ``# known-problem: …`` records a bug that is not fixed yet: its
``# expect:`` line says what *should* be reported, its snapshot what is reported today.  It is
an expected failure until the codes match, and then it fails as a reminder to drop the line.

The catalogue, the docs and the cases are kept in step here: every code has a long explanation
in ``docs/codes/`` whose example really produces it, and at least one failing case.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

import funnelc
from funnelc.codes import CODES
from funnelc.codes_targets import TARGET_CODES
from funnelc.compiler import Result
from funnelc.diagnostics import Diagnostic
from funnelc.emit import EmitOptions
from funnelc.i18n import LANGUAGES
from funnelc.render import TAB_WIDTH, render_human, render_json
from funnelc.source import SourceFile
from tests.conftest import ROOT, check_golden
from tests.crm_sim.casefiles import blocks as _blocks
from tests.crm_sim.casefiles import expected_codes
from tests.crm_sim.casefiles import section as _section

ERRORS = ROOT / "tests" / "errors"
DOCS = ROOT / "docs" / "codes"

_KNOWN_PROBLEM = re.compile(r"# known-problem: (.+)$")


# ---- cases ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    name: str
    main: Path
    """The file compiled: the case file itself, or ``main.funnel`` of a case folder."""
    expect: tuple[str, ...]
    known_problem: str | None


def _read_case(name: str, main: Path) -> Case:
    lines = main.read_text(encoding="utf-8").splitlines()
    expect = expected_codes(main, lines)
    known = None
    for line in lines[1:]:
        if not line.startswith("#"):
            break
        problem = _KNOWN_PROBLEM.match(line)
        if problem:
            known = problem.group(1)
    return Case(name, main, expect, known)


def _file_cases() -> list[Case]:
    cases = []
    for entry in sorted(ERRORS.iterdir()):
        if entry.name == "targets":
            continue  # build cases of the CRM targets: tests/test_target_codes.py
        if entry.is_dir():
            cases.append(_read_case(entry.name, entry / "main.funnel"))
        elif entry.suffix == ".funnel":
            cases.append(_read_case(entry.stem, entry))
    return cases


FILE_CASES = _file_cases()


def _snapshot(name: str, result: Result, bless: bool) -> None:
    rendered = render_human(result.diagnostics, result.sources)
    check_golden(ERRORS / f"{name}.stderr", rendered.encode("utf-8"), bless)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in FILE_CASES])
def test_case(case: Case, bless: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = funnelc.compile(case.main.relative_to(ROOT))
    # The snapshot is checked for known problems too, so other changes to them are not hidden.
    _snapshot(case.name, result, bless)
    assert not result.ok and result.project is None
    codes = tuple(d.code for d in result.diagnostics)
    if case.known_problem is None:
        assert codes == case.expect
    elif codes == case.expect:
        pytest.fail(f"{case.name} is fixed: remove its `# known-problem:` line")
    else:
        pytest.xfail(f"{case.known_problem} (reports {' '.join(codes)})")


Rendered = tuple[tuple[Diagnostic, ...], Mapping[str, SourceFile]]


def _compiled(*inputs: str) -> Rendered:
    result = funnelc.compile(list(inputs))
    return result.diagnostics, result.sources


def _not_utf8(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Rendered:
    # A file saved by an old editor in Windows-1251.
    text = '# Причины отказа\nreason no_budget "Нет бюджета"\n'
    (tmp / "reasons.funnel").write_bytes(text.encode("cp1251"))
    return _compiled("reasons.funnel")


def _not_utf8_imported(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Rendered:
    _not_utf8(tmp, monkeypatch)
    (tmp / "main.funnel").write_text('import "reasons.funnel"\n', encoding="utf-8")
    return _compiled("main.funnel")


def _not_utf8_latin1(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Rendered:
    # Latin-1 also decodes as Windows-1251 (é → й), but not into Russian words.
    text = 'reason budget "No budget"\nreason other "Autre raison, déjà vue"\n'
    (tmp / "reasons.funnel").write_bytes(text.encode("latin-1"))
    return _compiled("reasons.funnel")


_SECRET = "FUNNELC_FAKE_SECRET=hunter2-do-not-print"


def _link_outside(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Rendered:
    # A checked-out repository with a link to a file elsewhere (like /proc/self/environ).
    (tmp / "secrets").mkdir()
    (tmp / "secrets" / "environ").write_text(f"{_SECRET}\n", encoding="utf-8")
    (tmp / "funnels").mkdir()
    (tmp / "funnels" / "b2b.funnel").write_text(_VALID, encoding="utf-8")
    (tmp / "funnels" / "x.funnel").symlink_to(tmp / "secrets" / "environ")
    return _compiled("funnels")


def _lone_surrogate(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Rendered:
    # What a language server can receive over JSON-RPC: half of the pair of an emoji.
    text = _VALID.replace("B2B: входящие заявки", "B2B \ud83d входящие")
    result = funnelc.compile_text(text, "b2b.funnel")
    return result.diagnostics, result.sources


def _empty_file(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Rendered:
    (tmp / "b2b.funnel").write_text("\n", encoding="utf-8")
    return _compiled("b2b.funnel")


def _no_pipelines(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Rendered:
    (tmp / "funnels").mkdir()
    (tmp / "funnels" / "reasons.funnel").write_text(
        'reason no_budget "Нет бюджета"\n', encoding="utf-8"
    )
    return _compiled("funnels")


def _no_such_file(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Rendered:
    return _compiled("b2b.funnel")


def _no_input_files(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Rendered:
    (tmp / "pipelines").mkdir()
    (tmp / "pipelines" / "README.md").write_text("Воронки продаж\n", encoding="utf-8")
    return _compiled("pipelines")


def _unknown_target(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Rendered:
    from funnelc.build import check_targets

    return tuple(check_targets(["jsn", "pdf"])), {}


def _invalid_config(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Rendered:
    from funnelc.config import load_config

    (tmp / "funnelc.toml").write_text('targts = ["json", "svg"]\n', encoding="utf-8")
    return tuple(load_config(Path("funnelc.toml"))[1]), {}


def _output_not_written(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Rendered:
    from funnelc.build import build

    (tmp / "build").write_text("not a directory\n", encoding="utf-8")
    project = funnelc.compile_text(_VALID).project
    assert project is not None
    return build(project, ["json"], Path("build"), EmitOptions()).diagnostics, {}


def _link_in_output(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Rendered:
    from funnelc.build import build

    (tmp / "elsewhere").mkdir()
    (tmp / "build").mkdir()
    (tmp / "build" / "json").symlink_to(tmp / "elsewhere", target_is_directory=True)
    project = funnelc.compile_text(_VALID).project
    assert project is not None
    diagnostics = build(project, ["json"], Path("build"), EmitOptions()).diagnostics
    assert list((tmp / "elsewhere").iterdir()) == []
    return diagnostics, {}


_VALID = """\
pipeline b2b "B2B: входящие заявки" {
  deal {
    stage accepted "Лид принят в работу"
    won paid "Оплата получена"
    lost pit "Умиральная яма"
  }
}
"""


def _build_svg(tmp: Path, options: EmitOptions) -> Rendered:
    from funnelc.build import build

    (tmp / "b2b.funnel").write_text(_VALID, encoding="utf-8")
    result = funnelc.compile("b2b.funnel")
    assert result.project is not None
    return build(result.project, ["svg"], Path("build"), options).diagnostics, result.sources


def _renderer_missing(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Rendered:
    monkeypatch.setenv("PATH", str(tmp))  # no `dot` anywhere
    return _build_svg(tmp, EmitOptions(renderer="system"))


def _render_timeout(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Rendered:
    from funnelc import renderer

    def too_slow(argv: list[str], dot: str, timeout: float) -> bytes:
        raise renderer.RenderTimeout(timeout)

    # Waiting a real minute would make the suite slow; the layout "takes forever" instead.
    monkeypatch.setattr(renderer, "run", too_slow)
    return _build_svg(tmp, EmitOptions())


def _checked(tmp: Path, change: Callable[[], None], source: str = _VALID) -> Rendered:
    """``build --check`` of ``b2b.funnel`` against ``build/`` after ``change``."""
    from funnelc.build import build, check_outputs

    (tmp / "b2b.funnel").write_text(_VALID, encoding="utf-8")
    project = funnelc.compile("b2b.funnel").project
    assert project is not None
    build(project, ["json"], Path("build"), EmitOptions())
    change()
    (tmp / "b2b.funnel").write_text(source, encoding="utf-8")
    result = funnelc.compile("b2b.funnel")
    assert result.project is not None
    return check_outputs(result.project, ["json"], Path("build"), EmitOptions()).diagnostics, {}


def _output_stale(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Rendered:
    def edit() -> None:
        (tmp / "build/json/b2b.json").write_text("{}\n", encoding="utf-8")
        manifest = tmp / "build/.funnelc-manifest"
        manifest.unlink()  # committed without it: only the file itself differs

    return _checked(tmp, edit)


def _output_missing(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Rendered:
    return _checked(tmp, lambda: (tmp / "build/.funnelc-manifest").unlink(), _VALID + _UPSELL)


def _output_extra(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Rendered:
    def gone() -> None:
        (tmp / "b2b.funnel").write_text(_VALID + _UPSELL, encoding="utf-8")
        project = funnelc.compile("b2b.funnel").project
        assert project is not None
        from funnelc.build import build

        build(project, ["json"], Path("build"), EmitOptions())

    diagnostics, sources = _checked(tmp, gone)
    return tuple(d for d in diagnostics if d.code == "F672"), sources


_UPSELL = """\
pipeline upsell "Допродажи" {
  deal {
    stage offered "Предложение сделано"
    won paid "Допродажа оплачена"
    lost lost "Допродажа не состоялась"
  }
}
"""


Setup = Callable[[Path, pytest.MonkeyPatch], Rendered]

RUNTIME_CASES: dict[str, tuple[tuple[str, ...], Setup]] = {
    "F504-no-such-file": (("F504",), _no_such_file),
    "F505-no-input-files": (("F505",), _no_input_files),
    "F506-link-outside-root": (("F506",), _link_outside),
    "F507-lone-surrogate": (("F507",), _lone_surrogate),
    "F508-not-utf8-cp1251": (("F508",), _not_utf8),
    "F508-not-utf8-imported": (("F508",), _not_utf8_imported),
    "F508-not-utf8-latin1": (("F508",), _not_utf8_latin1),
    "F509-empty-file": (("F509",), _empty_file),
    "F510-no-pipelines": (("F510",), _no_pipelines),
    "F601-renderer-missing": (("F601",), _renderer_missing),
    "F602-render-timeout": (("F602",), _render_timeout),
    "F603-unknown-target": (("F603", "F603"), _unknown_target),
    "F604-invalid-config": (("F604",), _invalid_config),
    "F605-output-not-written": (("F605",), _output_not_written),
    "F606-link-in-output": (("F606",), _link_in_output),
    "F670-output-stale": (("F670",), _output_stale),
    "F671-output-missing": (("F671",), _output_missing),
    "F672-output-extra": (("F672",), _output_extra),
}
"""Cases built in a temporary directory (the working directory while they run, so paths are
relative): name → (expected codes, setup returning the diagnostics and their sources)."""


@pytest.mark.parametrize("name", sorted(RUNTIME_CASES))
def test_runtime_case(
    name: str, tmp_path: Path, bless: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    expect, setup = RUNTIME_CASES[name]
    monkeypatch.chdir(tmp_path)
    diagnostics, sources = setup(tmp_path, monkeypatch)
    rendered = render_human(diagnostics, sources)
    check_golden(ERRORS / f"{name}.stderr", rendered.encode("utf-8"), bless)
    assert tuple(d.code for d in diagnostics) == expect


# ---- the shape of every rendering ------------------------------------------------------------
def _cell_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _screen_columns(line: str) -> list[int]:
    """The screen column of each character of ``line`` and of the end of the line."""
    columns, current = [], 0
    for char in line:
        columns.append(current)
        current += TAB_WIDTH - current % TAB_WIDTH if char == "\t" else _cell_width(char)
    columns.append(current)
    return columns


def _primary_underline(rendered: str, line_number: int) -> tuple[int, int]:
    """(first screen column, width) of the ``^`` run drawn under source line ``line_number``."""
    lines = rendered.splitlines()
    for index, line in enumerate(lines):
        number = re.match(r"\s*(\d+) \| ", line)
        if number is None or int(number.group(1)) != line_number:
            continue
        under = re.match(r"(\s*\| )( *)(\^+)", lines[index + 1])
        if under is not None:
            return len(under.group(2)), len(under.group(3))
    raise AssertionError(f"no `^` under line {line_number} in:\n{rendered}")


def _check_carets(d: Diagnostic, sources: dict[str, SourceFile]) -> None:
    """The carets cover exactly the characters of the primary span (its first line)."""
    if d.span is None or d.span.path not in sources:
        return
    source = sources[d.span.path]
    start, end = source.position(d.span.start), source.position(d.span.end)
    line = source.line_text(start.line)
    columns = _screen_columns(line)
    first = start.column - 1
    last = end.column - 1 if end.line == start.line else len(line)
    rendered = render_human([d], sources)
    left, width = _primary_underline(rendered, start.line)
    assert left == columns[min(first, len(line))], rendered
    if last > first:
        assert width == columns[min(last, len(line))] - columns[first], rendered


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in FILE_CASES])
def test_carets_sit_under_the_span(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = funnelc.compile(case.main.relative_to(ROOT))
    for d in result.diagnostics:
        _check_carets(d, dict(result.sources))
    rendered = render_human(result.diagnostics, result.sources)
    assert all(line == line.rstrip() for line in rendered.splitlines())


def test_wide_characters_take_two_columns() -> None:
    text = 'pipeline p "🚀 Продажи" { deal { stage a "Этап" { sla 2 } } }\n'
    result = funnelc.compile_text(text, "wide.funnel")
    (d,) = result.diagnostics
    rendered = render_human([d], result.sources)
    left, width = _primary_underline(rendered, 1)
    # The rocket takes two cells, so the caret is one cell right of the character index.
    assert (left, width) == (text.index("2 }") + 1, 1)
    _check_carets(d, dict(result.sources))


# ---- catalogue, docs and cases in step -----------------------------------------------------
DOC_RUNTIME_CASES = {
    "F504": "F504-no-such-file",
    "F505": "F505-no-input-files",
    "F506": "F506-link-outside-root",
    "F507": "F507-lone-surrogate",
    "F508": "F508-not-utf8-cp1251",
    "F509": "F509-empty-file",
    "F510": "F510-no-pipelines",
    "F601": "F601-renderer-missing",
    "F602": "F602-render-timeout",
    "F603": "F603-unknown-target",
    "F604": "F604-invalid-config",
    "F605": "F605-output-not-written",
    "F606": "F606-link-in-output",
    "F670": "F670-output-stale",
    "F671": "F671-output-missing",
    "F672": "F672-output-extra",
}
"""Docs whose example is a command, not a ``.funnel`` file: the runtime case it shows."""


def _covered_codes() -> set[str]:
    covered = {code for case in FILE_CASES if not case.known_problem for code in case.expect}
    # The CRM targets' cases (tests/errors/targets/, run by tests/test_target_codes.py).
    targets = {c for p in (ERRORS / "targets").glob("*.funnel") for c in _read_case("", p).expect}
    return covered | targets | {code for expect, _ in RUNTIME_CASES.values() for code in expect}


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_code_has_docs_and_a_case(code: str) -> None:
    assert (DOCS / f"{code}.md").is_file(), f"docs/codes/{code}.md is missing"
    assert code in _covered_codes(), f"no case under tests/errors expects {code}"


def test_every_docs_file_belongs_to_a_code() -> None:
    # docs/codes/ru/ holds the Russian pages (checked by tests/test_i18n.py).
    languages = {p for p in DOCS.iterdir() if p.is_dir() and p.name in LANGUAGES}
    strays = sorted(
        p.name
        for p in DOCS.iterdir()
        if p not in languages and (p.stem not in CODES or p.suffix != ".md")
    )
    assert not strays, f"docs/codes has files for no code: {strays}"


def test_every_snapshot_belongs_to_a_case() -> None:
    names = {c.name for c in FILE_CASES} | set(RUNTIME_CASES)
    strays = sorted(p.name for p in ERRORS.glob("*.stderr") if p.stem not in names)
    assert not strays, f"snapshots without a case: {strays}"


def test_case_names_start_with_an_expected_code() -> None:
    for case in FILE_CASES:
        assert case.name[:4] in case.expect, case.name
        assert all(code in CODES for code in case.expect), case.name


def test_every_catalogued_syntax_mistake_has_a_case() -> None:
    """Each friendly message of the parser's catalogue is shown by some snapshot, so a grammar
    change that silently stops producing one is noticed."""
    from funnelc.parse import _MISTAKES

    shown = "".join(p.read_text(encoding="utf-8") for p in ERRORS.glob("F00*.stderr"))
    missing = [m for m, _ in _MISTAKES if f"error[F001]: {m}\n" not in shown]
    assert not missing, f"no case shows: {missing}"


def _shown(text: str) -> str:
    """The rendered diagnostics an explanation shows: the first ``text`` block of its example."""
    return _blocks(_section(text, "Example"), "text")[0]


def _same_rendering(shown: str, rendered: str) -> bool:
    # A Markdown block cannot end in the blank line that separates diagnostics.
    return shown.rstrip("\n") == rendered.rstrip("\n")


def _doc_files() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def _kind(path: Path) -> str:
    """``text``: one snippet compiled as ``example.funnel``; ``files``: snippets whose first
    line names their file (``# main.funnel``), the first one compiled; ``command``: no
    ``.funnel`` example at all."""
    funnels = _blocks(_section(path.read_text(encoding="utf-8"), "Example"), "funnel")
    if not funnels:
        return "command"
    return "files" if re.match(r"# [\w/.-]+\.funnel\n", funnels[0]) else "text"


def compile_example(path: Path, workdir: Path) -> Rendered:
    """Compile the example of an explanation the way the page says it is compiled; ``workdir``
    must be the working directory for ``files`` examples."""
    text = path.read_text(encoding="utf-8")
    funnels = _blocks(_section(text, "Example"), "funnel")
    if _kind(path) == "text":
        result = funnelc.compile_text(funnels[0], "example.funnel")
        return result.diagnostics, result.sources
    names = []
    for snippet in funnels:
        name = snippet.splitlines()[0].removeprefix("# ")
        names.append(name)
        (workdir / name).parent.mkdir(parents=True, exist_ok=True)
        (workdir / name).write_text(snippet, encoding="utf-8")
    return _compiled(names[0])


@pytest.mark.parametrize("path", _doc_files(), ids=lambda p: p.stem)
def test_docs_file_shape(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    code = path.stem
    assert text.startswith(f"# {code}: {CODES[code].name}\n\n"), "heading: `# CODE: name`"
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert "\r" not in text and "\t" not in text and "@@" not in text
    explanation = text.split("\n\n", 2)[1]
    assert not explanation.startswith(("#", "`")) and len(explanation) > 200
    assert [line for line in text.splitlines() if line.startswith("## ")] == [
        "## Example",
        "## How to fix",
    ]
    # The message line shown is one the catalogue can produce.
    template = re.escape(CODES[code].message)
    template = re.sub(r"\\\{\w+\\\}", ".+", template).replace("\\{\\{", "\\{")
    first = _shown(text).splitlines()[0]
    # A warning may be shown as raised to an error (F901 with `--unsupported error`).
    severity = "error" if CODES[code].severity.value == "error" else "(?:warning|error)"
    assert re.fullmatch(rf"{severity}\[{code}\]: {template}", first), first


# The pages of the CRM targets' codes show a build, checked by tests/test_target_codes.py.
_TARGET_PAGES = {c.code for c in TARGET_CODES}


@pytest.mark.parametrize(
    "path",
    [p for p in _doc_files() if _kind(p) != "command" and p.stem not in _TARGET_PAGES],
    ids=lambda p: p.stem,
)
def test_docs_example_produces_its_code(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bless: bool
) -> None:
    """The example really fails with this code and prints exactly what the page shows."""
    monkeypatch.chdir(tmp_path)
    diagnostics, sources = compile_example(path, tmp_path)
    assert path.stem in [d.code for d in diagnostics]
    rendered = render_human(diagnostics, sources)
    text = path.read_text(encoding="utf-8")
    if bless and not _same_rendering(_shown(text), rendered):
        _rewrite_shown(path, text, rendered)
        return
    assert _same_rendering(_shown(text), rendered), rendered


def _rewrite_shown(path: Path, text: str, rendered: str) -> None:
    """With ``--bless``: put the current rendering into the page's example block."""
    old = _shown(text)
    path.write_text(text.replace(old, rendered.rstrip("\n") + "\n", 1), encoding="utf-8")


@pytest.mark.parametrize(
    "path", [p for p in _doc_files() if _kind(p) == "text"], ids=lambda p: p.stem
)
def test_docs_fix_compiles(path: Path) -> None:
    for snippet in _blocks(_section(path.read_text(encoding="utf-8"), "How to fix"), "funnel"):
        fixed = funnelc.compile_text(snippet, "example.funnel")
        assert fixed.ok, render_human(fixed.diagnostics, fixed.sources)


@pytest.mark.parametrize(
    "path",
    [p for p in _doc_files() if _kind(p) == "command" and p.stem not in _TARGET_PAGES],
    ids=lambda p: p.stem,
)
def test_docs_command_example_matches_its_case(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bless: bool
) -> None:
    assert path.stem in DOC_RUNTIME_CASES, f"map {path.stem} to its case in DOC_RUNTIME_CASES"
    monkeypatch.chdir(tmp_path)
    diagnostics, sources = RUNTIME_CASES[DOC_RUNTIME_CASES[path.stem]][1](tmp_path, monkeypatch)
    text = path.read_text(encoding="utf-8")
    rendered = render_human([d for d in diagnostics if d.code == path.stem][:1], sources)
    if bless and not _same_rendering(_shown(text), rendered):
        _rewrite_shown(path, text, rendered)
        return
    assert _same_rendering(_shown(text), rendered), rendered


# ---- did you mean -------------------------------------------------------------------------
_PIPELINE = """\
field budget "Бюджет" money
field deadline "Срок запуска" date
reason no_budget "Нет бюджета"
reason competitor "Выбрали конкурента"
pipeline b2b "B2B" {{
  deal {{
    stage accepted "Лид принят в работу" {{ sla 1d }}
    stage qualified "Квалификация пройдена" {{ requires budget, deadline {requires} }}
    won paid "Оплата получена" {{ next {next} color "{color}" }}
    lost pit "Умиральная яма" {{ reasons no_budget {reasons} }}
  }}
  timeout -> {timeout}
  {edge}
}}
pipeline upsell "Допродажи" {{
  field extra "Доп. поле" {type}
  deal {{ stage new "Потребность" won done "Оплачено" lost lost "Отказ" }}
}}
"""
_CORRECT = {
    "requires": "",
    "next": "upsell.new",
    "color": "green",
    "reasons": "",
    "timeout": "pit",
    "edge": "",
    "type": "text",
}


@pytest.mark.parametrize(
    ("slot", "typo", "suggestion"),
    [
        ("edge", "qualifed -> accepted", "qualified"),
        ("edge", "qualified -> Accepted", "accepted"),
        ("timeout", "pti", "pit"),
        ("next", "upsell.nwe", "new"),
        ("requires", ", dedline", "deadline"),
        ("requires", ", Budget", "budget"),
        ("reasons", ", competiter", "competitor"),
        ("reasons", ", no_budjet", "no_budget"),
        ("next", "upsel.new", "upsell"),
        ("next", "Upsell.new", "upsell"),
        ("type", "mony", "money"),
        ("type", "datetme", "datetime"),
        ("type", 'multichoise("А", "Б")', "multichoice"),
        ("color", "gren", "green"),
        ("color", "purpel", "purple"),
    ],
)
def test_did_you_mean(slot: str, typo: str, suggestion: str) -> None:
    assert funnelc.compile_text(_PIPELINE.format(**_CORRECT)).ok
    result = funnelc.compile_text(_PIPELINE.format(**{**_CORRECT, slot: typo}))
    (d,) = result.diagnostics
    assert d.help == f"did you mean `{suggestion}`?"


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [
        ("shared/comon.funnel", "shared/common.funnel"),
        ("shared/Common.funnel", "shared/common.funnel"),
        ("common.funnel", "shared/common.funnel"),
    ],
)
def test_did_you_mean_import_path(
    typo: str, suggestion: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "common.funnel").write_text('reason r "Р"\n', encoding="utf-8")
    (tmp_path / "main.funnel").write_text(f'import "{typo}"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    (d,) = funnelc.compile("main.funnel").diagnostics
    assert (d.code, d.help) == ("F502", f'did you mean `import "{suggestion}"`?')


def test_no_suggestion_for_an_unrelated_name() -> None:
    result = funnelc.compile_text(_PIPELINE.format(**{**_CORRECT, "timeout": "contract"}))
    (d,) = result.diagnostics
    assert d.code == "F102" and (d.help is None or "did you mean" not in d.help)


# ---- JSON ---------------------------------------------------------------------------------
def test_json_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = funnelc.compile("tests/errors/F101-duplicate-stage.funnel")
    text = render_json(result.diagnostics, result.sources)
    assert text.endswith("]\n")
    (data,) = json.loads(text)
    keys = {"code", "severity", "message", "location", "labels", "notes", "help", "fix"}
    assert set(data) == keys
    assert (data["code"], data["severity"]) == ("F101", "error")
    assert data["message"] == "stage `accepted` is defined more than once"
    path = "tests/errors/F101-duplicate-stage.funnel"
    source = result.sources[path]
    location = data["location"]
    assert set(location) == {"file", "start", "end"} and location["file"] == path
    for end in ("start", "end"):
        assert set(location[end]) == {"line", "column", "offset"}
        position = source.position(location[end]["offset"])
        assert (location[end]["line"], location[end]["column"]) == (
            position.line,
            position.column,
        )
    start, stop = location["start"]["offset"], location["end"]["offset"]
    assert source.text[start:stop] == "accepted"
    assert location["start"]["line"] == 6
    (label,) = data["labels"]
    assert set(label) == {"message", "file", "start", "end"}
    assert label["message"] == "first defined here" and label["start"]["line"] == 4
    assert isinstance(data["notes"], list) and isinstance(data["help"], str)


def test_json_keeps_cyrillic_readable_and_spanless_locations_null(tmp_path: Path) -> None:
    result = funnelc.compile_text('pipeline воронка "В" { }', "x.funnel")
    text = render_json(result.diagnostics, result.sources)
    assert "воронка" in text and "\\u" not in text
    empty = funnelc.compile([tmp_path])
    (data,) = json.loads(render_json(empty.diagnostics, empty.sources))
    assert data["code"] == "F505" and data["location"] is None
