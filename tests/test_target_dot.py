"""The ``dot`` target: golden files, the structure of the diagram, escaping and determinism.

Cases are every pipeline compiled from ``examples/`` and from ``tests/fixtures/graphviz/``
(pipelines whose ids start with ``gv_``, which exercise every kind of edge and hostile names).
``test_target_svg.py`` reuses :data:`CASES` and :func:`case`.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from funnelc import Result, compile, compile_text
from funnelc.emit import EmitOptions, get_target
from funnelc.model import Edge, EdgeKind, Phase, Pipeline, Project, StageKey, StageKind
from tests.conftest import EXAMPLES, ROOT, TESTS, check_golden

if TYPE_CHECKING:  # mypy knows the folder as `targets`; installed, it is `funnelc.targets`
    import targets.dot as dot
else:
    dot = importlib.import_module("funnelc.targets.dot")

FIXTURES = TESTS / "fixtures" / "graphviz"
GOLDEN = TESTS / "golden"
SOURCES: dict[str, Path] = {"examples": EXAMPLES, "fixtures": FIXTURES}


@functools.cache
def compiled(source: str) -> Result:
    return compile([SOURCES[source]])


def _cases() -> list[object]:
    params: list[object] = []
    for source, folder in SOURCES.items():
        if not folder.is_dir() or not any(folder.rglob("*.funnel")):
            continue  # examples/ may not exist yet while it is being written
        result = compiled(source)
        if result.project is None:
            params.append(pytest.param(source, "", id=f"{source}-does-not-compile"))
            continue
        params.extend(
            pytest.param(source, p.id.name, id=f"{source}-{p.id.name}")
            for p in result.project.pipelines
        )
    return params


CASES = _cases()


def case(source: str, pipeline_id: str) -> tuple[Project, Pipeline]:
    """The project and pipeline of a case; fails the test if the source does not compile."""
    result = compiled(source)
    if result.project is None:
        messages = "\n".join(f"{d.code}: {d.message}" for d in result.diagnostics)
        pytest.fail(f"{SOURCES[source].relative_to(ROOT)} does not compile:\n{messages}")
    pipeline = result.project.pipeline(pipeline_id)
    assert pipeline is not None
    return result.project, pipeline


def fixture(pipeline_id: str) -> tuple[Project, Pipeline]:
    return case("fixtures", pipeline_id)


# ---- a small reader for the DOT this target writes ------------------------------------------

# The `graphviz` package quotes an id or a value only when DOT needs it (`a`, `"node"`,
# `"gv_after.onboarded"`; `label=Deal`, `label="any stage"`) and separates attributes by spaces.
_ID = r'"(?:[^"\\]|\\.)*"|[^\s"\[\]]+'
_STMT = re.compile(rf"^\s*({_ID})(?: -> ({_ID}))? \[(.*)\]$")
_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s\]]+)')
_KEYWORDS = {"graph", "node", "edge"}
"""Unquoted, these start attribute statements; a stage with such an id is quoted."""


def _value(raw: str) -> str:
    return raw[1:-1] if raw.startswith('"') else raw


def statements(
    source: str,
) -> tuple[dict[str, dict[str, str]], list[tuple[str, str, dict[str, str]]]]:
    """Node statements by id and edge statements in order, with their attributes (raw DOT)."""
    nodes: dict[str, dict[str, str]] = {}
    edges: list[tuple[str, str, dict[str, str]]] = []
    for line in source.split("\n"):
        match = _STMT.match(line)
        if match is None or (match.group(2) is None and match.group(1) in _KEYWORDS):
            continue
        attrs = {k: _value(v) for k, v in _ATTR.findall(match.group(3))}
        if match.group(2) is None:
            nodes[_value(match.group(1))] = attrs
        else:
            edges.append((_value(match.group(1)), _value(match.group(2)), attrs))
    return nodes, edges


def source_of(project: Project, pipeline: Pipeline, language: str | None = "en") -> str:
    """The DOT of ``pipeline``; in English unless told otherwise, so the tests can name the
    diagram's own words (the Russian ones are tested by test_language_*)."""
    emitted = get_target("dot").emit(project, pipeline, EmitOptions(language=language))
    assert list(emitted.files) == [f"{pipeline.id.name}.dot"]
    assert emitted.diagnostics == ()
    return emitted.files[f"{pipeline.id.name}.dot"].decode("utf-8")


