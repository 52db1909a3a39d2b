"""The typed, immutable model of funnels: what ``lower`` builds and every later pass reads.

Nothing here knows about Lark.  Every node is a frozen, slotted dataclass with tuple fields
and a :class:`~funnelc.source.Span`, so passes can share nodes freely and a diagnostic can
always point at the text a node came from.

Two layers live here:

* the *declared* model (:class:`Module`, :class:`Pipeline`, :class:`Stage` …) as written in
  one file, with references still by name (:class:`Ref`);
* the *resolved* :class:`Project`: every file of a build, pipelines with the fields and loss
  reasons visible to them, and the typed edges of the stage graph (:class:`Edge`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from funnelc.source import SourceFile, Span


class Phase(enum.Enum):
    LEAD = "lead"
    DEAL = "deal"


class StageKind(enum.Enum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class DurationUnit(enum.Enum):
    MINUTES = "min"
    HOURS = "h"
    DAYS = "d"
    WEEKS = "w"
    BUSINESS_DAYS = "bd"


_ISO = {
    DurationUnit.MINUTES: ("PT", "M"),
    DurationUnit.HOURS: ("PT", "H"),
    DurationUnit.DAYS: ("P", "D"),
    DurationUnit.WEEKS: ("P", "W"),
}
_MINUTES = {
    DurationUnit.MINUTES: 1,
    DurationUnit.HOURS: 60,
    DurationUnit.DAYS: 24 * 60,
    DurationUnit.WEEKS: 7 * 24 * 60,
}


@dataclass(frozen=True, slots=True)
class Duration:
    """A length of time as written: ``2h``, ``14d``, ``5bd`` (business days, Monday–Friday)."""

    value: int
    unit: DurationUnit
    span: Span

    def __str__(self) -> str:
        return f"{self.value}{self.unit.value}"

    @property
    def iso8601(self) -> str | None:
        """The ISO 8601 duration for calendar units; ``None`` for business days, which have none."""
        if self.unit is DurationUnit.BUSINESS_DAYS:
            return None
        prefix, suffix = _ISO[self.unit]
        return f"{prefix}{self.value}{suffix}"

    @property
    def calendar_minutes(self) -> int | None:
        """The length in minutes for calendar units; ``None`` for business days."""
        if self.unit is DurationUnit.BUSINESS_DAYS:
            return None
        return self.value * _MINUTES[self.unit]


@dataclass(frozen=True, slots=True)
class Text:
    """A string from the source (escapes already decoded) and where it was written."""

    value: str
    span: Span

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Ident:
    """An identifier as written: a machine key such as ``qualified``."""

    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference by name: ``stage`` or ``pipeline.stage``, resolved by ``resolve``."""

    name: str
    span: Span
    pipeline: str | None = None

    def __str__(self) -> str:
        return f"{self.pipeline}.{self.name}" if self.pipeline else self.name


FIELD_TYPES: tuple[str, ...] = (
    "text",
    "textarea",
    "number",
    "money",
    "date",
    "datetime",
    "bool",
    "choice",
    "multichoice",
    "phone",
    "email",
    "url",
)
"""Field types of the language; ``choice`` and ``multichoice`` take a list of options."""


