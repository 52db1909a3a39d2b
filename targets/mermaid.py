"""Target ``mermaid``: one pipeline as a Markdown page with a Mermaid flowchart and a stage table.

GitHub (and GitLab, and most Markdown viewers) draw a ```` ```mermaid ```` fence as a diagram,
so a pull request or a wiki page can show the funnel with no tooling.  The page is a heading
(the pipeline's name), its segment, the flowchart, and a table of the stages with their goal,
exit criteria, SLA, probability and required fields.

The flowchart follows the ``dot`` target (:mod:`funnelc.targets.dot`): left to right, the lead
and deal phases as two subgraphs, the won outcomes green, the lost ones red, the pit dark grey;
forward moves solid, the handoff thick, explicit edges dashed with their label, timeouts dotted
grey with their SLA, revivals purple with their delay, ``next`` moves dashed to a node for the
other pipeline.  As there, the implicit ``lose`` edges (every open stage × every lost outcome)
are summarised: one red "any stage" edge from each phase's subgraph to each lost outcome its
stages can be lost into; and the timeouts into the pipeline's default target are one dotted
edge from each phase's subgraph ("timeout: after each stage's SLA"), the SLA being on every
stage's box.  Every word the diagram writes itself is in the pipeline's language.

**Ids.**  Node ids are generated, never taken from user text: ``s<n>`` for the n-th stage of
the pipeline, ``x<n>`` for a stage of another pipeline, ``ph_lead``/``ph_deal`` for the
phases.  None of them is a Mermaid keyword (``end``, ``graph``, ``subgraph``, ``style``,
``class``, ``click``, ``default``, ...) or starts like one, and none contains anything but
ASCII letters, digits and ``_``.

**Labels** (:func:`label`) are always quoted (``s0["..."]``, ``-->|"..."|``), and inside the
quotes every character that Mermaid's lexer or its label pipeline treats specially is written
as a Mermaid entity code (``#quot;``, ``#lt;``, ``#35;`` ...), which Mermaid turns into an HTML
character reference and the browser shows as the character itself.  Measured against the real
library (``tests/mermaid/``, mermaid 11), these must be coded:

* ``"`` (ends the string), ``#`` (starts an entity code), ``< > &`` (HTML);
* a backslash (Mermaid reads ``\\n`` as a line break) and a backtick (a label between
  backticks is Markdown);
* ``%`` (``%%{...}%%`` is a directive wherever it stands), ``:`` (``fa:fa-car`` becomes an
  icon, and a line with ``style ... : ... # ... ;`` loses its last ``;`` to a pre-processing
  regex), ``$`` (``$$...$$`` is KaTeX);
* ``ﬂ`` and ``¶`` (Mermaid's own private codes are ``ﬂ°...¶ß``: decoded before drawing);
* the last letter of ``direction`` before white space: the lexer takes ``direction TB`` for a
  statement anywhere on a line, even inside quotes, and drops the rest of the line;
* white space at either end of a line (Mermaid trims labels, as JavaScript's ``trim`` does:
  U+00A0, U+3000, U+FEFF ... too);
* and ``;``, ``|``, ``{}``, ``[]`` and every other ASCII punctuation outside ``.,-_!?'()+*/=@^~``,
  for good measure.

Letters, digits, inner spaces and non-ASCII text (Cyrillic, emoji) are written as they are, so
the source stays readable.  A line break is written as itself, inside the quotes (Mermaid shows
a line break); never as ``<br>``, since a label with a ``<`` goes through DOMPurify while
Mermaid parses it.

**Styles** are ``classDef`` classes (:data:`CLASS_DEFS`), assigned per node with ``class``, and
``linkStyle`` lines per edge class (:data:`LINK_STYLES`), by edge index.  :func:`flowchart` is
a pure function from a pipeline to the Mermaid text; a caller may add its own classes to nodes
and edges (``node_classes``, ``edge_classes``, keyed by :class:`StageKey` and :data:`EdgeKey`)
with their definitions (``class_defs``, ``link_styles``) — how ``funnelc diff`` colours what
changed and ghosts what was removed (:data:`DIFF_CLASS_DEFS`, :data:`DIFF_LINK_STYLES`).

Output is deterministic: statements in source order, ids by position, no set iteration.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from funnelc import codes
from funnelc.diagnostics import Diagnostic
from funnelc.emit import NO_CAPABILITIES, Capabilities, EmitOptions, Emitted
from funnelc.i18n import N_, Msg, lazy, pgettext_noop, render
from funnelc.language import pipeline_language
from funnelc.model import (
    Duration,
    Edge,
    EdgeKind,
    Phase,
    Pipeline,
    Project,
    Stage,
    StageKey,
    StageKind,
)

from . import markdown
from .dot import WORDS as DIAGRAM_WORDS
from .dot import as_msg, duration_label

if TYPE_CHECKING:
    from funnelc.emit import Target

__all__ = [
    "CLASS_DEFS",
    "DIFF_CLASS_DEFS",
    "DIFF_LINK_STYLES",
    "LINK_STYLES",
    "EdgeKey",
    "edge_key",
    "flowchart",
    "label",
    "page",
]

# Colours: those of the dot target, so the Mermaid diagram reads like the SVG.
INK = "#263238"
MUTED = "#78909c"
LEAD_FILL, LEAD_BORDER = "#fff8e1", "#ffb300"
DEAL_FILL, DEAL_BORDER = "#e3f2fd", "#1e88e5"
STAGE_FILL, STAGE_BORDER = "#ffffff", "#455a64"
WON_FILL, WON_BORDER = "#c8e6c9", "#2e7d32"
LOST_FILL, LOST_BORDER = "#ffcdd2", "#c62828"
PIT_FILL, PIT_BORDER = "#424242", "#212121"
HANDOFF = "#1565c0"
REVIVE = "#8e24aa"
EXTERNAL = "#546e7a"

CLASS_DEFS: dict[str, str] = {
    "stage": f"fill:{STAGE_FILL},stroke:{STAGE_BORDER},color:{INK}",
    "key": f"fill:{STAGE_FILL},stroke:{STAGE_BORDER},stroke-width:3px,color:{INK}",
    "won": f"fill:{WON_FILL},stroke:{WON_BORDER},color:{INK}",
    "lost": f"fill:{LOST_FILL},stroke:{LOST_BORDER},color:{INK}",
    "pit": f"fill:{PIT_FILL},stroke:{PIT_BORDER},color:#ffffff",
    "external": f"fill:#ffffff,stroke:{EXTERNAL},stroke-dasharray:4 3,color:{EXTERNAL}",
    "lead": f"fill:{LEAD_FILL},stroke:{LEAD_BORDER}",
    "deal": f"fill:{DEAL_FILL},stroke:{DEAL_BORDER}",
}
"""The node classes of every diagram, by name: ``classDef <name> <style>``."""

LINK_STYLES: dict[str, str] = {
    "handoff": f"stroke:{HANDOFF},stroke-width:2px",
    "win": f"stroke:{WON_BORDER}",
    "lose": f"stroke:{LOST_BORDER}",
    "timeout": f"stroke:{MUTED}",
    "revive": f"stroke:{REVIVE},stroke-width:1.5px",
    "next": f"stroke:{EXTERNAL}",
}
"""The edge classes of every diagram: ``linkStyle <indexes> <style>``, per edge kind."""

DIFF_CLASS_DEFS: dict[str, str] = {
    "added": "stroke:#2e7d32,stroke-width:3px",
    "changed": "stroke:#ef6c00,stroke-width:3px",
    "removed": "fill:#fafafa,stroke:#bdbdbd,stroke-dasharray:5 4,color:#9e9e9e",
}
"""Node classes for a diff (``funnelc diff --format markdown``): added, changed, removed
(ghosted).  Written after the base classes, so they win where both set a property."""

DIFF_LINK_STYLES: dict[str, str] = {
    "added": "stroke:#2e7d32,stroke-width:3px",
    "changed": "stroke:#ef6c00,stroke-width:3px",
    "removed": "stroke:#bdbdbd,stroke-dasharray:5 4",
}
"""Edge classes for a diff, like :data:`DIFF_CLASS_DEFS`."""

MAX_TEXT_SIZE = 50_000
"""Mermaid's default ``maxTextSize``: a longer diagram is not drawn (GitHub shows an error)."""
MAX_EDGES = 500
"""Mermaid's default ``maxEdges``: a flowchart with more edges fails to parse."""