# ---- golden files and invariants over every case ----------------------------------------------


def test_cases_exist() -> None:
    assert any("fixtures-gv_full" in str(p) for p in CASES)


def test_fixture_ids_do_not_clash_with_examples() -> None:
    # Both sets write tests/golden/dot/<pipeline>.dot, so a shared id would share a file.
    ids = [getattr(p, "values", ("", ""))[1] for p in CASES]
    clashes = sorted(i for i, n in Counter(ids).items() if n > 1 and i)
    assert clashes == []


@pytest.mark.parametrize(("source", "pipeline_id"), CASES)
def test_golden(source: str, pipeline_id: str, bless: bool) -> None:
    project, pipeline = case(source, pipeline_id)
    text = source_of(project, pipeline, None).encode("utf-8")
    check_golden(GOLDEN / "dot" / f"{pipeline_id}.dot", text, bless)


@pytest.mark.parametrize(("source", "pipeline_id"), CASES)
def test_structure(source: str, pipeline_id: str) -> None:
    project, pipeline = case(source, pipeline_id)
    text = source_of(project, pipeline)
    nodes, edges = statements(text)
    assert text.endswith("}\n") and "\r" not in text
    assert "rankdir=TB" in text

    # Clusters: one per phase that has open stages, captioned with the phase's word.
    for phase, word in ((Phase.LEAD, "Lead"), (Phase.DEAL, "Deal")):
        present = bool(pipeline.stages_in(phase))
        assert (f"\tsubgraph cluster_{phase.value} {{\n" in text) is present
        assert (f"\tgraph [label={word} " in text) is present

    # Every stage is a node named by its id; the key stage is emphasised, no other is.
    assert set(nodes) >= {s.id.name for s in pipeline.stages}
    for stage in pipeline.stages:
        attrs = nodes[stage.id.name]
        assert (attrs.get("peripheries") == "2") is stage.key
        assert ("key stage" in attrs["label"]) is stage.key
        if stage.sla is not None:
            assert f"SLA {stage.sla}" in attrs["label"]
        if stage.probability is not None:
            assert f"{stage.probability}%" in attrs["label"]
        if stage.color is not None:
            assert attrs["fillcolor"] == stage.color.value
        elif stage.kind is StageKind.WON:
            assert attrs["fillcolor"] == dot.WON_FILL

    # Pits: alone in the last rank, dark, labelled; other lost outcomes are red.
    pit_ids = {s.id.name for s in dot.pits(project, pipeline)}
    timeout_targets = {
        e.target.stage
        for e in project.edges
        if e.kind is EdgeKind.TIMEOUT and e.source.pipeline == pipeline_id
    }
    assert (
        pit_ids
        == {s.id.name for s in pipeline.stages if s.kind is StageKind.LOST} & timeout_targets
    )
    if pit_ids:
        block = text[text.index("\tsubgraph pits {\n") :]
        block = block[: block.index("\n\t}\n")]
        assert "\t\tgraph [rank=sink]\n" in block
        assert set(statements(block)[0]) == pit_ids
    for stage in pipeline.stages:
        label = nodes[stage.id.name]["label"]
        assert label.endswith("\\npit") is (stage.id.name in pit_ids)
        if stage.kind is StageKind.LOST and stage.color is None:
            fill = dot.PIT_FILL if stage.id.name in pit_ids else dot.LOST_FILL
            assert nodes[stage.id.name]["fillcolor"] == fill

    # No hairball: each phase's implicit losses and its timeouts inside the pipeline are one
    # edge per (phase, target), leaving the phase's "any stage" marker; every other red edge
    # is a `then` move.
    phase_of = {s.id.name: s.phase for s in pipeline.stages}
    thens = {(s.id.name, s.then.name) for s in pipeline.open_stages if s.then is not None}
    inside = [
        e
        for e in project.edges_of(pipeline_id)
        if e.source.pipeline == pipeline_id and e.target.pipeline == pipeline_id
    ]
    want_losses = {
        (dot.marker_id(phase_of[e.source.stage]), e.target.stage)
        for e in inside
        if e.kind is EdgeKind.LOSE and (e.source.stage, e.target.stage) not in thens
    }
    want_timeouts = {
        (dot.marker_id(phase_of[e.source.stage]), e.target.stage)
        for e in inside
        if e.kind is EdgeKind.TIMEOUT
    }
    from_markers = [(a, b, attrs) for a, b, attrs in edges if a.startswith("any-")]
    losses = [(a, b) for a, b, attrs in from_markers if attrs.get("color") == dot.LOST_BORDER]
    timeouts = [(a, b) for a, b, attrs in from_markers if attrs.get("style") == "dotted"]
    assert len(losses) == len(set(losses)) and set(losses) == want_losses
    assert len(timeouts) == len(set(timeouts)) and set(timeouts) == want_timeouts
    assert len(from_markers) == len(losses) + len(timeouts)
    markers = {a for a, _ in want_losses | want_timeouts}
    assert {n for n in nodes if n.startswith("any-")} == markers
    for marker in markers:
        assert nodes[marker]["label"] == "any stage"
    lost = {s.id.name for s in pipeline.stages if s.kind is StageKind.LOST}
    red = [(a, b) for a, b, attrs in edges if b in lost and attrs.get("color") == dot.LOST_BORDER]
    assert all(pair in thens for pair in red if not pair[0].startswith("any-"))
    for _, b, attrs in from_markers:
        if attrs.get("style") == "dotted":
            assert attrs["color"] == dot.MUTED and attrs["constraint"] == "false"
            default = pipeline.timeout is not None and b == pipeline.timeout.name
            assert (attrs["label"] == dot.TIMEOUT_SUMMARY) is default
    # The only other dotted edges are timeouts into another pipeline's stage.
    dotted = [(a, b) for a, b, attrs in edges if attrs.get("style") == "dotted"]
    all_timeouts = [e for e in project.edges_of(pipeline_id) if e.kind is EdgeKind.TIMEOUT]
    assert len(dotted) == len(timeouts) + len([e for e in all_timeouts if e not in inside])

    # No statement twice (a `then` into a loss can also be an implicit loss).
    arrows = [line for line in text.split("\n") if " -> " in line]
    assert len(arrows) == len(set(arrows))

    # Each other resolved edge is drawn, styled by kind.
    drawn = Counter((a, b) for a, b, _ in edges)
    for e in project.edges_of(pipeline_id):
        if e.kind is EdgeKind.LOSE or (e.kind is EdgeKind.TIMEOUT and e in inside):
            continue
        a = dot.node_id(e.source, pipeline_id)
        b = dot.node_id(e.target, pipeline_id)
        assert drawn[(a, b)] >= 1, e
        styles = [attrs for x, y, attrs in edges if (x, y) == (a, b)]
        if e.kind is EdgeKind.REVIVE:
            assert any(s.get("color") == dot.REVIVE and "revive" in s["label"] for s in styles)
        if e.kind is EdgeKind.EXPLICIT:
            assert any(s.get("style") == "dashed" for s in styles)
        if e.cross_pipeline:
            outside = e.target if e.source.pipeline == pipeline_id else e.source
            assert nodes[str(outside)]["style"] == "dashed,rounded"
            assert nodes[str(outside)]["label"].startswith(str(outside))
        if e.kind is EdgeKind.HANDOFF:
            (style,) = [s for s in styles if s.get("color") == dot.HANDOFF]
            shown = _words(style["label"])
            assert all(_words(dot.escape_label(c)) in shown for c in e.criteria)
            assert e.criteria or style["label"] == "handoff"


