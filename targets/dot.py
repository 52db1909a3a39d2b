"""Target ``dot``: one pipeline as Graphviz DOT source, the diagram a sales lead reads.

The same source feeds the ``svg`` target (:mod:`funnelc.targets.svg`), so everything about how
the diagram looks is decided here.  What it shows, left to right: the lead phase and the deal
phase as two labelled clusters of stage boxes (name, SLA, probability; the key stage with a
double bold border and "key stage"), the won outcomes in green, the lost ones in red, and the pit
(a lost outcome that timeouts lead to) dark grey at the far right.  Forward moves are solid
arrows, explicit back/skip edges dashed with their label, timeouts dotted grey with the SLA,
revivals purple with their delay, ``next`` moves dashed to a plain node for the other pipeline.

Losing is possible from every open stage, so drawing each implicit ``lose`` edge would bury the
diagram in red arrows (n stages × m lost outcomes).  Instead each lost outcome gets *one* edge
that leaves the box around the stages it can be reached from (``ltail`` to a cluster),
labelled "any stage".

Why the DOT is written by hand and not with ``graphviz.Digraph``: its quoting leaves
backslashes alone, so a name ending in ``\\`` produces a syntax error and ``\\N`` in a name is
replaced by the node id; and HTML-like labels (which would sidestep that) are not available in
the WebAssembly build of Graphviz that the ``svg`` output is checked against (it is built
without expat).  So labels are plain ``escString`` s, escaped by :func:`escape_label` and
:func:`escape_tooltip`, whose rules were checked against both graphviz-pure and upstream
Graphviz 16.1.
"""

from __future__ import annotations

import textwrap
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from funnelc.emit import EmitOptions, Emitted
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


# ---- escaping --------------------------------------------------------------------------------


def clean(text: str) -> str:
    """``text`` with what SVG (XML 1.0) cannot hold replaced: CR and tabs become a newline and
    a space, other control characters and the non-characters U+FFFE/U+FFFF become U+FFFD.

    Strings in ``.funnel`` files may contain any of them (``\\0``, ``\\u0001`` or literally);
    Graphviz would copy them into the SVG and make it unparseable.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    if all(c == "\n" or c.isprintable() for c in text):
        return text
    return "".join(
        c if c == "\n" or not (unicodedata.category(c) == "Cc" or c in "\ufffe\uffff") else "\ufffd"
        for c in text
    )


def _escape(text: str, backslash: str) -> str:
    out: list[str] = []
    for c in clean(text):
        if c == "\\":
            out.append(backslash)
        elif c == '"':
            out.append('\\"')
        elif c == "\n":
            out.append("\\n")
        elif c == "&":
            # Graphviz decodes HTML entities in labels; escaping ``&`` keeps "&amp;" literal.
            out.append("&amp;")
        else:
            out.append(c)
    return "".join(out)


def escape_label(text: str) -> str:
    """The body of a quoted DOT ``label`` that Graphviz shows as exactly ``text``.

    Labels are escStrings: ``\\N``, ``\\G``, ``\\l`` … are expanded, so a backslash is doubled;
    a newline becomes ``\\n`` (a centred line break); ``&`` is written as ``&amp;``.
    """
    return _escape(text, "\\\\")


def escape_tooltip(text: str) -> str:
    """The body of a quoted DOT ``tooltip`` that shows as exactly ``text``.

    A tooltip is unescaped once more than a label before ``\\N`` … are expanded, so a
    backslash needs four backslashes here (measured; the same in graphviz-pure and Graphviz).
    """
    return _escape(text, "\\\\\\\\")


def quote(value: str) -> str:
    """A quoted DOT id or attribute value that is not an escString (ids, colours, styles)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def node_id(key: StageKey, pipeline_id: str) -> str:
    """The DOT node id of a stage: its id within its own pipeline, ``pipeline.stage`` outside.

    Ids in ``.funnel`` files are ASCII, so the ids stay readable in diffs; anything else (a
    future Unicode id) is spelt as ``uXXXX`` so the DOT and the SVG ``<title>`` stay ASCII.
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


# ---- the writer ------------------------------------------------------------------------------


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 0

    def line(self, text: str) -> None:
        self.lines.append("  " * self.depth + text)

    def stmt(self, head: str, attrs: Attrs) -> None:
        if not attrs:
            self.line(head)
            return
        body = ", ".join(f"{name}={value}" for name, value in attrs)
        self.line(f"{head} [{body}]")

    def open(self, head: str) -> None:
        self.line(head + " {")
        self.depth += 1

    def close(self) -> None:
        self.depth -= 1
        self.line("}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _label(text: str) -> str:
    return '"' + escape_label(text) + '"'


def _tooltip(text: str) -> str:
    return '"' + escape_tooltip(text) + '"'


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


def pits(project: Project, pipeline: Pipeline) -> tuple[Stage, ...]:
    """The pipeline's pits: lost outcomes that some timeout edge leads to (M6)."""
    pid = pipeline.id.name
    targets = {
        e.target.stage
        for e in project.edges
        if e.kind is EdgeKind.TIMEOUT and e.source.pipeline == pid and e.target.pipeline == pid
    }
    return tuple(s for s in pipeline.stages if s.kind is StageKind.LOST and s.id.name in targets)


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