EdgeKey = tuple[str, StageKey, StageKey]
"""An edge as a caller names it: (kind, from, to).  The kind is an :class:`EdgeKind` value;
a summary edge has the kind ``lose`` or ``timeout`` and leaves the *phase*, whose key is
``StageKey(pipeline, "*lead")`` or ``StageKey(pipeline, "*deal")``."""


def edge_key(edge: Edge) -> EdgeKey:
    """The :data:`EdgeKey` of a compiled edge."""
    return (edge.kind.value, edge.source, edge.target)


def phase_key(pipeline_id: str, phase: Phase) -> StageKey:
    """The key that stands for a phase's subgraph in an :data:`EdgeKey`."""
    return StageKey(pipeline_id, f"*{phase.value}")


# ---- the diagram's own words -------------------------------------------------------------------

_SHARED_WORDS = (
    "lead",
    "deal",
    "key",
    "sla",
    "pit",
    "handoff",
    "timeout_after",
    "timeout",
    "revive_after",
    "revive",
    "next",
    "any_stage",
    "timeout_summary",
)
"""The words the flowchart says as the ``dot`` diagram does (the same messages, so the two
diagrams of a pipeline never name one thing two ways)."""

_WORDS: dict[str, str | Msg] = {
    **{key: DIAGRAM_WORDS[key] for key in _SHARED_WORDS},
    "h_stages": N_("Stages"),
    "c_stage": N_("Stage"),
    "c_phase": N_("Phase"),
    "c_goal": N_("Goal"),
    "c_exit": N_("Exit criteria"),
    "c_sla": pgettext_noop("diagram", "SLA"),
    "c_probability": N_("Probability"),
    "c_requires": N_("Required fields"),
    "won": pgettext_noop("diagram", "won"),
    "lost": pgettext_noop("diagram", "lost"),
    "pit_phase": N_("lost (pit)"),
    "key_mark": N_("(key)"),
    "too_large": N_(
        "The diagram is too large for Mermaid and is left out; the svg target draws it."
    ),
}
"""The words the page writes itself, in English: message ids of the gettext catalogue, shown
in the pipeline's language by :func:`_words` (the diagram's words are those of the ``dot``
target, its gettext context ``diagram`` included)."""


