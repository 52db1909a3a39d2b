"""Helpers several rules share: the edges of one pipeline, the pit, the main path, word stems.

Rules run once per pipeline and every rule needs the pipeline's edges; filtering
``project.edges`` each time would make a build of many small pipelines quadratic.  The edges
are therefore indexed by pipeline once per project, and such per-project results are kept for
the project seen last (an identity check; the model is immutable, so they cannot go stale).

Within one pipeline, every rule must stay linear in the pipeline's size too (a generated
10 000-stage pipeline is linted in the benchmarks): no rule may search the stages, fields or
edges once per stage.  What several rules need about a pipeline — its stages and fields by id,
its edges by kind, its pits, its main path — is therefore computed once, in one pass each, as
:class:`PipelineFacts` (:func:`facts`), and the rules look things up in it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar, cast

from funnelc.model import Edge, EdgeKind, Field, Phase, Pipeline, Project, Stage, StageKind

if TYPE_CHECKING:
    from funnelc.lint.names import NameVerdict


@dataclass(frozen=True, slots=True)
class EdgeIndex:
    outgoing: dict[str, tuple[Edge, ...]]
    """Edges that leave a stage of the pipeline, by pipeline id."""
    incoming: dict[str, tuple[Edge, ...]]
    """Edges that enter a stage of the pipeline, by pipeline id."""


_T = TypeVar("_T")

_last: tuple[Project, dict[str, object]] | None = None

_FORWARD = frozenset({EdgeKind.ADVANCE, EdgeKind.HANDOFF})
"""The default forward moves, which the main path follows."""


def per_project(project: Project, name: str, compute: Callable[[Project], _T]) -> _T:
    """``compute(project)``, computed once per project and kept for the last project seen.

    The (project, results) pair is replaced as a whole and read into a local, so two threads
    linting different projects at once only recompute, never see each other's results.
    """
    global _last
    last = _last
    if last is None or last[0] is not project:
        last = (project, {})
        _last = last
    memo = last[1]
    if name not in memo:
        memo[name] = compute(project)
    return cast(_T, memo[name])


def _build_index(project: Project) -> EdgeIndex:
    outgoing: defaultdict[str, list[Edge]] = defaultdict(list)
    incoming: defaultdict[str, list[Edge]] = defaultdict(list)
    for edge in project.edges:
        outgoing[edge.source.pipeline].append(edge)
        incoming[edge.target.pipeline].append(edge)
    return EdgeIndex(
        {k: tuple(v) for k, v in outgoing.items()}, {k: tuple(v) for k, v in incoming.items()}
    )


def _index(project: Project) -> EdgeIndex:
    return per_project(project, "edges", _build_index)


def edges_from(project: Project, pipeline: Pipeline) -> tuple[Edge, ...]:
    """Every edge that leaves a stage of ``pipeline`` (into it or into another pipeline)."""
    return _index(project).outgoing.get(pipeline.id.name, ())


def edges_into(project: Project, pipeline: Pipeline) -> tuple[Edge, ...]:
    """Every edge that enters a stage of ``pipeline`` (from it or from another pipeline)."""
    return _index(project).incoming.get(pipeline.id.name, ())


@dataclass(frozen=True, slots=True)
class PipelineFacts:
    """What the rules ask about one pipeline, each computed in one pass over it."""

    pipeline: Pipeline
    stages: Mapping[str, Stage]
    """Stages by id (the first of an id, as ``Pipeline.stage`` finds it)."""
    fields: Mapping[str, Field]
    """Visible fields by id (the first of an id, as ``Pipeline.field`` finds it)."""
    outgoing: Mapping[EdgeKind, tuple[Edge, ...]]
    """Edges that leave a stage of the pipeline, by kind, in build order."""
    pits: tuple[Stage, ...]
    """Lost outcomes that some SLA of the pipeline times out into, in source order."""
    lost: Mapping[Phase, int]
    """How many lost outcomes each phase has."""
    main_path: tuple[Stage, ...]
    """See :func:`main_path`."""

    def edges(self, kind: EdgeKind) -> tuple[Edge, ...]:
        return self.outgoing.get(kind, ())


def facts(project: Project, pipeline: Pipeline) -> PipelineFacts:
    """The :class:`PipelineFacts` of ``pipeline``, computed once per project and pipeline.

    Kept by pipeline id; a different pipeline object under a kept id (a caller that builds its
    own) gets its own facts, so nothing is ever answered from another pipeline.
    """
    memo = per_project(project, "facts", _no_facts)
    found = memo.get(pipeline.id.name)
    if found is None or found.pipeline is not pipeline:
        found = memo[pipeline.id.name] = _compute_facts(project, pipeline)
    return found


def _no_facts(project: Project) -> dict[str, PipelineFacts]:
    return {}


def _compute_facts(project: Project, pipeline: Pipeline) -> PipelineFacts:
    stages: dict[str, Stage] = {}
    lost: dict[Phase, int] = {}
    for stage in pipeline.stages:
        stages.setdefault(stage.id.name, stage)
        if stage.kind is StageKind.LOST:
            lost[stage.phase] = lost.get(stage.phase, 0) + 1
    fields: dict[str, Field] = {}
    for declared in pipeline.fields:
        fields.setdefault(declared.id.name, declared)
    outgoing: defaultdict[EdgeKind, list[Edge]] = defaultdict(list)
    forward: dict[str, str] = {}  # each stage's first default forward move, in build order
    for edge in edges_from(project, pipeline):
        outgoing[edge.kind].append(edge)
        if edge.kind in _FORWARD and not edge.cross_pipeline:
            forward.setdefault(edge.source.stage, edge.target.stage)
    timed_out = {
        edge.target.stage for edge in outgoing[EdgeKind.TIMEOUT] if not edge.cross_pipeline
    }
    pits = tuple(s for s in pipeline.stages if s.kind is StageKind.LOST and s.id.name in timed_out)
    return PipelineFacts(
        pipeline,
        stages,
        fields,
        {kind: tuple(edges) for kind, edges in outgoing.items()},
        pits,
        lost,
        tuple(_main_path(pipeline, stages, forward)),
    )


def pits(project: Project, pipeline: Pipeline) -> list[Stage]:
    """The pipeline's dying pits: its lost outcomes that some SLA times out into (M6, M7)."""
    return list(facts(project, pipeline).pits)


