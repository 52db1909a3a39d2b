"""Target ``dot``: one pipeline as Graphviz DOT source, the diagram a sales lead reads.

The same source feeds the ``svg`` target (:mod:`funnelc.targets.svg`), so everything about how
the diagram looks is decided here.  What it shows, top to bottom (GitHub shows an SVG about
1 000 px wide, so the width must not grow with the number of stages): the lead phase and the
deal phase as two labelled clusters of stage boxes (name, SLA, probability; the key stage with a
double bold border and "key stage"), the won outcomes in green, the lost ones in red, and the pit
(a lost outcome that timeouts lead to) dark grey at the bottom.  Forward moves are solid arrows,
explicit back/skip edges dashed with their label, timeouts dotted grey, revivals purple with
their delay, ``next`` moves dashed to a plain node for the other pipeline.  Every word the
diagram writes itself is in the pipeline's language (:func:`funnelc.language.pipeline_language`),
from the gettext catalogue (:func:`words`), durations included (:func:`duration_label`).

Losing is possible from every open stage, and most stages time out into the pit, so drawing each
implicit ``lose`` and ``timeout`` edge would bury the diagram in arrows, and make the layout grow
with the square of the stage count: Graphviz routes an edge through a virtual node per rank it
crosses (a 1 000-stage pipeline whose stages time out into a lost outcome other than the default
took 207 s).  Instead each phase gets a small dashed "any stage" marker beside its *last* stage,
and from it one red edge per lost outcome and one dotted edge per timeout target
(:func:`summaries`); those edges are short because the outcomes lie just below.  The SLA of each
stage is on its box ("SLA 14d"), which is where the diagram meets "timeout edges labelled with
the SLA".

Boxes are made wide enough for their text in DejaVu Sans (:func:`text_width`), the widest common
fallback for Arial, whose metrics Graphviz lays out with; the SVG names the font stack
(:mod:`funnelc.targets.svg`).

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

import functools
import textwrap
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from funnelc.diagnostics import Diagnostic
from funnelc.emit import NO_CAPABILITIES, Capabilities, EmitOptions, Emitted, shared
from funnelc.i18n import N_, Msg, ngettext_noop, pgettext_noop, render
from funnelc.model import (
    Duration,
    DurationUnit,
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
SEGMENT_WRAP = 60

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
    """``text`` with lines longer than ``width`` broken at spaces (words are never split).

    The text goes through :func:`clean` first: ``textwrap`` counts control characters such as a form
    feed as spaces and would drop them at a line's end, where the label must show U+FFFD."""
    lines: list[str] = []
    for line in clean(text).split("\n"):
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
    """The key of its caption in :data:`WORDS`."""
    fill: str
    border: str
    ink: str


_PHASES = (
    _Phase(Phase.LEAD, "cluster_lead", "lead", LEAD_FILL, LEAD_BORDER, LEAD_INK),
    _Phase(Phase.DEAL, "cluster_deal", "deal", DEAL_FILL, DEAL_BORDER, DEAL_INK),
)


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


# ---- the diagram's own words, in the pipeline's language ---------------------------------------

# A diagram word whose English text is also a message elsewhere with another translation
# (``timeout``, ``next``, ``won`` ...) has the gettext context ``diagram`` (``msgctxt``).
WORDS: dict[str, str | Msg] = {
    "lead": N_("Lead"),
    "deal": N_("Deal"),
    "key": N_("key stage"),
    "sla": N_("SLA {sla}"),
    "pit": N_("pit"),
    "accepted_if": N_("accepted if:"),
    "handoff": N_("handoff"),
    "timeout_after": N_("after {sla}"),
    "timeout": pgettext_noop("diagram", "timeout"),
    "revive_after": N_("revive after {delay}"),
    "revive": pgettext_noop("diagram", "revive"),
    "next": pgettext_noop("diagram", "next"),
    "any_stage": N_("any stage"),
    "timeout_summary": N_("timeout: after each stage's SLA"),
    "timeout_of": N_("timeout: {stages}"),
    "goal": N_("Goal: {text}"),
    "exit": N_("Exit: {text}"),
    "requires": N_("Requires: {text}"),
    "task": N_("Task: {text}"),
    "reasons": N_("Reasons: {text}"),
    "lead_phase": N_("Lead phase"),
    "definition": N_("Lead: {text}"),
    "accept": N_("Accept: {text}"),
    "any_tip_lead": N_(
        "any lead stage: a deal can be lost from each of them, and each times out when its "
        "SLA runs out"
    ),
    "any_tip_deal": N_(
        "any deal stage: a deal can be lost from each of them, and each times out when its "
        "SLA runs out"
    ),
    "lose_tip_lead": N_("a deal can be lost from any lead stage"),
    "lose_tip_deal": N_("a deal can be lost from any deal stage"),
}
"""The words the diagram itself writes, in English: the message ids of the catalogue
(``funnelc/locale/<lang>/LC_MESSAGES/funnelc.po``), shown in the pipeline's language
(:func:`funnelc.language.pipeline_language`) by :func:`words`.  Ids (``stage_new``,
``pipeline.stage``) stay as they are in every language."""