def summarised_timeouts(project: Project, pipeline: Pipeline) -> list[Edge]:
    """The pipeline's timeout edges into its default target (``timeout -> x`` outside any
    stage): the ones the diagram summarises.  Written out here rather than taken from the
    target, so the test checks the target's choice."""
    if pipeline.timeout is None:
        return []
    pid = pipeline.id.name
    return [
        e
        for e in project.edges_of(pid)
        if e.kind is EdgeKind.TIMEOUT
        and e.source.pipeline == pid
        and e.target == StageKey(pid, pipeline.timeout.name)
    ]


def _words(escaped: str) -> str:
    """An escaped label with line breaks (wrapping) and runs of spaces made single spaces."""
    return " ".join(escaped.replace("\\n", " ").split())


# ---- the fixture, checked against what it was written to show ----------------------------------


def test_fixture_full_shows_everything() -> None:
    project, pipeline = fixture("gv_full")
    nodes, edges = statements(source_of(project, pipeline))
    # 2 lead stages × 1 lead outcome + 4 deal stages × 2 deal outcomes = 10 implicit losses …
    assert sum(1 for e in project.edges_of("gv_full") if e.kind is EdgeKind.LOSE) == 10
    # … drawn as 3 edges, one per (phase, lost outcome), each from the phase's marker.
    red = {(a, b) for a, b, attrs in edges if attrs.get("color") == dot.LOST_BORDER}
    assert red == {("any-lead", "junk"), ("any-deal", "lost_deal"), ("any-deal", "pit")}
    assert nodes["any-lead"]["label"] == nodes["any-deal"]["label"] == "any stage"
    # The key stage keeps its own colour (dark, so its text is white) and is emphasised.
    assert nodes["qualified"]["fillcolor"] == "#1b5e20"
    assert nodes["qualified"]["fontcolor"] == "#ffffff"
    assert nodes["qualified"]["penwidth"] == "2"
    # `offer` times out into lost_deal, which makes lost_deal a pit too.
    assert {p.id.name for p in dot.pits(project, pipeline)} == {"lost_deal", "pit"}
    # 6 timeouts: `offer`'s own and 5 into the default `pit` (2 lead stages, 3 deal stages),
    # drawn as one edge per (phase, target) from the phase's marker: the lead's are drawn too.
    assert sum(1 for e in project.edges_of("gv_full") if e.kind is EdgeKind.TIMEOUT) == 6
    timeouts = [(a, b, attrs) for a, b, attrs in edges if attrs.get("style") == "dotted"]
    assert [(a, b, attrs["label"]) for a, b, attrs in timeouts] == [
        ("any-lead", "pit", "timeout: after each stage's SLA"),
        ("any-deal", "pit", "timeout: after each stage's SLA"),
        ("any-deal", "lost_deal", "timeout: КП отправлено"),
    ]
    assert timeouts[0][2]["tooltip"].startswith("2 lead stages time out here")
    assert timeouts[1][2]["tooltip"].startswith("3 deal stages time out here")
    # Each of them shows its SLA on its box instead.
    for stage_id, sla in (("inquiry", "4h"), ("profiled", "1d"), ("accepted", "2bd")):
        assert f"\\nSLA {sla}" in nodes[stage_id]["label"]
    # The handoff carries both acceptance criteria.
    (handoff,) = [a for x, y, a in edges if (x, y) == ("profiled", "accepted")]
    assert handoff["label"] == (
        "accepted if:\\n• Закупает партиями от 100\\nединиц\\n• Известен ЛПР по закупкам"
    )
    # The explicit back edge keeps its label, quotes and ampersand escaped.
    (back,) = [a for x, y, a in edges if (x, y) == ("offer", "qualified")]
    assert back["label"] == 'Клиент изменил \\"объём\\" &amp;\\nсроки'
    # `next` leads to a plain node of the other pipeline with a dashed border.
    assert nodes["gv_after.onboarded"]["label"] == "gv_after.onboarded\\nСопровождение"
    # Goal and exit criteria are the tooltip.
    assert nodes["qualified"]["tooltip"] == (
        "Квалификация пройдена (qualified)\\nGoal: Бюджет и сроки известны\\n"
        "Exit: ЛПР подтвердил бюджет\\nExit: План сделки согласован\\nRequires: Бюджет\\n"
        "Task: Отправить план сделки ЛПР"
    )