@functools.cache
def _words(language: str) -> Mapping[str, str]:
    return {key: render(as_msg(text), language) for key, text in _WORDS.items()}


def _duration(value: Duration, language: str) -> str:
    """A duration as the diagrams show it (``14d``; ``14 дн`` in Russian)."""
    return duration_label(value, language)


# ---- escaping ----------------------------------------------------------------------------------

_NAMED = {'"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;"}
_SAFE_ASCII = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-_!?'()+*/=@^~"
)
_LINE_BREAK = re.compile(r"\r\n|[\n\r\u0085\u2028\u2029\v\f]")
_PRIVATE = frozenset("\ufb02\u00b6")
"""Mermaid writes its entity codes as ``ﬂ°name¶ß`` while parsing and decodes them before it
draws: ``ﬂ`` and ``¶`` in a name are coded, so no such sequence comes from the name."""
_DIRECTION = re.compile(r"(directio)(n)(?=[\s\ufeff])", re.IGNORECASE)
"""``direction`` before white space as JavaScript's ``\\s`` knows it (U+FEFF too)."""
_JS_SPACE = " \u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u202f\u205f\u3000\ufeff"
"""What JavaScript's ``trim`` removes, besides line breaks and controls (coded already)."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def label(text: str) -> str:
    """``text`` as a quoted Mermaid label (quotes included) that Mermaid shows as exactly
    ``text``: every ASCII character outside letters, digits, space and ``.,-_!?'()+*/=@^~``
    as an entity code, a line break as itself (Mermaid shows a line break there), a tab as a
    space, other control characters as U+FFFD (as the Markdown escaping does).

    No ``<`` is ever written, not even as ``<br>``: Mermaid passes a label with a ``<`` through
    DOMPurify while parsing, which a label without one skips."""
    lines = _LINE_BREAK.split(text.replace("\t", " "))
    out: list[str] = []
    for index, line in enumerate(lines):
        if index:
            out.append("\n")
        line = _CONTROL.sub(markdown.REPLACEMENT, line)
        core = line.strip(_JS_SPACE)
        start = line.index(core) if core else len(line)
        end = start + len(core)
        # Mermaid trims a label (JavaScript's trim): white space at the edges is coded.
        out.extend(f"#{ord(c)};" for c in line[:start])
        for char in core:
            if char in _SAFE_ASCII or not (char.isascii() or char in _PRIVATE):
                out.append(char)
            else:
                out.append(_NAMED.get(char) or f"#{ord(char)};")
        out.extend(f"#{ord(c)};" for c in line[end:])
    # Mermaid's lexer reads `.*direction\s+TB[^\n]*` (LR, RL, BT, TD) as a direction statement
    # wherever it stands on a line, quotes or not, and drops the rest of the line: the word is
    # never written whole before white space.
    body = _DIRECTION.sub(lambda m: m[1] + f"#{ord(m[2])};", "".join(out))
    return '"' + body + '"'


# ---- the flowchart -----------------------------------------------------------------------------

_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


@dataclass(frozen=True, slots=True)
class _Link:
    """One edge statement: ends (Mermaid ids), arrow, label, base class and caller's key."""

    tail: str
    head: str
    arrow: str
    text: str | None
    style: str
    key: EdgeKey