def _stage_tooltip(pipeline: Pipeline, stage: Stage) -> str:
    lines = [f"{stage.name.value} ({stage.id.name})"]
    if stage.goal is not None:
        lines.append(f"Goal: {stage.goal.value}")
    lines.extend(f"Exit: {text.value}" for text in stage.exits)
    if stage.requires:
        lines.append(
            "Requires: " + ", ".join(_field_name(pipeline, r.name) for r in stage.requires)
        )
    lines.extend(f"Task: {text.value}" for text in stage.tasks)
    if stage.reasons:
        lines.append("Reasons: " + ", ".join(_reason_name(pipeline, r.name) for r in stage.reasons))
    return "\n".join(lines)


def _field_name(pipeline: Pipeline, field_id: str) -> str:
    found = pipeline.field(field_id)
    return found.name.value if found is not None else field_id


def _reason_name(pipeline: Pipeline, reason_id: str) -> str:
    for reason in pipeline.reasons:
        if reason.id.name == reason_id:
            return reason.name.value
    return reason_id


def _stage_attrs(pipeline: Pipeline, stage: Stage, pit: bool) -> list[tuple[str, str]]:
    if pit:
        fill, border = PIT_FILL, PIT_BORDER
    elif stage.kind is StageKind.WON:
        fill, border = WON_FILL, WON_BORDER
    elif stage.kind is StageKind.LOST:
        fill, border = LOST_FILL, LOST_BORDER
    else:
        fill, border = STAGE_FILL, STAGE_BORDER
    if stage.color is not None:
        fill = stage.color.value
    attrs = [
        (
            "id",
            quote("stage_" + node_id(StageKey(pipeline.id.name, stage.id.name), pipeline.id.name)),
        ),
        ("label", _label(_stage_label(stage, pit))),
        ("tooltip", _tooltip(_stage_tooltip(pipeline, stage))),
        ("fillcolor", quote(fill)),
        ("color", quote(border)),
    ]
    if _is_dark(fill):
        attrs.append(("fontcolor", quote("#ffffff")))
    if stage.is_outcome:
        attrs.append(("shape", "box"))
        attrs.append(("style", quote("filled,rounded,bold")))
    if stage.key:
        attrs.extend([("peripheries", "2"), ("penwidth", "2")])
    return attrs