def test_fixture_after_shows_incoming_and_then_losses() -> None:
    project, pipeline = fixture("gv_after")
    nodes, edges = statements(source_of(project, pipeline))
    # The deal arrives from the other pipeline's won outcome.
    assert ("gv_full.shipped", "onboarded") in {(a, b) for a, b, _ in edges}
    assert nodes["gv_full.shipped"]["style"] == "dashed,rounded"
    # `reorder` moves forward into a loss with `then`: that one is a real edge.
    red = [(a, b) for a, b, attrs in edges if attrs.get("color") == dot.LOST_BORDER]
    assert ("reorder", "churned") in red
    assert ("any-deal", "churned") in red  # the summary for the other stage


def _timeout_edges(source: str) -> list[tuple[str, str, dict[str, str]]]:
    result = compile_text(source, "t.funnel")
    assert result.project is not None, [d.message for d in result.diagnostics]
    text = dot.dot_source(result.project, result.project.pipelines[0], "en")
    return [(a, b, attrs) for a, b, attrs in statements(text)[1] if attrs.get("style") == "dotted"]


def test_timeouts_into_the_default_stay_one_edge_however_many_stages() -> None:
    # The hairball (and the quadratic layout) this prevents: one dotted edge per stage, each
    # crossing every rank between its stage and the pit.
    stages = "\n".join(f'stage s{i} "Этап {i} пройден" {{ sla {i + 1}d }}' for i in range(40))
    source = f"""
    pipeline p "P" {{
      deal {{
        {stages}
        won w "W"
        lost pit "Яма"
      }}
      timeout -> pit
    }}
    """
    ((a, b, attrs),) = _timeout_edges(source)
    assert (a, b) == ("any-deal", "pit")
    assert attrs["label"] == "timeout: after each stage's SLA"
    assert attrs["tooltip"].startswith("40 deal stages time out here")