def _pits(pipeline: Pipeline, edges: Iterable[Edge]) -> set[str]:
    pid = pipeline.id.name
    targets = {
        e.target.stage
        for e in edges
        if e.kind is EdgeKind.TIMEOUT and e.source.pipeline == pid and e.target.pipeline == pid
    }
    return {s.id.name for s in pipeline.stages if s.kind is StageKind.LOST and s.id.name in targets}


def _stage_text(stage: Stage, pit: bool, t: Mapping[str, str], language: str) -> str:
    meta: list[str] = []
    if stage.key:
        meta.append(t["key"])
    if stage.sla is not None:
        meta.append(t["sla"].format(sla=_duration(stage.sla, language)))
    if stage.probability is not None:
        meta.append(f"{stage.probability}%")
    if pit:
        meta.append(t["pit"])
    return stage.name.value + ("\n" + " · ".join(meta) if meta else "")


def _shape(node_id: str, text: str, stage: Stage | None, pit: bool) -> str:
    quoted = label(text)
    if stage is None:
        return f"{node_id}[{quoted}]"
    if pit:
        return f"{node_id}[[{quoted}]]"
    if stage.is_outcome:
        return f"{node_id}([{quoted}])"
    return f"{node_id}[{quoted}]"


def flowchart(
    project: Project,
    pipeline: Pipeline,
    *,
    language: str | None = None,
    node_classes: Mapping[StageKey, str] | None = None,
    edge_classes: Mapping[EdgeKey, str] | None = None,
    class_defs: Mapping[str, str] | None = None,
    link_styles: Mapping[str, str] | None = None,
) -> str:
    """``pipeline``'s diagram as Mermaid flowchart text (LF line endings, final newline).

    ``language`` is the project's default language (the config's ``language``); the pipeline's
    own ``language`` declaration wins over it, and without either it is detected
    (:func:`funnelc.language.pipeline_language`, as for the other diagrams).

    ``node_classes`` adds a class to stages (by key; a stage of another pipeline too; a phase
    by :func:`phase_key`), ``edge_classes`` to edges (by :data:`EdgeKey`); their styles come
    from ``class_defs`` and ``link_styles`` (written after the built-in ones, which they may
    override).  A key that matches nothing is ignored; a class without a definition
    too.  Pure: the same arguments give the same text.
    """
    text, _edges = _flowchart(
        project,
        pipeline,
        language=language,
        node_classes=node_classes,
        edge_classes=edge_classes,
        class_defs=class_defs,
        link_styles=link_styles,
    )
    return text


