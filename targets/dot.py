"""Target ``dot``: one pipeline as Graphviz DOT source, the diagram a sales lead reads.

The same source feeds the ``svg`` target (:mod:`funnelc.targets.svg`), so everything about how
the diagram looks is decided here.  What it shows, left to right: the lead phase and the deal
phase as two labelled clusters of stage boxes (name, SLA, probability; the key stage with a
double bold border and "key stage"), the won outcomes in green, the lost ones in red, and the pit
(a lost outcome that timeouts lead to) dark grey at the far right.  Forward moves are solid
arrows, explicit back/skip edges dashed with their label, timeouts dotted grey, revivals purple
with their delay, ``next`` moves dashed to a plain node for the other pipeline.

Losing is possible from every open stage, so drawing each implicit ``lose`` edge would bury the
diagram in red arrows (n stages × m lost outcomes).  Instead each lost outcome gets *one* edge
that leaves the box around the stages it can be reached from (``ltail`` to a cluster),
labelled "any stage".

Timeouts are summarised the same way, and for a second reason: the layout.  Most stages time
out into the pipeline's default target (``timeout -> pit``), which sits in the last rank, so
one dotted edge per stage would cross every rank between its stage and the pit; Graphviz
routes each through a virtual node per rank crossed, and the layout grew with the square of
the stage count (a 100-stage pipeline took 4 s, a 1 000-stage one over a minute).  So the
timeouts into the default target are drawn as *one* dotted edge, labelled "timeout: after
each stage's SLA", that leaves the box of the stages that time out (a phase's, or the one
around both phases, as for losses) from the last of them, so it is short.  The SLA of each of
those timeouts is on its stage's box ("SLA 14d"): that is where the diagram meets the
requirement "timeout edges labelled with the SLA" for them.  A stage whose own
``timeout -> x`` leads elsewhere keeps its own dotted edge, "after 14d" by its start; one that
names the default target again is drawn with the others, since its edge would say nothing
new.  Such own edges still cross the diagram, and each costs the layout seconds in a pipeline
of a thousand stages.

Building the DOT is linear in the pipeline's size: the pipeline's edges come from
``project.edges_of``, and stages, fields and reasons are looked up in dicts built once per
diagram (:class:`_Lookup`), never searched once per stage or edge.

The DOT is built with the ``graphviz`` package: :func:`build_graph` returns a
``graphviz.Digraph`` with the clusters as subgraphs, and :func:`dot_source` is its ``.source``.
The package quotes ids and values (only where DOT needs quotes) and writes ``"`` as ``\\"``,
but it leaves backslashes alone and writes a value of the form ``<...>`` as an HTML-like label,
so user text goes in prepared (:func:`label_value`, :func:`tooltip_value`): control characters
replaced (:func:`clean`), ``&`` written as ``&amp;`` (Graphviz decodes entities), each line
through ``graphviz.escape`` (backslashes doubled, so a name ending in ``\\`` is no syntax error
and ``\\N`` is not replaced by the node id; marked not HTML), the lines joined with the escString
line break ``\\n`` *after* escaping, and the joined text marked ``nohtml`` again, since joining
gives a plain ``str``.  Tooltips are unescaped once more than labels by Graphviz, so their lines
are escaped twice.  HTML-like labels are not an alternative: the WebAssembly Graphviz that the
``svg`` output is checked against is built without expat.

Attributes are given as ordered pairs (``_attributes=[...]``), not keyword arguments, which the
package sorts: each statement reads in a sensible order (id, label, tooltip, colours, shape),
the same order as the hand-written DOT this target used to write, whose SVG it reproduces byte
for byte.  ``graphviz`` is imported inside the functions that build DOT, so importing this
module (``funnelc targets`` does) and ``funnelc check`` never pay for it.
"""

from __future__ import annotations

import textwrap
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from funnelc.emit import EmitOptions, Emitted, shared
from funnelc.model import (
    Edge,
    EdgeKind,
    Phase,
    Pipeline,
    Project,
    Stage,
    StageKey,
    StageKind,
)

if TYPE_CHECKING:
    from funnelc.emit import Target

FONT = "Arial"
WRAP = 26
"""Stage names longer than this many characters are wrapped at spaces, so boxes stay narrow."""
SEGMENT_WRAP = 90

