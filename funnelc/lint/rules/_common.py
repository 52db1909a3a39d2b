"""Helpers several rules share: the edges of one pipeline, the pit, the main path, word stems.

Rules run once per pipeline and every rule needs the pipeline's edges; filtering
``project.edges`` each time would make a build of many small pipelines quadratic.  The edges
are therefore indexed by pipeline once per project, and such per-project results are kept in
the lint run's memo (``LintContext.memo``: one per run of the engine, so nothing outlives it).

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

from funnelc.diagnostics import Fix
from funnelc.i18n import N_
from funnelc.model import Edge, EdgeKind, Field, Phase, Pipeline, Project, Stage, StageKind
from funnelc.source import Span

if TYPE_CHECKING:
    from funnelc.lint.name_cache import NameCache
    from funnelc.lint.name_types import NameVerdict
    from funnelc.lint.rule import LintContext


@dataclass(frozen=True, slots=True)
class EdgeIndex:
    outgoing: dict[str, tuple[Edge, ...]]
    """Edges that leave a stage of the pipeline, by pipeline id."""
    incoming: dict[str, tuple[Edge, ...]]
    """Edges that enter a stage of the pipeline, by pipeline id."""


_T = TypeVar("_T")

_FORWARD = frozenset({EdgeKind.ADVANCE, EdgeKind.HANDOFF})
"""The default forward moves, which the main path follows."""


def per_project(context: LintContext, name: str, compute: Callable[[Project], _T]) -> _T:
    """``compute(context.project)``, computed once per lint run (the run's memo is
    ``context.memo``; every context of one run shares it, and one run lints one project)."""
    memo = context.memo
    if name not in memo:
        memo[name] = compute(context.project)
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


def _index(context: LintContext) -> EdgeIndex:
    return per_project(context, "edges", _build_index)


def edges_from(context: LintContext, pipeline: Pipeline) -> tuple[Edge, ...]:
    """Every edge that leaves a stage of ``pipeline`` (into it or into another pipeline)."""
    return _index(context).outgoing.get(pipeline.id.name, ())


def edges_into(context: LintContext, pipeline: Pipeline) -> tuple[Edge, ...]:
    """Every edge that enters a stage of ``pipeline`` (from it or from another pipeline)."""
    return _index(context).incoming.get(pipeline.id.name, ())


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


def facts(context: LintContext, pipeline: Pipeline) -> PipelineFacts:
    """The :class:`PipelineFacts` of ``pipeline``, computed once per lint run and pipeline.

    Kept by pipeline id; a different pipeline object under a kept id (a caller that builds its
    own) gets its own facts, so nothing is ever answered from another pipeline.
    """
    memo = per_project(context, "facts", _no_facts)
    found = memo.get(pipeline.id.name)
    if found is None or found.pipeline is not pipeline:
        found = memo[pipeline.id.name] = _compute_facts(context, pipeline)
    return found


def _no_facts(project: Project) -> dict[str, PipelineFacts]:
    return {}


def _compute_facts(context: LintContext, pipeline: Pipeline) -> PipelineFacts:
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
    for edge in edges_from(context, pipeline):
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


def pits(context: LintContext, pipeline: Pipeline) -> list[Stage]:
    """The pipeline's dying pits: its lost outcomes that some SLA times out into (M6, M7)."""
    return list(facts(context, pipeline).pits)


def phase_heads(pipeline: Pipeline) -> set[str]:
    """Ids of the first open stage of each phase: where a deal arrives rather than a result
    it reached ("Новый клиент", "New lead"), which naming rules leave alone."""
    heads: set[str] = set()
    for phase in (Phase.LEAD, Phase.DEAL):
        opened = pipeline.stages_in(phase)
        if opened:
            heads.add(opened[0].id.name)
    return heads


def main_path(context: LintContext, pipeline: Pipeline) -> list[Stage]:
    """The open stages a deal passes when everything goes well: from the entry along the
    default forward moves (advance, handoff), ending where no such move leaves, or where the
    path would come back to a stage already on it."""
    return list(facts(context, pipeline).main_path)


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


def _fresh_names(project: Project) -> object:
    from funnelc.lint.name_cache import NameCache

    return NameCache()


def verdict(context: LintContext, text: str) -> NameVerdict:
    """The classifier's verdict on a name or goal, computed once per session and text.

    Three rules (L001–L003) ask about the same names; the classifier is imported only by the
    session's cache (:class:`funnelc.lint.name_cache.NameCache`), so pymorphy3 and its
    dictionaries load only for names it has not seen.
    """
    names = context.names
    if names is None:
        names = cast("NameCache", per_project(context, "names", _fresh_names))
    return names.classify(text)


def rename_fix(span: Span, suggestion: str | None) -> Fix | None:
    """Put the classifier's suggested name in place of a stage name (unsafe: a suggestion)."""
    if not suggestion:
        return None
    from funnelc.fixes import quote, replacement

    return replacement(span, quote(suggestion), N_('rename to "{suggestion}"'))


def add_to_stage(context: LintContext, stage: Stage, item: str, title: str) -> Fix | None:
    """Add ``item`` (``sla 5d``) to the body of ``stage`` (unsafe: a placeholder to review)."""
    source = context.project.sources.get(stage.span.path)
    if source is None:
        return None
    from funnelc.fixes import insert_in_block

    return insert_in_block(source, stage.span, item, title)


def example_names(language: str) -> str:
    """Two result-named stages in the name's language, for help lines."""
    if language == "en":
        return '"Meeting held", "Contract signed"'
    return '"Встреча проведена", "Договор подписан"'