def text_size(text: str) -> int:
    """The length of ``text`` as Mermaid counts it for ``maxTextSize``: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _flowchart(
    project: Project,
    pipeline: Pipeline,
    *,
    language: str | None = None,
    node_classes: Mapping[StageKey, str] | None = None,
    edge_classes: Mapping[EdgeKey, str] | None = None,
    class_defs: Mapping[str, str] | None = None,
    link_styles: Mapping[str, str] | None = None,
) -> tuple[str, int]:
    """:func:`flowchart`, and the number of edges it draws."""
    node_classes = node_classes or {}
    edge_classes = edge_classes or {}
    lang = pipeline_language(pipeline, language)
    t = _words(lang)
    pid = pipeline.id.name
    edges = project.edges_of(pid)
    pits = _pits(pipeline, edges)

    ids: dict[StageKey, str] = {}
    stages_by_id: dict[str, Stage] = {}
    for index, stage in enumerate(pipeline.stages):
        key = StageKey(pid, stage.id.name)
        ids.setdefault(key, f"s{index}")
        stages_by_id.setdefault(stage.id.name, stage)
    external: list[StageKey] = []
    for e in edges:
        for end in (e.source, e.target):
            if end not in ids and end.pipeline != pid:
                ids[end] = f"x{len(external)}"
                external.append(end)

    lines = ["flowchart LR"]
    node_class: list[tuple[str, str]] = []  # (node id, class) in order
    fills: list[str] = []  # a stage's own colour (`color "#87f2c0"`)

    def declare(stage: Stage, indent: str) -> None:
        if stage is not stages_by_id.get(stage.id.name):
            return  # a duplicate id (the compiler reports it): the first one is drawn
        node = ids[StageKey(pid, stage.id.name)]
        pit = stage.id.name in pits
        lines.append(indent + _shape(node, _stage_text(stage, pit, t, lang), stage, pit))
        if pit:
            base = "pit"
        elif stage.kind is StageKind.WON:
            base = "won"
        elif stage.kind is StageKind.LOST:
            base = "lost"
        else:
            base = "key" if stage.key else "stage"
        node_class.append((node, base))
        if stage.color is not None and _COLOUR.fullmatch(stage.color.value):
            fills.append(f"  style {node} fill:{stage.color.value}")

    for phase in (Phase.LEAD, Phase.DEAL):
        open_stages = pipeline.stages_in(phase)
        if not open_stages:
            continue
        lines.append(f"  subgraph ph_{phase.value} [{label(t[phase.value])}]")
        for stage in open_stages:
            declare(stage, "    ")
        lines.append("  end")
        node_class.append((f"ph_{phase.value}", phase.value))
    for stage in pipeline.stages:
        if stage.is_outcome and stage.id.name not in pits:
            declare(stage, "  ")
    for stage in pipeline.stages:
        if stage.is_outcome and stage.id.name in pits:
            declare(stage, "  ")
    for key in external:
        other = project.pipeline(key.pipeline)
        text = str(key) + ("\n" + other.name.value if other is not None else "")
        lines.append("  " + _shape(ids[key], text, None, False))
        node_class.append((ids[key], "external"))

    links = _links(pipeline, edges, ids, stages_by_id, t, lang)
    for link in links:
        text = f"|{label(link.text)}|" if link.text is not None else ""
        lines.append(f"  {link.tail} {link.arrow}{text} {link.head}")

    # Styles: the built-in classes, then the caller's (so theirs win).
    defs = dict(CLASS_DEFS)
    defs.update(class_defs or {})
    for name, style in defs.items():
        lines.append(f"  classDef {_class_name(name)} {style}")
    by_class: dict[str, list[str]] = {}
    for node, cls in node_class:
        by_class.setdefault(cls, []).append(node)
    key_of_node = {node: key for key, node in ids.items()}
    key_of_node.update({f"ph_{p.value}": phase_key(pid, p) for p in Phase})
    for node, _cls in node_class:
        extra = node_classes.get(key_of_node[node])
        if extra is not None:
            by_class.setdefault(extra, []).append(node)
    for cls, nodes in by_class.items():
        if cls in defs:
            lines.append(f"  class {','.join(nodes)} {_class_name(cls)}")
    lines.extend(fills)
    styles = dict(LINK_STYLES)
    styles.update(link_styles or {})
    link_class: dict[str, list[int]] = {}
    for index, link in enumerate(links):
        link_class.setdefault(link.style, []).append(index)
    for index, link in enumerate(links):
        extra = edge_classes.get(link.key)
        if extra is not None:
            link_class.setdefault(extra, []).append(index)
    for cls, indexes in link_class.items():
        if cls in styles:
            lines.append(f"  linkStyle {','.join(map(str, indexes))} {styles[cls]}")
    return "\n".join(lines) + "\n", len(links)


def _class_name(name: str) -> str:
    """A class name as Mermaid accepts it: ASCII letters, digits, ``_`` and ``-``."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", name)
    return cleaned if cleaned[:1].isalpha() else "c_" + cleaned