def _edge_attrs(edge: Edge, pipeline: Pipeline) -> list[tuple[str, str]]:
    kind = edge.kind
    if kind is EdgeKind.ADVANCE:
        return [("color", quote(INK))]
    if kind is EdgeKind.WIN:
        return [("color", quote(WON_BORDER)), ("penwidth", "1.5")]
    if kind is EdgeKind.HANDOFF:
        criteria = "\n".join(wrap(f"• {c}") for c in edge.criteria)
        criteria = f"accepted if:\n{criteria}" if criteria else "handoff"
        return [
            ("label", _label(criteria)),
            ("color", quote(HANDOFF)),
            ("fontcolor", quote(HANDOFF)),
            ("penwidth", "2"),
        ]
    if kind is EdgeKind.LOSE:
        # Only a stage's ``then`` towards a lost outcome reaches here (see _edges).
        return [("color", quote(LOST_BORDER))]
    if kind is EdgeKind.EXPLICIT:
        attrs = [("style", "dashed"), ("color", quote(INK))]
        if edge.label:
            attrs.append(("label", _label(wrap(edge.label))))
        return attrs
    if kind is EdgeKind.TIMEOUT:
        sla = f"after {edge.sla}" if edge.sla is not None else "timeout"
        # A tail label sits right under the stage that times out; a mid-edge label would float
        # somewhere along a long curve towards the pit.
        return [
            ("taillabel", _label(sla)),
            ("labelfontcolor", quote(MUTED)),
            ("labelfontsize", "9"),
            ("labeldistance", "2.2"),
            ("labelangle", "-25"),
            ("style", "dotted"),
            ("color", quote(MUTED)),
            ("constraint", "false"),
        ]
    if kind is EdgeKind.REVIVE:
        text = f"revive after {edge.delay}" if edge.delay is not None else "revive"
        if edge.label:
            text += "\n" + wrap(edge.label)
        return [
            ("label", _label(text)),
            ("color", quote(REVIVE)),
            ("fontcolor", quote(REVIVE)),
            ("penwidth", "1.5"),
            ("constraint", "false"),
        ]
    # EdgeKind.NEXT
    return [
        ("label", _label("next")),
        ("style", "dashed"),
        ("color", quote(EXTERNAL)),
        ("fontcolor", quote(EXTERNAL)),
    ]


def _then_lose(pipeline: Pipeline) -> set[tuple[str, str]]:
    """(stage, lost outcome) pairs where the stage's forward move (``then``) is a loss:
    those are drawn as real edges; every other ``lose`` edge is summarised."""
    pairs: set[tuple[str, str]] = set()
    for stage in pipeline.open_stages:
        if stage.then is not None and stage.then.pipeline is None:
            target = pipeline.stage(stage.then.name)
            if target is not None and target.kind is StageKind.LOST:
                pairs.add((stage.id.name, target.id.name))
    return pairs


