"""The language reference and the examples must stay true to the compiler.

docs/language.md promises that its code blocks compile (or fail with the code they name), and
examples/ is what users copy from, so both are compiled here: a change to the language that
breaks the documentation fails the build instead of leaving the page wrong.

Convention for docs/language.md (explained at the top of that page): every ```funnel block
starts with ``# complete`` (compiles with no errors), ``# error: Fxxx`` (compiling it reports
that code) or ``# fragment`` (syntax shown out of context, not compiled).  Lines
``# file: <path>`` split a block into several files compiled together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

import funnelc
from funnelc import codes
from funnelc.model import EdgeKind, Phase, StageKind
from tests.conftest import EXAMPLES, ROOT

LANGUAGE_DOC = ROOT / "docs" / "language.md"
COMMON = EXAMPLES / "shared" / "common.funnel"

_BLOCK = re.compile(r"^```funnel\n(.*?)^```", re.S | re.M)
_FILE = re.compile(r"^# file: (\S+)\s*$")
_ERROR = re.compile(r"^# error: (F\d{3})\s*$")
_MARKERS = ("# complete", "# fragment")


@dataclass(frozen=True)
class DocBlock:
    line: int
    text: str

    @property
    def marker(self) -> str:
        return self.text.split("\n", 1)[0]

    def files(self) -> dict[str, str]:
        """The block as ``{path: text}``: one file, or one per ``# file:`` section."""
        files: dict[str, str] = {}
        path = "doc.funnel"
        lines: list[str] = []
        for line in self.text.splitlines(keepends=True):
            match = _FILE.match(line)
            if match:
                if "".join(lines).strip():
                    files[path] = "".join(lines)
                path, lines = match.group(1), []
            else:
                lines.append(line)
        files[path] = "".join(lines)
        return files


def _blocks() -> list[DocBlock]:
    text = LANGUAGE_DOC.read_text(encoding="utf-8")
    return [
        DocBlock(text.count("\n", 0, match.start()) + 1, match.group(1))
        for match in _BLOCK.finditer(text)
    ]


BLOCKS = _blocks()
COMPLETE = [b for b in BLOCKS if b.marker == "# complete"]
FAILING = [b for b in BLOCKS if _ERROR.match(b.marker)]


def _id(block: DocBlock) -> str:
    return f"line-{block.line}"


def _errors(result: funnelc.Result) -> list[str]:
    return [f"{d.code} {d.message}" for d in result.diagnostics if d.is_error]


def test_every_block_is_marked() -> None:
    unmarked = [b.line for b in BLOCKS if b.marker not in _MARKERS and not _ERROR.match(b.marker)]
    assert not unmarked, f"```funnel blocks without a marker line at {unmarked}"


def test_the_doc_has_compiled_examples() -> None:
    # Guards the extraction itself: a broken regex must not make the tests below vacuous.
    assert len(COMPLETE) >= 5
    assert len(FAILING) >= 20


@pytest.mark.parametrize("block", COMPLETE, ids=_id)
def test_complete_block_compiles(block: DocBlock) -> None:
    files = block.files()
    if len(files) == 1:
        result = funnelc.compile_text(next(iter(files.values())), "doc.funnel")
    else:
        result = funnelc.compile_texts(files)
    assert result.ok, _errors(result)
    assert not _errors(result)


@pytest.mark.parametrize("block", FAILING, ids=_id)
def test_error_block_reports_its_code(block: DocBlock) -> None:
    match = _ERROR.match(block.marker)
    assert match is not None
    result = funnelc.compile_texts(block.files())
    reported = {d.code for d in result.diagnostics}
    assert not result.ok
    assert match.group(1) in reported, reported


def test_code_table_matches_the_catalogue() -> None:
    """Every language code (F0xx–F5xx) is in the doc's table and the table invents none."""
    text = LANGUAGE_DOC.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| (F\d{3}) \|", text, re.M))
    language = {c for c in codes.CODES if c < "F600"}
    assert documented == language


# ---- examples/ ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def examples() -> funnelc.Result:
    return funnelc.compile(EXAMPLES)


def test_examples_compile_without_any_diagnostic(examples: funnelc.Result) -> None:
    assert examples.ok
    assert examples.diagnostics == ()