_STAGE_COUNT = {
    Phase.LEAD: ngettext_noop("{n} lead stage", "{n} lead stages"),
    Phase.DEAL: ngettext_noop("{n} deal stage", "{n} deal stages"),
}
_TIMEOUT_TIP = ngettext_noop(
    "{stages} times out here when their SLA runs out (the SLA is on the stage's box): {names}",
    "{stages} time out here when their SLA runs out (the SLA is on the stage's box): {names}",
)

_UNITS = {
    DurationUnit.MINUTES: N_("{n}min"),
    DurationUnit.HOURS: N_("{n}h"),
    DurationUnit.DAYS: N_("{n}d"),
    DurationUnit.WEEKS: N_("{n}w"),
    DurationUnit.BUSINESS_DAYS: N_("{n}bd"),
}
"""Durations as the file writes them (``14d``, ``5bd``); the catalogue gives each language its
short units, one per source unit (Russian ``bd`` is «раб. дн», never just «дн»), so a diagram
says exactly what the file says."""


@functools.cache
def words(language: str) -> Mapping[str, str]:
    """:data:`WORDS` in ``language`` (rendered from the catalogue, no global state read)."""
    return {key: render(as_msg(text), language) for key, text in WORDS.items()}


def as_msg(text: str | Msg) -> Msg:
    """A table's entry as a message: an ``N_`` id, or a ``pgettext_noop`` message as it is."""
    return text if isinstance(text, Msg) else Msg(text)


def duration_label(duration: Duration, language: str) -> str:
    """A duration as the diagram shows it: as written in English (``14d``, ``5bd``), with
    the catalogue's units in another language (``14 дн``, ``5 раб. дн``, ``2 ч``)."""
    return render(Msg(_UNITS[duration.unit], (("n", duration.value),)), language)


def _stage_count(n: int, phase: Phase, language: str) -> str:
    singular, plural = _STAGE_COUNT[phase]
    return render(Msg(singular, (("n", n),), plural, n), language)


# ---- sizes: room for the fallback fonts --------------------------------------------------------

NODE_FONT_SIZE = 12.0
EDGE_FONT_SIZE = 10.0
TITLE_FONT_SIZE = 16.0
NODE_MARGIN_X = 0.15
"""Horizontal node margin, inches (Graphviz's ``margin``)."""


def _widths() -> dict[int, int]:
    from ._dejavu_widths import RANGES

    return {first + i: w for first, widths in RANGES for i, w in enumerate(widths)}


_WIDTHS: dict[int, int] = {}


def text_width(line: str, size: float) -> float:
    """The width in points of ``line`` set in DejaVu Sans at ``size`` points: the widest font a
    reader is likely to get instead of Arial (Liberation Sans and Arimo have Arial's metrics).
    A character outside the table counts as one em."""
    if not _WIDTHS:
        _WIDTHS.update(_widths())
    return sum(_WIDTHS.get(ord(c), 1000) for c in line) * size / 1000


def _box_width(label: str, size: float = NODE_FONT_SIZE) -> str:
    """The ``width`` (inches) of a box whose ``label`` fits in DejaVu Sans with the margins:
    Graphviz sizes boxes with Arial's metrics, and a wider font would run out of them."""
    widest = max((text_width(line, size) for line in label.split("\n")), default=0.0)
    return f"{(widest + 2 * NODE_MARGIN_X * 72 + 6) / 72:.2f}"