# Colours (Material palette: readable on screen and in print, distinct for colour-blind
# readers by lightness as well as hue).
INK = "#263238"
MUTED = "#78909c"
LEAD_FILL, LEAD_BORDER, LEAD_INK = "#fff8e1", "#ffb300", "#a15c00"
DEAL_FILL, DEAL_BORDER, DEAL_INK = "#e3f2fd", "#1e88e5", "#0d47a1"
STAGE_FILL, STAGE_BORDER = "#ffffff", "#455a64"
WON_FILL, WON_BORDER = "#c8e6c9", "#2e7d32"
LOST_FILL, LOST_BORDER = "#ffcdd2", "#c62828"
PIT_FILL, PIT_BORDER = "#424242", "#212121"
HANDOFF = "#1565c0"
REVIVE = "#8e24aa"
EXTERNAL = "#546e7a"

Attrs = Sequence[tuple[str, str]]
"""Attributes in the order they are written (``graphviz`` sorts keyword arguments)."""


# ---- escaping --------------------------------------------------------------------------------


def clean(text: str) -> str:
    """``text`` with what SVG (XML 1.0) cannot hold replaced: CR and tabs become a newline and
    a space, other control characters and the non-characters U+FFFE/U+FFFF become U+FFFD.

    Strings in ``.funnel`` files may contain any of them (``\\0``, ``\\u0001`` or literally);
    Graphviz would copy them into the SVG and make it unparseable.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    if text.replace("\n", "").isprintable():  # the common case, without a loop in Python
        return text
    return "".join(
        c if c == "\n" or not (unicodedata.category(c) == "Cc" or c in "\ufffe\uffff") else "\ufffd"
        for c in text
    )


def _lines(text: str) -> list[str]:
    # Graphviz decodes HTML entities in labels and tooltips; "&amp;" keeps "&amp;" literal.
    return [line.replace("&", "&amp;") for line in clean(text).split("\n")]


def label_value(text: str) -> str:
    """The value to give ``graphviz`` for a ``label`` that Graphviz shows as exactly ``text``.

    Labels are escStrings (``\\N``, ``\\G``, ``\\l`` … are expanded): each line is cleaned and
    passed through ``graphviz.escape`` (backslashes doubled, not HTML), then the lines are joined
    with ``\\n`` (a centred line break), which must not be escaped itself.  The result is
    ``nohtml`` so that a name like ``<b>x</b>`` is not written as an HTML-like label.
    """
    import graphviz

    value: str = graphviz.nohtml("\\n".join(graphviz.escape(line) for line in _lines(text)))
    return value


def tooltip_value(text: str) -> str:
    """The value to give ``graphviz`` for a ``tooltip`` that shows as exactly ``text``.

    A tooltip is unescaped once more than a label before ``\\N`` … are expanded, so each line is
    escaped twice: a backslash becomes four (measured; the same in graphviz-pure and Graphviz).
    """
    import graphviz

    lines = (graphviz.escape(graphviz.escape(line)) for line in _lines(text))
    value: str = graphviz.nohtml("\\n".join(lines))
    return value


def _escape(value: str) -> str:
    """``value`` through ``graphviz.escape``: for user strings that are not labels (colours)."""
    import graphviz

    escaped: str = graphviz.escape(value)
    return escaped


def _dot_body(value: str) -> str:
    """What ``graphviz`` writes for the attribute value ``value``, without enclosing quotes."""
    from graphviz.quoting import quote

    written: str = quote(value)
    return written[1:-1] if written.startswith('"') else written


def escape_label(text: str) -> str:
    """The label text as it appears in the DOT source (between the quotes, if any)."""
    return _dot_body(label_value(text))


def escape_tooltip(text: str) -> str:
    """The tooltip text as it appears in the DOT source (between the quotes, if any)."""
    return _dot_body(tooltip_value(text))


def node_id(key: StageKey, pipeline_id: str) -> str:
    """The DOT node id of a stage: its id within its own pipeline, ``pipeline.stage`` outside.

    Ids in ``.funnel`` files are ASCII identifiers (no ``:``, which ``graphviz`` would read as
    a port), so the ids stay readable in diffs; anything else (a future Unicode id) is spelt as
    ``uXXXX`` so the DOT and the SVG ``<title>`` stay ASCII.  ``graphviz`` quotes the ids that
    need it (``node``, ``edge``, ``pipeline.stage``).
    """
    text = key.stage if key.pipeline == pipeline_id else f"{key.pipeline}.{key.stage}"
    if text.isascii():
        return text
    return "".join(c if c.isascii() else f"u{ord(c):04x}" for c in text)


def wrap(text: str, width: int = WRAP) -> str:
    """``text`` with lines longer than ``width`` broken at spaces (words are never split)."""
    lines: list[str] = []
    for line in text.split("\n"):
        if len(line) <= width or " " not in line.strip():
            lines.append(line)
        else:
            lines.extend(textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False))
    return "\n".join(lines)


def _is_dark(colour: str) -> bool:
    """Whether black text would be hard to read on ``colour`` (``#rrggbb``)."""
    try:
        r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    except ValueError:
        return False
    return 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.5


@dataclass(frozen=True, slots=True)
class _Phase:
    """An open-stage cluster: its DOT name, its caption and its colours."""

    phase: Phase
    cluster: str
    caption: str
    fill: str
    border: str
    ink: str


_PHASES = (
    _Phase(Phase.LEAD, "cluster_lead", "Lead", LEAD_FILL, LEAD_BORDER, LEAD_INK),
    _Phase(Phase.DEAL, "cluster_deal", "Deal", DEAL_FILL, DEAL_BORDER, DEAL_INK),
)
_ALL_STAGES = "cluster_stages"


# ---- the diagram -----------------------------------------------------------------------------


def pits(project: Project, pipeline: Pipeline) -> tuple[Stage, ...]:
    """The pipeline's pits: lost outcomes that some timeout edge leads to (M6)."""
    return _pits(pipeline, project.edges_of(pipeline.id.name))


def _pits(pipeline: Pipeline, edges: Iterable[Edge]) -> tuple[Stage, ...]:
    """:func:`pits`, given the pipeline's edges (``project.edges_of``), so that a diagram
    asks for them once."""
    pid = pipeline.id.name
    targets = {
        e.target.stage
        for e in edges
        if e.kind is EdgeKind.TIMEOUT and e.source.pipeline == pid and e.target.pipeline == pid
    }
    return tuple(s for s in pipeline.stages if s.kind is StageKind.LOST and s.id.name in targets)


@dataclass(frozen=True, slots=True)
class _Lookup:
    """A pipeline's stages, fields and loss reasons by id, built once per diagram.

    Every name a diagram needs is looked up through these dicts, so drawing stays linear in
    the pipeline's size whatever the cost of ``Pipeline.stage`` or ``Pipeline.field``.  The
    first declaration of an id wins, as with those methods.
    """

    stages: dict[str, Stage]
    fields: dict[str, str]
    reasons: dict[str, str]
    order: dict[str, int]
    """Position of each stage in ``pipeline.stages``."""

    @staticmethod
    def of(pipeline: Pipeline) -> _Lookup:
        stages: dict[str, Stage] = {}
        order: dict[str, int] = {}
        for index, stage in enumerate(pipeline.stages):
            stages.setdefault(stage.id.name, stage)
            order.setdefault(stage.id.name, index)
        fields: dict[str, str] = {}
        for found in pipeline.fields:
            fields.setdefault(found.id.name, found.name.value)
        reasons: dict[str, str] = {}
        for reason in pipeline.reasons:
            reasons.setdefault(reason.id.name, reason.name.value)
        return _Lookup(stages, fields, reasons, order)


def _stage_label(stage: Stage, pit: bool) -> str:
    name = wrap(stage.name.value)
    meta: list[str] = []
    if stage.key:
        meta.append("key stage")
    if stage.sla is not None:
        meta.append(f"SLA {stage.sla}")
    if stage.probability is not None:
        meta.append(f"{stage.probability}%")
    if pit:
        meta.append("pit")
    return name + ("\n" + "  ·  ".join(meta) if meta else "")


def _stage_tooltip(lookup: _Lookup, stage: Stage) -> str:
    lines = [f"{stage.name.value} ({stage.id.name})"]
    if stage.goal is not None:
        lines.append(f"Goal: {stage.goal.value}")
    lines.extend(f"Exit: {text.value}" for text in stage.exits)
    if stage.requires:
        lines.append(
            "Requires: " + ", ".join(lookup.fields.get(r.name, r.name) for r in stage.requires)
        )
    lines.extend(f"Task: {text.value}" for text in stage.tasks)
    if stage.reasons:
        lines.append(
            "Reasons: " + ", ".join(lookup.reasons.get(r.name, r.name) for r in stage.reasons)
        )
    return "\n".join(lines)


def _stage_attrs(
    pipeline: Pipeline, lookup: _Lookup, stage: Stage, pit: bool
) -> list[tuple[str, str]]:
    pid = pipeline.id.name
    if pit:
        fill, border = PIT_FILL, PIT_BORDER
    elif stage.kind is StageKind.WON:
        fill, border = WON_FILL, WON_BORDER
    elif stage.kind is StageKind.LOST:
        fill, border = LOST_FILL, LOST_BORDER
    else:
        fill, border = STAGE_FILL, STAGE_BORDER
    if stage.color is not None:
        # Normalised to ``#rrggbb`` by the compiler; escaped anyway, like every user string.
        fill = _escape(stage.color.value)
    attrs = [
        # ``id`` is an escString too; stage ids are plain ASCII identifiers.
        ("id", label_value("stage_" + node_id(StageKey(pid, stage.id.name), pid))),
        ("label", label_value(_stage_label(stage, pit))),
        ("tooltip", tooltip_value(_stage_tooltip(lookup, stage))),
        ("fillcolor", fill),
        ("color", border),
    ]
    if _is_dark(fill):
        attrs.append(("fontcolor", "#ffffff"))
    if stage.is_outcome:
        attrs.append(("shape", "box"))
        attrs.append(("style", "filled,rounded,bold"))
    if stage.key:
        attrs.extend([("peripheries", "2"), ("penwidth", "2")])
    return attrs


def _edge_attrs(edge: Edge, pipeline: Pipeline) -> list[tuple[str, str]]:
    kind = edge.kind
    if kind is EdgeKind.ADVANCE:
        return [("color", INK)]
    if kind is EdgeKind.WIN:
        return [("color", WON_BORDER), ("penwidth", "1.5")]
    if kind is EdgeKind.HANDOFF:
        criteria = "\n".join(wrap(f"• {c}") for c in edge.criteria)
        criteria = f"accepted if:\n{criteria}" if criteria else "handoff"
        return [
            ("label", label_value(criteria)),
            ("color", HANDOFF),
            ("fontcolor", HANDOFF),
            ("penwidth", "2"),
        ]
    if kind is EdgeKind.LOSE:
        # Only a stage's ``then`` towards a lost outcome reaches here (see _edges).
        return [("color", LOST_BORDER)]
    if kind is EdgeKind.EXPLICIT:
        attrs = [("style", "dashed"), ("color", INK)]
        if edge.label:
            attrs.append(("label", label_value(wrap(edge.label))))
        return attrs
    if kind is EdgeKind.TIMEOUT:
        sla = f"after {edge.sla}" if edge.sla is not None else "timeout"
        # A tail label sits right under the stage that times out; a mid-edge label would float
        # somewhere along a long curve towards the pit.
        return [
            ("taillabel", label_value(sla)),
            ("labelfontcolor", MUTED),
            ("labelfontsize", "9"),
            ("labeldistance", "2.2"),
            ("labelangle", "-25"),
            ("style", "dotted"),
            ("color", MUTED),
            ("constraint", "false"),
        ]
    if kind is EdgeKind.REVIVE:
        text = f"revive after {edge.delay}" if edge.delay is not None else "revive"
        if edge.label:
            text += "\n" + wrap(edge.label)
        return [
            ("label", label_value(text)),
            ("color", REVIVE),
            ("fontcolor", REVIVE),
            ("penwidth", "1.5"),
            ("constraint", "false"),
        ]
    # EdgeKind.NEXT
    return [
        ("label", label_value("next")),
        ("style", "dashed"),
        ("color", EXTERNAL),
        ("fontcolor", EXTERNAL),
    ]


def _then_lose(pipeline: Pipeline, lookup: _Lookup) -> set[tuple[str, str]]:
    """(stage, lost outcome) pairs where the stage's forward move (``then``) is a loss:
    those are drawn as real edges; every other ``lose`` edge is summarised."""
    pairs: set[tuple[str, str]] = set()
    for stage in pipeline.open_stages:
        if stage.then is not None and stage.then.pipeline is None:
            target = lookup.stages.get(stage.then.name)
            if target is not None and target.kind is StageKind.LOST:
                pairs.add((stage.id.name, target.id.name))
    return pairs


def build_graph(project: Project, pipeline: Pipeline) -> Any:
    """``pipeline``'s diagram as a ``graphviz.Digraph`` (typed ``Any``: the package has no
    type information).  Statements are added in the order of the source (stages, then edges as
    the resolver made them), never of a set, so the DOT is the same on every run."""
    import graphviz

    pid = pipeline.id.name
    edges = project.edges_of(pid)
    lookup = _Lookup.of(pipeline)
    pit_ids = {s.id.name for s in _pits(pipeline, edges)}
    then_lose = _then_lose(pipeline, lookup)
    summarised = default_timeouts(pipeline, edges)
    summarised_set = {id(e) for e in summarised}
    timeout_summary = _timeout_summary(pipeline, lookup, summarised)

    def nid(key: StageKey) -> str:
        return node_id(key, pid)

    g = graphviz.Digraph(name=pid)
    title = pipeline.name.value
    if pipeline.segment is not None:
        title += "\n" + wrap(pipeline.segment.value, SEGMENT_WRAP)
    g.attr(
        "graph",
        _attributes=[
            ("label", label_value(title)),
            ("labelloc", "t"),
            ("labeljust", "l"),
            ("fontname", FONT),
            ("fontsize", "16"),
            ("fontcolor", INK),
            ("rankdir", "LR"),
            ("compound", "true"),
            ("nodesep", "0.35"),
            ("ranksep", "0.55"),
            ("tooltip", tooltip_value(f"{pipeline.name.value} ({pid})")),
        ],
    )
    g.attr(
        "node",
        _attributes=[
            ("shape", "box"),
            ("style", "filled,rounded"),
            ("fontname", FONT),
            ("fontsize", "11"),
            ("fontcolor", INK),
            ("margin", "0.15,0.07"),
        ],
    )
    g.attr(
        "edge",
        _attributes=[
            ("fontname", FONT),
            ("fontsize", "9"),
            ("fontcolor", INK),
            ("arrowsize", "0.7"),
        ],
    )

    # Open stages, in their phase clusters, inside one invisible cluster that the "any
    # stage" loss edges leave from when both phases can lose into the same outcome.
    with g.subgraph(name=_ALL_STAGES) as everything:
        everything.attr("graph", _attributes=[("label", ""), ("peripheries", "0"), ("margin", "4")])
        for ph in _PHASES:
            stages = pipeline.stages_in(ph.phase)
            if not stages:
                continue
            with everything.subgraph(name=ph.cluster) as cluster:
                attrs = [
                    ("label", label_value(ph.caption)),
                    ("labeljust", "l"),
                    ("fontsize", "12"),
                    ("fontcolor", ph.ink),
                    ("style", "filled,rounded"),
                    ("fillcolor", ph.fill),
                    ("color", ph.border),
                ]
                if ph.phase is Phase.LEAD and pipeline.lead is not None:
                    tip = [f"{ph.caption} phase"]
                    if pipeline.lead.definition is not None:
                        tip.append(f"Lead: {pipeline.lead.definition.value}")
                    tip.extend(f"Accept: {a.value}" for a in pipeline.lead.accept)
                    attrs.append(("tooltip", tooltip_value("\n".join(tip))))
                cluster.attr("graph", _attributes=attrs)
                for stage in stages:
                    cluster.node(
                        nid(StageKey(pid, stage.id.name)),
                        _attributes=_stage_attrs(pipeline, lookup, stage, False),
                    )

    # Outcomes: won and lost ones as they come; each pit alone in the last rank.
    for stage in pipeline.stages:
        if stage.is_outcome and stage.id.name not in pit_ids:
            g.node(
                nid(StageKey(pid, stage.id.name)),
                _attributes=_stage_attrs(pipeline, lookup, stage, False),
            )
    if pit_ids:
        with g.subgraph(name="pits") as sink:
            sink.attr("graph", _attributes=[("rank", "sink")])
            for stage in pipeline.stages:
                if stage.id.name in pit_ids:
                    sink.node(
                        nid(StageKey(pid, stage.id.name)),
                        _attributes=_stage_attrs(pipeline, lookup, stage, True),
                    )

    # Stages of other pipelines that an edge leads to or comes from.
    external: dict[StageKey, None] = {}
    for e in edges:
        for end in (e.source, e.target):
            if end.pipeline != pid:
                external.setdefault(end, None)
    for key in sorted(external):
        other = project.pipeline(key.pipeline)
        label = str(key)
        if other is not None:
            label += "\n" + wrap(other.name.value)
        g.node(
            nid(key),
            _attributes=[
                ("label", label_value(label)),
                ("tooltip", tooltip_value(_external_tooltip(project, key))),
                ("style", "dashed,rounded"),
                ("color", EXTERNAL),
                ("fontcolor", EXTERNAL),
            ],
        )

    # Edges in the order the resolver made them, implicit losses and the timeouts into the
    # default target summarised (that summary where the first timeout it stands for was).  A
    # `then` into a lost outcome may come with the implicit loss between the same stages: draw
    # it once.
    drawn: set[tuple[str, str, tuple[tuple[str, str], ...]]] = set()
    for e in edges:
        if e.kind is EdgeKind.LOSE and (e.source.stage, e.target.stage) not in then_lose:
            continue
        if id(e) in summarised_set:
            if e is summarised[0] and timeout_summary is not None:
                g.edge(
                    nid(StageKey(pid, timeout_summary.tail)),
                    nid(timeout_summary.target),
                    _attributes=timeout_summary.attrs(),
                )
            continue
        attrs = _edge_attrs(e, pipeline)
        statement = (nid(e.source), nid(e.target), tuple(attrs))
        if statement in drawn:
            continue
        drawn.add(statement)
        g.edge(nid(e.source), nid(e.target), _attributes=attrs)
    for tail, head, cluster_name in _loss_summaries(pipeline, lookup, edges, then_lose):
        g.edge(
            nid(StageKey(pid, tail)),
            nid(StageKey(pid, head)),
            _attributes=[
                ("ltail", cluster_name),
                ("label", label_value("any stage")),
                ("color", LOST_BORDER),
                ("fontcolor", LOST_BORDER),
                (
                    "tooltip",
                    tooltip_value(f"a deal can be lost from any {_scope(cluster_name)}stage"),
                ),
            ],
        )
    return g


def dot_source(project: Project, pipeline: Pipeline) -> str:
    """The DOT text of ``pipeline``'s diagram: ``build_graph(...).source`` (LF line endings,
    final newline, one statement per line)."""
    # Computed once per build for both the dot and the svg target (funnelc.emit.shared).
    source: str = shared(
        ("dot_source", id(project), id(pipeline)), lambda: build_graph(project, pipeline).source
    )
    return source


def _scope(cluster: str) -> str:
    return {"cluster_lead": "lead ", "cluster_deal": "deal "}.get(cluster, "")


def _external_tooltip(project: Project, key: StageKey) -> str:
    other = project.pipeline(key.pipeline)
    stage = other.stage(key.stage) if other is not None else None
    if other is None or stage is None:
        return str(key)
    return f"{other.name.value} ({key.pipeline})\n{stage.name.value} ({key.stage})"


@dataclass(frozen=True, slots=True)
class _TimeoutSummary:
    """The one dotted edge that stands for every timeout into the pipeline's default target."""

    tail: str
    """The last stage that times out into ``target``: the edge starts there."""
    target: StageKey
    cluster: str
    """The box the edge leaves: a phase's, or the one around both phases."""
    stages: int
    """How many stages it stands for (for the tooltip)."""
    ltail: bool
    """Whether the edge leaves the box: not when the target is an open stage inside it."""

    def attrs(self) -> list[tuple[str, str]]:
        scope = _scope(self.cluster) or "lead and deal "
        if self.stages == 1:
            tip = f"1 {scope}stage times out here: a deal leaves it when its SLA runs out"
        else:
            tip = (
                f"{self.stages} {scope}stages time out here: a deal leaves each of them when "
                "that stage's SLA runs out"
            )
        attrs = [("ltail", self.cluster)] if self.ltail else []
        attrs.extend(
            [
                ("label", label_value(TIMEOUT_SUMMARY)),
                ("style", "dotted"),
                ("color", MUTED),
                ("fontcolor", MUTED),
                ("constraint", "false"),
                ("tooltip", tooltip_value(f"{tip} (the SLA is on the stage's box)")),
            ]
        )
        return attrs


TIMEOUT_SUMMARY = "timeout: after each stage's SLA"
"""The label of the edge that stands for the timeouts into the default target."""


def default_timeouts(pipeline: Pipeline, edges: Iterable[Edge]) -> list[Edge]:
    """The timeout edges of ``pipeline`` that lead to its default target (``timeout -> x``
    outside any stage), whether a stage inherits the default or names it again: the ones the
    summary edge stands for, in the order given."""
    if pipeline.timeout is None:
        return []
    pid = pipeline.id.name
    # The grammar allows only a local id after `timeout ->`.
    target = StageKey(pid, pipeline.timeout.name)
    return [
        e
        for e in edges
        if e.kind is EdgeKind.TIMEOUT and e.source.pipeline == pid and e.target == target
    ]


def _timeout_summary(
    pipeline: Pipeline, lookup: _Lookup, summarised: Sequence[Edge]
) -> _TimeoutSummary | None:
    """The summary edge of the timeouts into the default target, if any stage has one.

    As for losses, it leaves the box of the phase whose stages time out, or the box around
    both phases when stages of both do, and starts at the last of those stages, so the edge
    is as short as it can be: one long edge across the diagram costs Graphviz seconds for a
    pipeline of a thousand stages.  The edge leaves the box (``ltail``) unless the target is
    an open stage inside it (a timeout into an open stage, which lint reports), where
    Graphviz would ignore ``ltail`` with a warning.
    """
    if not summarised:
        return None
    target = summarised[0].target
    sources = [e.source.stage for e in summarised]
    phases = {stage.phase for s in sources if (stage := lookup.stages.get(s)) is not None}
    cluster = _cluster_of(phases)
    head = lookup.stages.get(target.stage)
    inside = (
        head is not None
        and head.is_open
        and (cluster == _ALL_STAGES or _cluster_of({head.phase}) == cluster)
    )
    tail = max(sources, key=lambda s: lookup.order.get(s, -1))
    return _TimeoutSummary(tail, target, cluster, len(sources), not inside)


def _cluster_of(phases: set[Phase]) -> str:
    """The box around the open stages of ``phases``."""
    if phases == {Phase.LEAD}:
        return "cluster_lead"
    if phases == {Phase.DEAL}:
        return "cluster_deal"
    return _ALL_STAGES


def _loss_summaries(
    pipeline: Pipeline,
    lookup: _Lookup,
    edges: Iterable[Edge],
    then_lose: set[tuple[str, str]],
) -> list[tuple[str, str, str]]:
    """One (tail stage, lost outcome, cluster) per lost outcome, for its "any stage" edge.

    The cluster is the phase whose stages can lose into the outcome, or the cluster around
    both phases when stages of both can.  The tail is the last such stage, so the outcome is
    placed after it.
    """
    pid = pipeline.id.name
    sources: dict[str, list[str]] = {}
    for e in edges:
        if (
            e.kind is EdgeKind.LOSE
            and e.source.pipeline == pid
            and e.target.pipeline == pid
            and (e.source.stage, e.target.stage) not in then_lose
        ):
            sources.setdefault(e.target.stage, []).append(e.source.stage)
    order = lookup.order
    summaries: list[tuple[str, str, str]] = []
    for head in sorted(sources, key=lambda s: order.get(s, len(order))):
        stages = [lookup.stages.get(s) for s in sources[head]]
        cluster = _cluster_of({s.phase for s in stages if s is not None})
        tail = max(sources[head], key=lambda s: order.get(s, -1))
        summaries.append((tail, head, cluster))
    return summaries


class DotTarget:
    """The ``dot`` target (see the module docstring)."""

    name: str = "dot"
    description: str = "Graphviz DOT source of each pipeline's diagram"

    def emit(self, project: Project, pipeline: Pipeline, options: EmitOptions) -> Emitted:
        source = dot_source(project, pipeline)
        return Emitted(files={f"{pipeline.id.name}.dot": source.encode("utf-8")})


TARGET = DotTarget()

if TYPE_CHECKING:
    _CONFORMS: Target = TARGET