def test_examples_cover_the_reference_pipelines(examples: funnelc.Result) -> None:
    assert examples.project is not None
    names = {Path(m.path).name for m in examples.project.modules}
    assert {
        "solution_sales.funnel",
        "real_estate.funnel",
        "remote_buyer.funnel",
        "b2b_inbound.funnel",
        "common.funnel",
    } <= names


def test_common_is_imported_by_at_least_two_examples(examples: funnelc.Result) -> None:
    assert examples.project is not None
    importers = [
        m.path
        for m in examples.project.modules
        if any(
            (Path(m.path).parent / i.path.value).resolve() == COMMON.resolve() for i in m.imports
        )
    ]
    assert len(importers) >= 2, importers


def test_examples_follow_the_methodology(examples: funnelc.Result) -> None:
    """The structural principles the examples exist to demonstrate (M4, M6–M12)."""
    project = examples.project
    assert project is not None
    segments = [p.segment.value for p in project.pipelines if p.segment is not None]
    assert len(segments) == len(project.pipelines), "every pipeline names its segment (M10)"
    assert len(set(segments)) == len(segments), "segments differ (M10)"
    problems: list[str] = []
    for p in project.pipelines:
        name = p.id.name
        if len([s for s in p.stages if s.key]) != 1:
            problems.append(f"{name}: exactly one key stage (M9)")
        pit = p.stage(p.timeout.name) if p.timeout else None
        if pit is None or pit.kind is not StageKind.LOST:
            problems.append(f"{name}: the default timeout leads to a lost outcome (M6)")
        for s in p.open_stages:
            if s.goal is None or not s.exits:
                problems.append(f"{name}.{s.id.name}: goal and exit (M4)")
            if s.sla is None:
                problems.append(f"{name}.{s.id.name}: SLA (M6)")
        for s in p.stages:
            if s.kind is StageKind.LOST and s is not pit and not s.reasons:
                problems.append(f"{name}.{s.id.name}: loss reasons (M11)")
        revived = {
            e.source.stage
            for e in project.edges
            if e.kind is EdgeKind.REVIVE and e.source.pipeline == name
        }
        if pit is not None and pit.id.name not in revived:
            problems.append(f"{name}: the pit is revived (M7)")
        if p.lead is not None and (p.lead.definition is None or not p.lead.accept):
            problems.append(f"{name}: the lead phase has a definition and accept (M8)")
        deal = p.stages_in(Phase.DEAL)
        keyed = [i for i, s in enumerate(deal) if s.key]
        for s in deal[keyed[0] :] if keyed else ():
            if not s.requires:
                problems.append(f"{name}.{s.id.name}: required fields after the key (M5)")
        chances = [s.probability for s in p.open_stages if s.probability is not None]
        if chances != sorted(set(chances)):
            problems.append(f"{name}: probabilities rise along the main path (M12)")
    assert not problems, problems


# ---- editors/ ----------------------------------------------------------------------------------


def test_editor_grammar_highlights_every_keyword() -> None:
    """The VS Code grammar must learn each keyword the Lark grammar gains."""
    import json

    lark = (ROOT / "grammar" / "funnel.lark").read_text(encoding="utf-8")
    keywords = set(re.findall(r'"([a-z]+)"', lark))
    assert {"pipeline", "stage", "revive", "colour"} <= keywords  # the extraction works
    tm_path = ROOT / "editors" / "vscode" / "syntaxes" / "funnel.tmLanguage.json"
    regexes: list[str] = []

    def collect(node: object) -> None:
        # Only the regexes count: scope names such as `storage.type.field.funnel` contain
        # keywords too and would hide a keyword the patterns miss.
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("match", "begin") and isinstance(value, str):
                    regexes.append(value)
                else:
                    collect(value)
        elif isinstance(node, list):
            for item in node:
                collect(item)

    collect(json.loads(tm_path.read_text(encoding="utf-8")))
    # Keywords appear in the regexes as words, e.g. (?:segment|goal|…), or as colou?r.
    text = re.sub(r"\\.", " ", " ".join(regexes)).replace("colou?r", "color colour")
    words = set(re.findall(r"[a-z]+", text))
    assert keywords - words == set()