# ---- stages ------------------------------------------------------------------------------------


def _stage_label(stage: Stage, pit: bool, language: str) -> str:
    t = words(language)
    name = wrap(stage.name.value)
    meta: list[str] = []
    if stage.key:
        meta.append(t["key"])
    if stage.sla is not None:
        meta.append(t["sla"].format(sla=duration_label(stage.sla, language)))
    if stage.probability is not None:
        meta.append(f"{stage.probability}%")
    if pit:
        meta.append(t["pit"])
    return name + ("\n" + "  ·  ".join(meta) if meta else "")


def _stage_tooltip(lookup: _Lookup, stage: Stage, language: str) -> str:
    t = words(language)
    lines = [f"{stage.name.value} ({stage.id.name})"]
    if stage.goal is not None:
        lines.append(t["goal"].format(text=stage.goal.value))
    lines.extend(t["exit"].format(text=text.value) for text in stage.exits)
    if stage.requires:
        names = ", ".join(lookup.fields.get(r.name, r.name) for r in stage.requires)
        lines.append(t["requires"].format(text=names))
    lines.extend(t["task"].format(text=text.value) for text in stage.tasks)
    if stage.reasons:
        names = ", ".join(lookup.reasons.get(r.name, r.name) for r in stage.reasons)
        lines.append(t["reasons"].format(text=names))
    return "\n".join(lines)