def dot_source(project: Project, pipeline: Pipeline) -> str:
    """The DOT text of ``pipeline``'s diagram (LF line endings, final newline)."""
    pid = pipeline.id.name
    edges = [e for e in project.edges if pid in (e.source.pipeline, e.target.pipeline)]
    pit_ids = {s.id.name for s in pits(project, pipeline)}
    then_lose = _then_lose(pipeline)

    def nid(key: StageKey) -> str:
        return quote(node_id(key, pid))

    w = _Writer()
    w.open(f"digraph {quote(pid)}")
    title = pipeline.name.value
    if pipeline.segment is not None:
        title += "\n" + wrap(pipeline.segment.value, SEGMENT_WRAP)
    w.stmt(
        "graph",
        [
            ("label", _label(title)),
            ("labelloc", "t"),
            ("labeljust", "l"),
            ("fontname", quote(FONT)),
            ("fontsize", "16"),
            ("fontcolor", quote(INK)),
            ("rankdir", "LR"),
            ("compound", "true"),
            ("nodesep", "0.35"),
            ("ranksep", "0.55"),
            ("tooltip", _tooltip(f"{pipeline.name.value} ({pid})")),
        ],
    )
    w.stmt(
        "node",
        [
            ("shape", "box"),
            ("style", quote("filled,rounded")),
            ("fontname", quote(FONT)),
            ("fontsize", "11"),
            ("fontcolor", quote(INK)),
            ("margin", quote("0.15,0.07")),
        ],
    )
    w.stmt(
        "edge",
        [
            ("fontname", quote(FONT)),
            ("fontsize", "9"),
            ("fontcolor", quote(INK)),
            ("arrowsize", "0.7"),
        ],
    )

    # Open stages, in their phase clusters, inside one invisible cluster that the "any
    # stage" loss edges leave from when both phases can lose into the same outcome.
    w.open(f"subgraph {quote(_ALL_STAGES)}")
    w.stmt("graph", [("label", '""'), ("peripheries", "0"), ("margin", "4")])
    for ph in _PHASES:
        stages = pipeline.stages_in(ph.phase)
        if not stages:
            continue
        w.open(f"subgraph {quote(ph.cluster)}")
        attrs = [
            ("label", _label(ph.caption)),
            ("labeljust", "l"),
            ("fontsize", "12"),
            ("fontcolor", quote(ph.ink)),
            ("style", quote("filled,rounded")),
            ("fillcolor", quote(ph.fill)),
            ("color", quote(ph.border)),
        ]
        if ph.phase is Phase.LEAD and pipeline.lead is not None:
            tip = [f"{ph.caption} phase"]
            if pipeline.lead.definition is not None:
                tip.append(f"Lead: {pipeline.lead.definition.value}")
            tip.extend(f"Accept: {a.value}" for a in pipeline.lead.accept)
            attrs.append(("tooltip", _tooltip("\n".join(tip))))
        w.stmt("graph", attrs)
        for stage in stages:
            w.stmt(nid(StageKey(pid, stage.id.name)), _stage_attrs(pipeline, stage, False))
        w.close()
    w.close()

    # Outcomes: won and lost ones as they come; each pit alone in the last rank.
    for stage in pipeline.stages:
        if stage.is_outcome and stage.id.name not in pit_ids:
            w.stmt(nid(StageKey(pid, stage.id.name)), _stage_attrs(pipeline, stage, False))
    if pit_ids:
        w.open("subgraph pits")
        w.stmt("graph", [("rank", "sink")])
        for stage in pipeline.stages:
            if stage.id.name in pit_ids:
                w.stmt(nid(StageKey(pid, stage.id.name)), _stage_attrs(pipeline, stage, True))
        w.close()

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
        w.stmt(
            nid(key),
            [
                ("label", _label(label)),
                ("tooltip", _tooltip(_external_tooltip(project, key))),
                ("style", quote("dashed,rounded")),
                ("color", quote(EXTERNAL)),
                ("fontcolor", quote(EXTERNAL)),
            ],
        )

    # Edges in the order the resolver made them, implicit losses summarised.  A `then` into a
    # lost outcome may come with the implicit loss between the same stages: draw it once.
    drawn: set[str] = set()
    for e in edges:
        if e.kind is EdgeKind.LOSE and (e.source.stage, e.target.stage) not in then_lose:
            continue
        head = f"{nid(e.source)} -> {nid(e.target)}"
        attrs = _edge_attrs(e, pipeline)
        statement = head + repr(attrs)
        if statement in drawn:
            continue
        drawn.add(statement)
        w.stmt(head, attrs)
    for tail, head, cluster in _loss_summaries(pipeline, edges, then_lose):
        w.stmt(
            f"{nid(StageKey(pid, tail))} -> {nid(StageKey(pid, head))}",
            [
                ("ltail", quote(cluster)),
                ("label", _label("any stage")),
                ("color", quote(LOST_BORDER)),
                ("fontcolor", quote(LOST_BORDER)),
                ("tooltip", _tooltip(f"a deal can be lost from any {_scope(cluster)}stage")),
            ],
        )
    w.close()
    return w.text()


def _scope(cluster: str) -> str:
    return {"cluster_lead": "lead ", "cluster_deal": "deal "}.get(cluster, "")


def _external_tooltip(project: Project, key: StageKey) -> str:
    other = project.pipeline(key.pipeline)
    stage = other.stage(key.stage) if other is not None else None
    if other is None or stage is None:
        return str(key)
    return f"{other.name.value} ({key.pipeline})\n{stage.name.value} ({key.stage})"


def _loss_summaries(
    pipeline: Pipeline, edges: Iterable[Edge], then_lose: set[tuple[str, str]]
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
    order = {s.id.name: i for i, s in enumerate(pipeline.stages)}
    summaries: list[tuple[str, str, str]] = []
    for head in sorted(sources, key=lambda s: order.get(s, len(order))):
        stages = [pipeline.stage(s) for s in sources[head]]
        phases = {s.phase for s in stages if s is not None}
        if phases == {Phase.LEAD}:
            cluster = "cluster_lead"
        elif phases == {Phase.DEAL}:
            cluster = "cluster_deal"
        else:
            cluster = _ALL_STAGES
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