def _links(
    pipeline: Pipeline,
    edges: Sequence[Edge],
    ids: Mapping[StageKey, str],
    stages: Mapping[str, Stage],
    t: Mapping[str, str],
    lang: str,
) -> list[_Link]:
    """The edge statements, in the order the resolver made the edges, with the implicit
    losses and the timeouts into the default target summarised per phase (after the rest)."""
    pid = pipeline.id.name
    then_lose = {
        (s.id.name, s.then.name)
        for s in pipeline.open_stages
        if s.then is not None
        and s.then.pipeline is None
        and (target := stages.get(s.then.name)) is not None
        and target.kind is StageKind.LOST
    }
    default = StageKey(pid, pipeline.timeout.name) if pipeline.timeout is not None else None
    links: list[_Link] = []
    seen: set[tuple[str, str, str, str | None]] = set()
    lose_summary: dict[tuple[Phase, str], None] = {}
    timeout_summary: dict[Phase, None] = {}

    def phase_of(key: StageKey) -> Phase | None:
        """The phase of an open stage of this pipeline (whose subgraph is drawn)."""
        stage = stages.get(key.stage) if key.pipeline == pid else None
        return stage.phase if stage is not None and stage.is_open else None

    for e in edges:
        if e.source not in ids or e.target not in ids:
            continue
        key = edge_key(e)
        phase = phase_of(e.source)
        if e.kind is EdgeKind.LOSE and (e.source.stage, e.target.stage) not in then_lose:
            if phase is not None and e.target.pipeline == pid:
                lose_summary.setdefault((phase, e.target.stage), None)
            continue
        if e.kind is EdgeKind.TIMEOUT and e.target == default and phase is not None:
            timeout_summary.setdefault(phase, None)
            continue
        arrow, text, style = _edge_look(e, t, lang)
        link = _Link(ids[e.source], ids[e.target], arrow, text, style, key)
        statement = (link.tail, link.head, link.arrow, link.text)
        if statement in seen:
            continue
        seen.add(statement)
        links.append(link)
    for phase in (Phase.LEAD, Phase.DEAL):
        if phase in timeout_summary and default is not None:
            links.append(
                _Link(
                    f"ph_{phase.value}",
                    ids[default],
                    "-.->",
                    t["timeout_summary"],
                    "timeout",
                    (EdgeKind.TIMEOUT.value, phase_key(pid, phase), default),
                )
            )
    order = {s.id.name: i for i, s in reversed(list(enumerate(pipeline.stages)))}
    phases = (Phase.LEAD, Phase.DEAL)
    for phase, head in sorted(
        lose_summary, key=lambda ph: (order.get(ph[1], 0), phases.index(ph[0]))
    ):
        outcome = StageKey(pid, head)
        links.append(
            _Link(
                f"ph_{phase.value}",
                ids[outcome],
                "-->",
                t["any_stage"],
                "lose",
                (EdgeKind.LOSE.value, phase_key(pid, phase), outcome),
            )
        )
    return links


def _edge_look(e: Edge, t: Mapping[str, str], lang: str) -> tuple[str, str | None, str]:
    """(arrow, label, link style class) of a drawn edge."""
    kind = e.kind
    if kind is EdgeKind.ADVANCE:
        return "-->", None, ""
    if kind is EdgeKind.HANDOFF:
        return "==>", t["handoff"], "handoff"
    if kind is EdgeKind.WIN:
        return "-->", None, "win"
    if kind is EdgeKind.LOSE:
        return "-->", None, "lose"
    if kind is EdgeKind.EXPLICIT:
        return "-.->", e.label or None, ""
    if kind is EdgeKind.TIMEOUT:
        if e.sla is not None:
            return "-.->", t["timeout_after"].format(sla=_duration(e.sla, lang)), "timeout"
        return "-.->", t["timeout"], "timeout"
    if kind is EdgeKind.REVIVE:
        if e.delay is not None:
            text = t["revive_after"].format(delay=_duration(e.delay, lang))
        else:
            text = t["revive"]
        if e.label:
            text += "\n" + e.label
        return "-->", text, "revive"
    return "-.->", t["next"], "next"


# ---- the page ----------------------------------------------------------------------------------