def _stage_attrs(
    pipeline: Pipeline, lookup: _Lookup, stage: Stage, pit: bool, language: str
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
    label = _stage_label(stage, pit, language)
    attrs = [
        # ``id`` is an escString too; stage ids are plain ASCII identifiers.
        ("id", label_value("stage_" + node_id(StageKey(pid, stage.id.name), pid))),
        ("label", label_value(label)),
        ("tooltip", tooltip_value(_stage_tooltip(lookup, stage, language))),
        ("width", _box_width(label)),
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


def _edge_attrs(edge: Edge, language: str) -> list[tuple[str, str]]:
    t = words(language)
    kind = edge.kind
    if kind is EdgeKind.ADVANCE:
        return [("color", INK)]
    if kind is EdgeKind.WIN:
        return [("color", WON_BORDER), ("penwidth", "1.5")]
    if kind is EdgeKind.HANDOFF:
        criteria = "\n".join(wrap(f"• {c}") for c in edge.criteria)
        criteria = f"{t['accepted_if']}\n{criteria}" if criteria else t["handoff"]
        return [
            ("label", label_value(criteria)),
            ("color", HANDOFF),
            ("fontcolor", HANDOFF),
            ("penwidth", "2"),
        ]
    if kind is EdgeKind.LOSE:
        # Only a stage's ``then`` towards a lost outcome reaches here (see build_graph).
        return [("color", LOST_BORDER)]
    if kind is EdgeKind.EXPLICIT:
        attrs = [("style", "dashed"), ("color", INK)]
        if edge.label:
            attrs.append(("label", label_value(wrap(edge.label))))
        return attrs
    if kind is EdgeKind.TIMEOUT:
        # Only a timeout into another pipeline's stage reaches here: the others are summarised.
        sla = (
            t["timeout_after"].format(sla=duration_label(edge.sla, language))
            if edge.sla is not None
            else t["timeout"]
        )
        return [
            ("label", label_value(sla)),
            ("style", "dotted"),
            ("color", MUTED),
            ("fontcolor", MUTED),
            ("constraint", "false"),
        ]
    if kind is EdgeKind.REVIVE:
        text = (
            t["revive_after"].format(delay=duration_label(edge.delay, language))
            if edge.delay is not None
            else t["revive"]
        )
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
        ("label", label_value(t["next"])),
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


# ---- summaries: "any stage" ----------------------------------------------------------------------


def marker_id(phase: Phase) -> str:
    """The DOT id of a phase's "any stage" marker (``any-lead``): a hyphen is never in a stage
    id, so it cannot collide with one."""
    return f"any-{phase.value}"


@dataclass(frozen=True, slots=True)
class Summary:
    """One edge that stands for many: from a phase's "any stage" marker to ``target``.

    ``kind`` is ``LOSE`` (every stage of the phase can be lost into the outcome) or
    ``TIMEOUT`` (``stages`` time out into the target when their SLA runs out).
    """

    phase: Phase
    kind: EdgeKind
    target: StageKey
    stages: tuple[str, ...]
    """The ids of the stages it stands for, in the order of the pipeline."""


def summaries(project: Project, pipeline: Pipeline) -> list[Summary]:
    """The summary edges of ``pipeline``'s diagram (see :func:`_summaries`)."""
    lookup = _Lookup.of(pipeline)
    edges = project.edges_of(pipeline.id.name)
    return _summaries(pipeline, lookup, edges, _then_lose(pipeline, lookup))


def _summaries(
    pipeline: Pipeline, lookup: _Lookup, edges: Iterable[Edge], then_lose: set[tuple[str, str]]
) -> list[Summary]:
    """One summary per (phase, lost outcome) for the implicit losses, and one per (phase,
    timeout target) for the timeouts inside the pipeline: losses first, then timeouts, each in
    the order their first edge comes.

    Drawing every such edge would bury the diagram in arrows (n stages × m outcomes), and the
    layout would grow with the square of the stage count: every edge into a far outcome crosses
    each rank between, and Graphviz routes it through a virtual node per rank.
    """
    pid = pipeline.id.name
    groups: dict[tuple[EdgeKind, Phase, str], list[str]] = {}
    for e in edges:
        if e.source.pipeline != pid or e.target.pipeline != pid:
            continue
        stage = lookup.stages.get(e.source.stage)
        if stage is None:
            continue
        if e.kind is EdgeKind.LOSE and (e.source.stage, e.target.stage) not in then_lose:
            kind = EdgeKind.LOSE
        elif e.kind is EdgeKind.TIMEOUT:
            kind = EdgeKind.TIMEOUT
        else:
            continue
        sources = groups.setdefault((kind, stage.phase, e.target.stage), [])
        if e.source.stage not in sources:
            sources.append(e.source.stage)
    order = lookup.order
    result = [
        Summary(phase, kind, StageKey(pid, target), tuple(sorted(s, key=lambda x: order[x])))
        for (kind, phase, target), s in groups.items()
    ]
    rank = {EdgeKind.LOSE: 0, EdgeKind.TIMEOUT: 1}
    return sorted(result, key=lambda s: rank[s.kind])


TOOLTIP_NAMES = 12
"""A summary's tooltip names at most this many stages (then "…"), so the DOT stays linear."""


def _summary_attrs(
    summary: Summary, pipeline: Pipeline, lookup: _Lookup, language: str
) -> list[tuple[str, str]]:
    t = words(language)
    phase = summary.phase.value
    if summary.kind is EdgeKind.LOSE:
        return [
            ("color", LOST_BORDER),
            ("tooltip", tooltip_value(t["lose_tip_" + phase])),
        ]
    names = [lookup.stages[s].name.value for s in summary.stages]
    default = pipeline.timeout is not None and pipeline.timeout.name == summary.target.stage
    if default:
        label = t["timeout_summary"]
    elif len(names) <= 3:
        label = wrap(t["timeout_of"].format(stages=", ".join(names)))
    else:
        label = t["timeout_of"].format(stages=_stage_count(len(names), summary.phase, language))
    listed = ", ".join(names[:TOOLTIP_NAMES]) + (", …" if len(names) > TOOLTIP_NAMES else "")
    singular, plural = _TIMEOUT_TIP
    tip = render(
        Msg(singular, plural=plural, n=len(names)).with_args(
            stages=_stage_count(len(names), summary.phase, language), names=listed
        ),
        language,
    )
    return [
        ("label", label_value(label)),
        ("style", "dotted"),
        ("color", MUTED),
        ("fontcolor", MUTED),
        ("constraint", "false"),
        ("tooltip", tooltip_value(tip)),
    ]


# ---- the graph ---------------------------------------------------------------------------------


def build_graph(project: Project, pipeline: Pipeline, language: str | None = None) -> Any:
    """``pipeline``'s diagram as a ``graphviz.Digraph`` (typed ``Any``: the package has no
    type information).  Statements are added in the order of the source (stages, then edges as
    the resolver made them), never of a set, so the DOT is the same on every run.

    ``language`` is the project's default (the config's ``language``); the pipeline's own
    declaration wins over it (:func:`funnelc.language.pipeline_language`)."""
    import graphviz

    from funnelc.language import pipeline_language

    lang = pipeline_language(pipeline, language)
    t = words(lang)
    pid = pipeline.id.name
    edges = project.edges_of(pid)
    lookup = _Lookup.of(pipeline)
    pit_ids = {s.id.name for s in _pits(pipeline, edges)}
    then_lose = _then_lose(pipeline, lookup)
    summary_edges = _summaries(pipeline, lookup, edges, then_lose)
    marked = {s.phase for s in summary_edges}

    def nid(key: StageKey) -> str:
        return node_id(key, pid)

    g = graphviz.Digraph(name=pid)
    title = pipeline.name.value
    if pipeline.segment is not None:
        title += "\n" + wrap(pipeline.segment.value, SEGMENT_WRAP)
    # The title is laid out with Arial's metrics; if it is the widest thing in the diagram, a
    # wider fallback font overflows it on both sides by up to ~8 % of its width: pad for that.
    widest_title = max(text_width(line, TITLE_FONT_SIZE) for line in title.split("\n"))
    g.attr(
        "graph",
        _attributes=[
            ("label", label_value(title)),
            ("labelloc", "t"),
            ("labeljust", "l"),
            ("fontname", FONT),
            ("fontsize", f"{TITLE_FONT_SIZE:g}"),
            ("fontcolor", INK),
            ("rankdir", "TB"),
            ("compound", "true"),
            ("nodesep", "0.3"),
            ("ranksep", "0.35"),
            ("pad", f"{max(0.15, widest_title * 0.09 / 72):.2f},0.1"),
            ("tooltip", tooltip_value(f"{pipeline.name.value} ({pid})")),
        ],
    )
    g.attr(
        "node",
        _attributes=[
            ("shape", "box"),
            ("style", "filled,rounded"),
            ("fontname", FONT),
            ("fontsize", f"{NODE_FONT_SIZE:g}"),
            ("fontcolor", INK),
            ("margin", f"{NODE_MARGIN_X:g},0.06"),
        ],
    )
    g.attr(
        "edge",
        _attributes=[
            ("fontname", FONT),
            ("fontsize", f"{EDGE_FONT_SIZE:g}"),
            ("fontcolor", INK),
            ("arrowsize", "0.7"),
        ],
    )

    # Open stages in their phase clusters, each phase with its "any stage" marker beside its
    # last stage when something is summarised from it: there the marker's arrows into the
    # outcomes below are short.  Beside the first stage, each would cross every rank of the
    # phase, and a 1 000-stage layout took minutes instead of seconds.
    for ph in _PHASES:
        stages = pipeline.stages_in(ph.phase)
        if not stages:
            continue
        caption = t[ph.caption]
        with g.subgraph(name=ph.cluster) as cluster:
            attrs = [
                ("label", label_value(caption)),
                ("labeljust", "l"),
                ("fontsize", "13"),
                ("fontcolor", ph.ink),
                ("style", "filled,rounded"),
                ("fillcolor", ph.fill),
                ("color", ph.border),
            ]
            if ph.phase is Phase.LEAD and pipeline.lead is not None:
                tip = [t["lead_phase"]]
                if pipeline.lead.definition is not None:
                    tip.append(t["definition"].format(text=pipeline.lead.definition.value))
                tip.extend(t["accept"].format(text=a.value) for a in pipeline.lead.accept)
                attrs.append(("tooltip", tooltip_value("\n".join(tip))))
            cluster.attr("graph", _attributes=attrs)
            for stage in stages:
                cluster.node(
                    nid(StageKey(pid, stage.id.name)),
                    _attributes=_stage_attrs(pipeline, lookup, stage, False, lang),
                )
            if ph.phase in marked:
                with cluster.subgraph() as row:
                    row.attr("graph", _attributes=[("rank", "same")])
                    row.node(nid(StageKey(pid, stages[-1].id.name)))
                    label = t["any_stage"]
                    row.node(
                        marker_id(ph.phase),
                        _attributes=[
                            ("id", label_value(marker_id(ph.phase))),
                            ("label", label_value(label)),
                            (
                                "tooltip",
                                tooltip_value(t["any_tip_" + ph.phase.value]),
                            ),
                            ("width", _box_width(label, EDGE_FONT_SIZE)),
                            ("style", "dashed,rounded"),
                            ("color", MUTED),
                            ("fontcolor", MUTED),
                            ("fontsize", f"{EDGE_FONT_SIZE:g}"),
                        ],
                    )

    # Outcomes: won and lost ones as they come; each pit alone in the last rank.
    for stage in pipeline.stages:
        if stage.is_outcome and stage.id.name not in pit_ids:
            g.node(
                nid(StageKey(pid, stage.id.name)),
                _attributes=_stage_attrs(pipeline, lookup, stage, False, lang),
            )
    if pit_ids:
        with g.subgraph(name="pits") as sink:
            sink.attr("graph", _attributes=[("rank", "sink")])
            for stage in pipeline.stages:
                if stage.id.name in pit_ids:
                    sink.node(
                        nid(StageKey(pid, stage.id.name)),
                        _attributes=_stage_attrs(pipeline, lookup, stage, True, lang),
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
                ("width", _box_width(label)),
                ("style", "dashed,rounded"),
                ("color", EXTERNAL),
                ("fontcolor", EXTERNAL),
            ],
        )

    # Edges in the order the resolver made them, but the implicit losses and the timeouts
    # inside the pipeline, which the summaries stand for.  A `then` into a lost outcome may
    # come with the implicit loss between the same stages: draw it once.
    drawn: set[tuple[str, str, tuple[tuple[str, str], ...]]] = set()
    for e in edges:
        inside = e.source.pipeline == pid and e.target.pipeline == pid
        if e.kind is EdgeKind.LOSE and (e.source.stage, e.target.stage) not in then_lose:
            continue
        if e.kind is EdgeKind.TIMEOUT and inside:
            continue
        attrs = _edge_attrs(e, lang)
        statement = (nid(e.source), nid(e.target), tuple(attrs))
        if statement in drawn:
            continue
        drawn.add(statement)
        g.edge(nid(e.source), nid(e.target), _attributes=attrs)
    for summary in summary_edges:
        g.edge(
            marker_id(summary.phase),
            nid(summary.target),
            _attributes=_summary_attrs(summary, pipeline, lookup, lang),
        )
    return g


def dot_source(project: Project, pipeline: Pipeline, language: str | None = None) -> str:
    """The DOT text of ``pipeline``'s diagram: ``build_graph(...).source`` (LF line endings,
    final newline, one statement per line)."""
    # Computed once per build for both the dot and the svg target (funnelc.emit.shared).
    source: str = shared(
        ("dot_source", id(project), id(pipeline), language),
        lambda: build_graph(project, pipeline, language).source,
    )
    return source


def _external_tooltip(project: Project, key: StageKey) -> str:
    other = project.pipeline(key.pipeline)
    stage = other.stage(key.stage) if other is not None else None
    if other is None or stage is None:
        return str(key)
    return f"{other.name.value} ({key.pipeline})\n{stage.name.value} ({key.stage})"


TIMEOUT_SUMMARY = words("en")["timeout_summary"]
"""The English label of the edge that stands for the timeouts into the default target."""


class DotTarget:
    """The ``dot`` target (see the module docstring)."""

    name: str = "dot"
    description: str = "Graphviz DOT source of each pipeline's diagram"

    capabilities: ClassVar[Capabilities] = NO_CAPABILITIES

    def check(self, project: Project, options: EmitOptions) -> list[Diagnostic]:
        return []

    def emit(self, project: Project, pipeline: Pipeline, options: EmitOptions) -> Emitted:
        source = dot_source(project, pipeline, options.language)
        return Emitted(files={f"{pipeline.id.name}.dot": source.encode("utf-8")})


TARGET = DotTarget()

if TYPE_CHECKING:
    _CONFORMS: Target = TARGET