def phase_heads(pipeline: Pipeline) -> set[str]:
    """Ids of the first open stage of each phase: where a deal arrives rather than a result
    it reached ("Новый клиент", "New lead"), which naming rules leave alone."""
    heads: set[str] = set()
    for phase in (Phase.LEAD, Phase.DEAL):
        opened = pipeline.stages_in(phase)
        if opened:
            heads.add(opened[0].id.name)
    return heads


def main_path(project: Project, pipeline: Pipeline) -> list[Stage]:
    """The open stages a deal passes when everything goes well: from the entry along the
    default forward moves (advance, handoff), ending where no such move leaves, or where the
    path would come back to a stage already on it."""
    return list(facts(project, pipeline).main_path)


def _main_path(
    pipeline: Pipeline, stages: Mapping[str, Stage], forward: Mapping[str, str]
) -> list[Stage]:
    entry = pipeline.entry
    if entry is None:
        return []
    path: list[Stage] = []
    seen: set[str] = set()
    current: str | None = entry.id.name
    while current is not None and current not in seen:
        stage = stages.get(current)
        if stage is None or not stage.is_open:
            break
        path.append(stage)
        seen.add(current)
        current = forward.get(current)
    return path


def normalise(text: str) -> str:
    """Lower case, ``ё`` as ``е``, whitespace collapsed: what word matching compares."""
    return " ".join(text.casefold().replace("ё", "е").split())


def stems_pattern(stems: Iterable[str]) -> re.Pattern[str]:
    """A pattern that finds any of ``stems`` at the start of a word (so ``срок`` finds
    "сроки" and "срок покупки" but not "просрочка")."""
    alternatives = sorted({re.escape(normalise(s)) for s in stems if s.strip()}, key=len)
    if not alternatives:
        return re.compile(r"(?!x)x")
    return re.compile(r"(?<!\w)(?:" + "|".join(reversed(alternatives)) + ")")


def mentions(texts: Iterable[str], stems: re.Pattern[str]) -> bool:
    return any(stems.search(normalise(text)) for text in texts)


def string_list(value: object) -> Sequence[str]:
    """An option that must be a list of strings (the config loader checks only its type)."""
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return []


def _no_verdicts(project: Project) -> dict[str, NameVerdict]:
    return {}


def verdict(project: Project, text: str) -> NameVerdict:
    """The classifier's verdict on a name or goal, computed once per project and text.

    Three rules (L001–L003) ask about the same names; the classifier is imported only here,
    so pymorphy3 and its dictionaries load only when one of them runs, and only for names the
    disk cache (:mod:`funnelc.lint.name_cache`) has not seen.
    """
    from funnelc.lint.name_cache import classify

    cache = per_project(project, "verdicts", _no_verdicts)
    found = cache.get(text)
    if found is None:
        found = cache[text] = classify(text)
    return found


def example_names(language: str) -> str:
    """Two result-named stages in the name's language, for help lines."""
    if language == "en":
        return '"Meeting held", "Contract signed"'
    return '"Встреча проведена", "Договор подписан"'