def page(
    project: Project,
    pipeline: Pipeline,
    language: str | None = None,
    limits: tuple[int, int] = (MAX_TEXT_SIZE, MAX_EDGES),
) -> tuple[str, list[Diagnostic]]:
    """The Markdown page of ``pipeline``: heading, segment, the flowchart, the stage table; and
    F660 when the flowchart is larger than ``limits`` (characters, edges: Mermaid's defaults)
    allow, when the page has the table only."""
    lang = pipeline_language(pipeline, language)
    t = _words(lang)
    fields = {f.id.name: f.name.value for f in reversed(pipeline.fields)}
    for module in project.modules:
        for found in module.fields:
            fields.setdefault(found.id.name, found.name.value)
    pits = _pits(pipeline, project.edges_of(pipeline.id.name))
    out = [f"# {markdown.inline(pipeline.name.value)}", ""]
    if pipeline.segment is not None:
        out += [markdown.inline(pipeline.segment.value), ""]
    chart, edges = _flowchart(project, pipeline, language=lang)
    diagnostics: list[Diagnostic] = []
    size = text_size(chart)
    if size > limits[0] or edges > limits[1]:
        diagnostics.append(
            codes.make(
                "F660",
                pipeline.id.span,
                pipeline=pipeline.id.name,
                chars=str(size),
                edges=str(edges),
                max_chars=str(limits[0]),
                max_edges=str(limits[1]),
            )
        )
        out += [markdown.inline(t["too_large"]), ""]
    else:
        out += ["```mermaid", chart.rstrip("\n"), "```", ""]
    out += [f"## {markdown.inline(t['h_stages'])}", ""]
    columns = ("c_stage", "c_phase", "c_goal", "c_exit", "c_sla", "c_probability", "c_requires")
    out.append("| " + " | ".join(markdown.cell(t[c]) for c in columns) + " |")
    out.append("|" + " --- |" * len(columns))
    for stage in pipeline.stages:
        name = markdown.cell(stage.name.value) + " " + markdown.code(stage.id.name, in_table=True)
        if stage.key:
            name += " " + markdown.cell(t["key_mark"])
        if stage.id.name in pits:
            phase = t["pit_phase"]
        elif stage.kind is StageKind.WON:
            phase = t["won"]
        elif stage.kind is StageKind.LOST:
            phase = t["lost"]
        else:
            phase = t[stage.phase.value]
        row = [
            name,
            markdown.cell(phase),
            markdown.cell(stage.goal.value) if stage.goal is not None else "",
            "<br>".join(markdown.cell(x.value) for x in stage.exits),
            markdown.cell(_duration(stage.sla, lang)) if stage.sla is not None else "",
            f"{stage.probability}%" if stage.probability is not None else "",
            ", ".join(markdown.cell(fields.get(r.name, r.name)) for r in stage.requires),
        ]
        out.append("| " + " | ".join(row) + " |")
    return "\n".join(out) + "\n", diagnostics


class MermaidTarget:
    """The ``mermaid`` target (see the module docstring)."""

    name: str = "mermaid"
    description: str = (
        "Markdown page per pipeline: a Mermaid flowchart (GitHub draws it) and a stage table"
    )
    capabilities: ClassVar[Capabilities] = NO_CAPABILITIES

    def check(self, project: Project, options: EmitOptions) -> list[Diagnostic]:
        return []

    def emit(self, project: Project, pipeline: Pipeline, options: EmitOptions) -> Emitted:
        limits = _limits(options)
        if isinstance(limits, Diagnostic):
            return Emitted(files={}, diagnostics=(limits,))
        text, diagnostics = page(project, pipeline, options.language, limits)
        return Emitted(
            files={f"{pipeline.id.name}.md": text.encode("utf-8")}, diagnostics=tuple(diagnostics)
        )


def _limits(options: EmitOptions) -> tuple[int, int] | Diagnostic:
    """``[targets.mermaid]`` ``max-text-size`` and ``max-edges``: for a Mermaid configured
    with other ``maxTextSize``/``maxEdges`` than the defaults (GitHub uses the defaults)."""
    table = options.target_options.get("mermaid", {})
    values: list[int] = []
    for option, default in (("max-text-size", MAX_TEXT_SIZE), ("max-edges", MAX_EDGES)):
        value = table.get(option, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            reason = lazy("`{option}` must be a positive whole number", option=option)
            return codes.make("F902", None, target="mermaid", reason=reason, hint="")
        values.append(value)
    return values[0], values[1]


TARGET = MermaidTarget()

if TYPE_CHECKING:
    _CONFORMS: Target = TARGET