@dataclass(frozen=True, slots=True)
class FieldType:
    kind: str
    options: tuple[str, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Field:
    """A card field (``field budget "Бюджет" money``), declared in a file or a pipeline."""

    id: Ident
    name: Text
    type: FieldType
    span: Span


@dataclass(frozen=True, slots=True)
class LossReason:
    """A reason a deal was lost (``reason no_budget "Нет бюджета"``) — M11."""

    id: Ident
    name: Text
    span: Span


@dataclass(frozen=True, slots=True)
class Stage:
    """An open stage or an outcome (``won`` / ``lost``) of one phase of a pipeline."""

    id: Ident
    name: Text
    phase: Phase
    kind: StageKind
    span: Span
    key: bool = False
    goal: Text | None = None
    exits: tuple[Text, ...] = ()
    requires: tuple[Ref, ...] = ()
    sla: Duration | None = None
    probability: int | None = None
    tasks: tuple[Text, ...] = ()
    color: Text | None = None
    timeout: Ref | None = None
    then: Ref | None = None
    next: Ref | None = None
    reasons: tuple[Ref, ...] = ()
    was: Ident | None = None
    """``was old_id``: the id the stage had before (``funnelc apply`` re-keys it in place)."""

    @property
    def is_open(self) -> bool:
        return self.kind is StageKind.OPEN

    @property
    def is_outcome(self) -> bool:
        return self.kind is not StageKind.OPEN


@dataclass(frozen=True, slots=True)
class LeadPhase:
    """What the lead phase says besides its stages: the definition of a lead and the
    conditions for sales to accept it (M8)."""

    span: Span
    definition: Text | None = None
    accept: tuple[Text, ...] = ()


@dataclass(frozen=True, slots=True)
class ExplicitEdge:
    """``a -> b "why"``: a move the default order does not give (a loop back, a skip)."""

    source: Ref
    target: Ref
    span: Span
    label: Text | None = None


@dataclass(frozen=True, slots=True)
class Revive:
    """``revive pit -> new after 30d "how"``: marketing brings dead deals back as leads (M7)."""

    source: Ref
    target: Ref
    span: Span
    delay: Duration | None = None
    label: Text | None = None


@dataclass(frozen=True, slots=True)
class Pipeline:
    """One pipeline (one customer segment, M10) as declared.

    After ``resolve``, ``fields`` and ``reasons`` hold everything visible to the pipeline:
    imported and file-level declarations first, then the pipeline's own, in source order.
    """

    id: Ident
    name: Text
    span: Span
    segment: Text | None = None
    language: Ident | None = None
    """``language ru`` / ``language en``: the language of the artefacts' own words
    (:mod:`funnelc.language`); ``None`` when not declared (or not a known language)."""
    fields: tuple[Field, ...] = ()
    reasons: tuple[LossReason, ...] = ()
    lead: LeadPhase | None = None
    stages: tuple[Stage, ...] = ()
    timeout: Ref | None = None
    edges: tuple[ExplicitEdge, ...] = ()
    revives: tuple[Revive, ...] = ()
    was: Ident | None = None
    """``was old_id``: the id the pipeline had before (``funnelc apply`` re-keys it in place)."""
    _stage_index: Mapping[str, Stage] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Stage lookup by id is on every pass's hot path; the first stage of an id wins (a
        # duplicate id is an error reported by resolve).
        index: dict[str, Stage] = {}
        for stage in self.stages:
            index.setdefault(stage.id.name, stage)
        object.__setattr__(self, "_stage_index", index)

    def stages_in(self, phase: Phase, kind: StageKind | None = StageKind.OPEN) -> tuple[Stage, ...]:
        return tuple(
            s for s in self.stages if s.phase is phase and (kind is None or s.kind is kind)
        )

    @property
    def open_stages(self) -> tuple[Stage, ...]:
        return tuple(s for s in self.stages if s.is_open)

    @property
    def entry(self) -> Stage | None:
        """The stage a new deal enters: the first lead stage, or else the first deal stage."""
        opened = self.stages_in(Phase.LEAD) or self.stages_in(Phase.DEAL)
        return opened[0] if opened else None

    def stage(self, stage_id: str) -> Stage | None:
        return self._stage_index.get(stage_id)

    def field(self, field_id: str) -> Field | None:
        for f in self.fields:
            if f.id.name == field_id:
                return f
        return None


@dataclass(frozen=True, slots=True)
class Import:
    path: Text
    span: Span


@dataclass(frozen=True, slots=True)
class Comment:
    """A ``#`` comment, kept so that later passes (lint suppressions) can read it."""

    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class Module:
    """One ``.funnel`` file as lowered: its imports, file-level declarations and pipelines."""

    path: str
    imports: tuple[Import, ...] = ()
    fields: tuple[Field, ...] = ()
    reasons: tuple[LossReason, ...] = ()
    pipelines: tuple[Pipeline, ...] = ()
    comments: tuple[Comment, ...] = ()


class EdgeKind(enum.Enum):
    ADVANCE = "advance"
    HANDOFF = "handoff"
    WIN = "win"
    LOSE = "lose"
    TIMEOUT = "timeout"
    EXPLICIT = "explicit"
    REVIVE = "revive"
    NEXT = "next"


@dataclass(frozen=True, slots=True, order=True)
class StageKey:
    """A stage's identity across the whole build: pipeline id and stage id."""

    pipeline: str
    stage: str

    def __str__(self) -> str:
        return f"{self.pipeline}.{self.stage}"


@dataclass(frozen=True, slots=True)
class Edge:
    """A typed edge of the stage graph.

    ``span`` is where the edge was written; implicit edges (advance, handoff, win, lose) point
    at the stage they leave.  ``criteria`` carries a handoff's acceptance conditions, ``delay``
    a revival's wait, ``sla`` the SLA that fires a timeout edge.
    """

    kind: EdgeKind
    source: StageKey
    target: StageKey
    span: Span
    label: str | None = None
    delay: Duration | None = None
    sla: Duration | None = None
    criteria: tuple[str, ...] = ()

    @property
    def cross_pipeline(self) -> bool:
        return self.source.pipeline != self.target.pipeline


@dataclass(frozen=True, slots=True)
class Project:
    """A resolved build: every module read, every pipeline in source order, every edge, and
    the text of every file, so that spans can be turned into lines and columns by any pass."""

    modules: tuple[Module, ...]
    pipelines: tuple[Pipeline, ...]
    edges: tuple[Edge, ...]
    sources: Mapping[str, SourceFile] = field(default_factory=dict, compare=False)
    _edges_by_pipeline: Mapping[str, tuple[Edge, ...]] = field(
        init=False, repr=False, compare=False
    )
    _pipeline_index: Mapping[str, Pipeline] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Per-pipeline views of the edges, built once: every pass and target asks for them
        # pipeline by pipeline, and scanning all edges each time is quadratic in a large build.
        by_pipeline: dict[str, list[Edge]] = {}
        for edge in self.edges:
            by_pipeline.setdefault(edge.source.pipeline, []).append(edge)
            if edge.target.pipeline != edge.source.pipeline:
                by_pipeline.setdefault(edge.target.pipeline, []).append(edge)
        object.__setattr__(
            self, "_edges_by_pipeline", {k: tuple(v) for k, v in by_pipeline.items()}
        )
        pipelines: dict[str, Pipeline] = {}
        for pipeline in self.pipelines:
            pipelines.setdefault(pipeline.id.name, pipeline)
        object.__setattr__(self, "_pipeline_index", pipelines)

    def pipeline(self, pipeline_id: str) -> Pipeline | None:
        return self._pipeline_index.get(pipeline_id)

    def edges_of(self, pipeline_id: str) -> tuple[Edge, ...]:
        """Edges that leave or enter ``pipeline_id`` (cross-pipeline ones included)."""
        return self._edges_by_pipeline.get(pipeline_id, ())