def test_own_timeout_elsewhere_keeps_its_edge_and_naming_the_default_does_not() -> None:
    source = """
    pipeline p "P" {
      lead {
        stage new "Заявка получена" { sla 2h }
        lost junk "Не наш клиент"
      }
      deal {
        stage met "Встреча проведена" { sla 3d timeout -> pit }
        stage offer "КП обсуждено" { sla 5d timeout -> lost }
        stage signed "Договор подписан" { sla 1w }
        won w "W"
        lost lost "Проиграна"
        lost pit "Яма"
      }
      timeout -> pit
    }
    """
    edges = _timeout_edges(source)
    assert [(a, b, attrs["label"]) for a, b, attrs in edges] == [
        # new; met (which names the default again) and signed: one edge per phase.
        ("any-lead", "pit", "timeout: after each stage's SLA"),
        ("any-deal", "pit", "timeout: after each stage's SLA"),
        ("any-deal", "lost", "timeout: КП обсуждено"),
    ]
    assert edges[1][2]["tooltip"].startswith("2 deal stages time out here")


def test_timeout_summary_of_one_phase_and_into_an_open_stage() -> None:
    lead_only = """
    pipeline p "P" {
      lead {
        stage new "Заявка получена" { sla 2h }
        lost junk "Не наш клиент"
      }
      deal {
        stage met "Встреча проведена"
        won w "W"
        lost lost "Проиграна"
      }
      timeout -> junk
    }
    """
    ((a, b, attrs),) = _timeout_edges(lead_only)
    assert (a, b) == ("any-lead", "junk")
    assert attrs["tooltip"].startswith("1 lead stage times out here")
    # Into an open stage of the same box (lint's L006 reports it): drawn the same way.
    into_open = """
    pipeline p "P" {
      deal {
        stage new "Клиент обратился"
        stage met "Встреча проведена" { sla 3d }
        stage agreed "Условия согласованы" { sla 2d }
        won w "W"
        lost lost "Проиграна"
      }
      timeout -> new
    }
    """
    ((a, b, attrs),) = _timeout_edges(into_open)
    assert (a, b) == ("any-deal", "new") and "ltail" not in attrs
    assert attrs["tooltip"].startswith("2 deal stages time out here")


def test_fixture_tricky_escapes() -> None:
    project, pipeline = fixture("gv_tricky")
    nodes, _ = statements(source_of(project, pipeline))
    # Stage ids that are DOT keywords are quoted, so they are plain node names.
    assert {"node", "edge"} <= set(nodes)
    assert nodes["a"]["label"] == 'Этап \\"A\\" <ok> &amp; &amp;amp; \\\\N\\nSLA 1d'
    assert nodes["edge"]["label"] == "Конец строки \\\\\\n100%"
    # The tab is a space; a control character (refused by the compiler, F005, so only the API
    # can bring one) is replaced.
    label = nodes["lost_"]["label"]
    assert "\t" not in label and "Потеря управляющего" in re.sub(" +", " ", label)
    assert dot.clean("a\x01b") == "a\ufffdb"
    assert nodes["node"]["label"].startswith("Этап с id node и табом")


