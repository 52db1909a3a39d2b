"""Helpers several rules share: the edges of one pipeline, the pit, the main path, word stems.

Rules run once per pipeline and every rule needs the pipeline's edges; filtering
``project.edges`` each time would make a build of many small pipelines quadratic.  The edges
are therefore indexed by pipeline once per project, and such per-project results are kept for
the project seen last (an identity check; the model is immutable, so they cannot go stale).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar, cast

from funnelc.model import Edge, EdgeKind, Phase, Pipeline, Project, Stage, StageKind

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


def stages_by_id(project: Project, pipeline: Pipeline) -> dict[str, Stage]:
    """The pipeline's stages by id (``Pipeline.stage`` is a linear search)."""
    return per_project(
        project, f"stages/{pipeline.id.name}", lambda _: {s.id.name: s for s in pipeline.stages}
    )


def pits(project: Project, pipeline: Pipeline) -> list[Stage]:
    """The pipeline's dying pits: its lost outcomes that some SLA times out into (M6, M7)."""
    targets = {
        edge.target.stage
        for edge in edges_from(project, pipeline)
        if edge.kind is EdgeKind.TIMEOUT and not edge.cross_pipeline
    }
    return [s for s in pipeline.stages if s.kind is StageKind.LOST and s.id.name in targets]


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
    entry = pipeline.entry
    if entry is None:
        return []
    forward: dict[str, str] = {}
    for edge in edges_from(project, pipeline):
        if edge.kind in (EdgeKind.ADVANCE, EdgeKind.HANDOFF) and not edge.cross_pipeline:
            forward.setdefault(edge.source.stage, edge.target.stage)
    stages = stages_by_id(project, pipeline)
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


def quoted_ids(stages: Iterable[Stage]) -> str:
    return ", ".join(f"`{s.id.name}`" for s in stages)


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