# ---- escaping -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "label", "tooltip"),
    [
        ("plain", "plain", "plain"),
        ('"q"', '\\"q\\"', '\\"q\\"'),
        ("a\\", "a\\\\", "a\\\\\\\\"),
        ("\\N", "\\\\N", "\\\\\\\\N"),
        ("a\nb", "a\\nb", "a\\nb"),
        ("a\r\nb\rc", "a\\nb\\nc", "a\\nb\\nc"),
        ("&amp; <b>", "&amp;amp; <b>", "&amp;amp; <b>"),
        ("<b>x</b>", "<b>x</b>", "<b>x</b>"),
        ("\\", "\\\\", "\\\\\\\\"),
        ('a\\"b', 'a\\\\\\"b', 'a\\\\\\\\\\"b'),
        ("a\\\nb", "a\\\\\\nb", "a\\\\\\\\\\nb"),
        ("\\G \\L \\l", "\\\\G \\\\L \\\\l", "\\\\\\\\G \\\\\\\\L \\\\\\\\l"),
        ("a\n", "a\\n", "a\\n"),
        ("tab\there", "tab here", "tab here"),
        ("nul\x00bell\x07", "nul\ufffdbell\ufffd", "nul\ufffdbell\ufffd"),
        ("🚀 ёлка", "🚀 ёлка", "🚀 ёлка"),
    ],
)
def test_escape(text: str, label: str, tooltip: str) -> None:
    assert dot.escape_label(text) == label
    assert dot.escape_tooltip(text) == tooltip


def test_values_are_not_html() -> None:
    # `graphviz` writes a value of the form `<...>` unquoted, as an HTML-like label, unless it
    # is marked `nohtml`; joining escaped lines gives a plain `str`, so the mark is put back.
    from graphviz.quoting import quote

    assert quote("<b>x</b>") == "<b>x</b>"  # what the package does with a plain string
    for value in (dot.label_value("<b>\nx</b>"), dot.tooltip_value("<a>\n</a>")):
        assert quote(value).startswith('"<') and quote(value).endswith('>"')


def test_hostile_names_in_the_dot(recwarn: pytest.WarningsRecorder) -> None:
    source = r"""
    pipeline hp "<t>" {
      deal {
        stage a "<b>x</b>" { goal "\\" }
        stage b "ends with \\"
        won w "W"
        lost l "L"
      }
      b -> a "<e>"
    }
    """
    result = compile_text(source, "hp.funnel")
    assert result.project is not None
    text = dot.dot_source(result.project, result.project.pipelines[0], "en")
    assert 'digraph hp {\n\tgraph [label="<t>" ' in text
    assert '\t\ta [id=stage_a label="<b>x</b>" tooltip="<b>x</b> (a)\\nGoal: \\\\\\\\" ' in text
    assert '\t\tb [id=stage_b label="ends with \\\\" ' in text
    assert '\tb -> a [style=dashed color="#263238" label="<e>"]\n' in text
    # `graphviz` warns when a value would end the quoted string early; nothing may.
    assert [str(w.message) for w in recwarn] == []


def test_node_ids() -> None:
    from funnelc.model import StageKey

    assert dot.node_id(StageKey("p", "s"), "p") == "s"
    assert dot.node_id(StageKey("q", "s"), "p") == "q.s"
    assert dot.node_id(StageKey("p", "этап"), "p") == "u044du0442u0430u043f"


def test_wrap_breaks_long_names_at_spaces_only() -> None:
    assert dot.wrap("короткое") == "короткое"
    assert dot.wrap("Потребность в допродаже подтверждена") == (
        "Потребность в допродаже\nподтверждена"
    )
    assert dot.wrap("Оченьдлинноесловобезпробелов" * 2) == "Оченьдлинноесловобезпробелов" * 2
    assert dot.wrap("a\nb") == "a\nb"


# ---- determinism ----------------------------------------------------------------------------

_DUMP = """
import sys
import funnelc
from funnelc.targets.dot import dot_source
project = funnelc.load(sys.argv[1])
sys.stdout.buffer.write(b"".join(dot_source(project, p).encode() for p in project.pipelines))
"""


def test_output_does_not_depend_on_hash_seed() -> None:
    # Sets and dicts of strings iterate in a hash-seed-dependent order; none may leak out.
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", _DUMP, str(FIXTURES)],
            capture_output=True,
            env=env,
            check=True,
            cwd=ROOT,
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1
    assert outputs.pop().count(b"digraph") == 3


def test_emit_twice_is_identical() -> None:
    project, pipeline = fixture("gv_full")
    assert source_of(project, pipeline) == source_of(project, pipeline)


# ---- built with the graphviz package, imported only when needed --------------------------------


def test_source_is_built_with_graphviz_digraph(monkeypatch: pytest.MonkeyPatch) -> None:
    import graphviz

    built: list[Any] = []

    class Recording(graphviz.Digraph):  # type: ignore[misc]  # graphviz has no type information
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            built.append(self)

    monkeypatch.setattr(graphviz, "Digraph", Recording)
    project, pipeline = fixture("gv_full")
    text = source_of(project, pipeline)
    # The graph, then the clusters and the pits, made by `subgraph()` (from the graph's class).
    # The rows that put each "any stage" marker beside its phase's first stage have no name.
    assert [g.name for g in built] == [
        "gv_full",
        "cluster_lead",
        None,
        "cluster_deal",
        None,
        "pits",
    ]
    assert built[0].source == text


def test_build_graph_returns_the_digraph_of_the_source() -> None:
    import graphviz

    project, pipeline = fixture("gv_tricky")
    graph = dot.build_graph(project, pipeline)
    assert type(graph) is graphviz.Digraph
    text = graph.source
    assert text == dot.dot_source(project, pipeline) == source_of(project, pipeline, None)
    assert text.startswith("digraph gv_tricky {\n") and text.endswith("\n}\n")
    assert "\r" not in text and "\t\n" not in text


def test_attributes_keep_their_order() -> None:
    # `graphviz` sorts attributes given as keyword arguments; they are passed in this order.
    project, pipeline = fixture("gv_full")
    nodes, _ = statements(source_of(project, pipeline))
    assert list(nodes["qualified"]) == [
        "id",
        "label",
        "tooltip",
        "width",
        "fillcolor",
        "color",
        "fontcolor",
        "peripheries",
        "penwidth",
    ]


_IMPORTS = """
import sys
import funnelc
from funnelc.cli import main
for argv in (["check", sys.argv[1]], ["targets"]):
    try:
        main(argv)
    except SystemExit as done:
        assert done.code in (0, 1, None), (argv, done.code)  # 1: errors or warnings found
import funnelc.targets.dot
sys.stderr.write(f"before: {'graphviz' in sys.modules}\\n")
project = funnelc.load(sys.argv[1])
funnelc.targets.dot.dot_source(project, project.pipelines[0])
sys.stderr.write(f"after: {'graphviz' in sys.modules}\\n")
"""


def test_graphviz_is_imported_only_to_build_dot() -> None:
    # `funnelc check` and `funnelc targets` (which imports every target module) never pay for
    # the graphviz package; building a diagram does import it.
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTS, str(FIXTURES)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    lines = done.stderr.splitlines()
    assert "before: False" in lines and "after: True" in lines


def test_timeouts_into_other_outcomes_are_one_edge_per_target_however_many_stages() -> None:
    # The 207-second layout this prevents: every stage-level timeout into a lost outcome other
    # than the default target was its own edge, crossing every rank down to the outcome.
    def source(n: int) -> str:
        targets = ("lost", "cold", "pit")
        stages = "\n".join(
            f'stage s{i} "Этап {i} пройден" {{ sla {i + 1}d timeout -> {targets[i % 3]} }}'
            for i in range(n)
        )
        return f"""
        pipeline p "P" {{
          lead {{ stage new "Заявка получена" {{ sla 2h }} lost junk "Не наш" }}
          deal {{
            {stages}
            won w "W"
            lost lost "Проиграна"
            lost cold "Остыл"
            lost pit "Яма"
          }}
          timeout -> pit
        }}
        """

    for n in (30, 300):
        edges = _timeout_edges(source(n))
        assert [(a, b) for a, b, _ in edges] == [
            ("any-lead", "pit"),
            ("any-deal", "lost"),
            ("any-deal", "cold"),
            ("any-deal", "pit"),
        ]
        # Named stages are counted, not listed, and the tooltip names a bounded number.
        (cold,) = [attrs for _, b, attrs in edges if b == "cold"]
        assert cold["label"] == f"timeout: {n // 3} deal stages"
        assert cold["tooltip"].count("Этап") == min(n // 3, dot.TOOLTIP_NAMES)
