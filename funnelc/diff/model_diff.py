"""The semantic diff: two compiled projects in, typed change records out.  Pure and deterministic.

Stages are matched per pipeline in this order:

1. a new stage that says ``was OLD`` (the CRM-sync construct) is the old stage ``OLD`` re-keyed;
2. a stage with the same id in both versions is the same stage;
3. among the stages left, an old and a new one of the same kind with the same display name are
   the same stage re-keyed *without* ``was`` (the CRM loses its id mapping: see ``breaking``);
4. what is left is removed (old) or added (new).

Each matched pair is compared attribute by attribute (display name, phase, kind, goal, exit
criteria, SLA, probability, key flag, required fields), and the order of the open stages of
each phase is compared by a longest common subsequence, so moving one stage reports that stage
only.  Edges are compared by (kind, from, to) with the old ends mapped through the re-keys; an
edge is reported only when both of its ends exist in both versions (the edges of an added or a
removed stage follow from it and are not listed again, and neither are the implied edges —
advance, handoff, win, lose — which follow from the stages and their order; the diagram still
colours them).  A timeout edge's SLA follows from the stage's SLA and is not listed either.
Fields and loss reasons are compared per pipeline, as the pipeline sees them (imported ones
included).
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from funnelc.model import Edge, EdgeKind, Phase, Pipeline, Project, Stage, StageKey

_Item = TypeVar("_Item", Stage, Pipeline)

Value = str | int | bool | tuple[str, ...] | None
"""A compared value: a text, a number, a flag, a list of texts, or nothing."""


class ChangeKind(enum.StrEnum):
    PIPELINE_ADDED = "pipeline-added"
    PIPELINE_REMOVED = "pipeline-removed"
    PIPELINE_RENAMED = "pipeline-renamed"
    PIPELINE_REKEYED = "pipeline-rekeyed"
    STAGE_ADDED = "stage-added"
    STAGE_REMOVED = "stage-removed"
    STAGE_RENAMED = "stage-renamed"
    STAGE_REKEYED = "stage-rekeyed"
    STAGE_REORDERED = "stage-reordered"
    STAGE_MOVED = "stage-moved"
    STAGE_KIND_CHANGED = "stage-kind-changed"
    STAGE_CHANGED = "stage-changed"
    EDGE_ADDED = "edge-added"
    EDGE_REMOVED = "edge-removed"
    EDGE_CHANGED = "edge-changed"
    FIELD_ADDED = "field-added"
    FIELD_REMOVED = "field-removed"
    FIELD_CHANGED = "field-changed"
    REASON_ADDED = "reason-added"
    REASON_REMOVED = "reason-removed"
    REASON_RENAMED = "reason-renamed"


STAGE_ATTRIBUTES = ("goal", "exits", "sla", "probability", "key", "requires")
"""The attributes a ``stage-changed`` record names, in the order they are compared."""


@dataclass(frozen=True, slots=True)
class Change:
    """One change.

    ``subject`` is the stage, field or reason id (a re-keyed stage: its new id, ``was`` the
    old one; an edge: its source), ``name`` its display name (the new one, or the old one when
    it was removed).  ``attribute`` says what changed (``sla``, ``phase``, an edge's kind …),
    ``before`` and ``after`` the values.  An edge has ``target`` and ``target_name`` too; an
    end in another pipeline is written ``pipeline.stage``.  ``declared`` is true for a re-key
    the new version states with ``was``.
    """

    kind: ChangeKind
    pipeline: str
    subject: str = ""
    name: str = ""
    attribute: str = ""
    before: Value = None
    after: Value = None
    target: str = ""
    target_name: str = ""
    was: str = ""
    declared: bool = False
    stage_kind: str = ""
    """For a stage: ``open``, ``won`` or ``lost`` (in the version it is described from)."""


@dataclass(frozen=True, slots=True)
class PipelineMatch:
    """How the stages of one pipeline present in both versions correspond."""

    pipeline: str
    old_pipeline: str
    """The pipeline's id in the old version (another one when it was re-keyed)."""
    rekeyed: Mapping[str, str]
    """Old id → new id, for every matched stage whose id changed."""
    declared: frozenset[str]
    """The new ids of the re-keys stated with ``was``."""
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]
    """New ids of the matched stages with any change of their own (not counting order)."""
    merged: tuple[Stage, ...]
    """The new stages with the removed old ones put back where they stood: what the diff
    diagram draws."""


@dataclass(frozen=True, slots=True)
class ProjectDiff:
    """The diff of two projects: every change in a stable order, and the matches behind it."""

    old: Project
    new: Project
    changes: tuple[Change, ...]
    matches: Mapping[str, PipelineMatch] = field(default_factory=dict)
    renames: Mapping[StageKey, StageKey] = field(default_factory=dict)
    """Old key → new key of every matched stage whose key changed (its id or its pipeline's)."""

    def old_pipeline(self, pid: str) -> Pipeline | None:
        """The old version of the new pipeline ``pid`` (or the removed pipeline ``pid``)."""
        match = self.matches.get(pid)
        return self.old.pipeline(match.old_pipeline if match is not None else pid)

    @property
    def empty(self) -> bool:
        return not self.changes


def declared_was(stage: Stage) -> str | None:
    """The old id a stage states with ``was OLD`` (the CRM-sync construct), if any."""
    return stage.was.name if stage.was is not None else None


def _name_of(project: Project, key: StageKey) -> str:
    pipeline = project.pipeline(key.pipeline)
    stage = pipeline.stage(key.stage) if pipeline is not None else None
    return stage.name.value if stage is not None else key.stage


def _sla(stage: Stage) -> str | None:
    return str(stage.sla) if stage.sla is not None else None


def _attribute(stage: Stage, name: str) -> Value:
    if name == "goal":
        return stage.goal.value if stage.goal is not None else None
    if name == "exits":
        return tuple(t.value for t in stage.exits)
    if name == "sla":
        return _sla(stage)
    if name == "probability":
        return stage.probability
    if name == "key":
        return stage.key
    return tuple(str(r) for r in stage.requires)


def _pair(
    old: Sequence[_Item],
    new: Sequence[_Item],
    stated: Callable[[_Item], str | None],
    alike: Callable[[_Item, _Item], bool],
) -> tuple[dict[str, str], set[str]]:
    """new id → old id for every matched item (stage or pipeline), and the new ids re-keyed
    with ``was``: an item that ``stated`` its old id, then the same id, then among the old
    items left the first one ``alike`` (the same display name …)."""
    old_ids = {o.id.name for o in old}
    new_ids = {n.id.name for n in new}
    pairs: dict[str, str] = {}
    declared: set[str] = set()
    taken: set[str] = set()
    for item in new:
        nid, previous = item.id.name, stated(item)
        if nid in pairs or previous is None or previous in taken:
            continue
        if previous in old_ids and previous not in new_ids:
            pairs[nid] = previous
            declared.add(nid)
            taken.add(previous)
    for item in new:
        nid = item.id.name
        if nid not in pairs and nid in old_ids and nid not in taken:
            pairs[nid] = nid
            taken.add(nid)
    left = [o for o in old if o.id.name not in taken and o.id.name not in new_ids]
    for item in new:
        nid = item.id.name
        if nid in pairs or nid in old_ids:
            continue
        same = next((o for o in left if alike(o, item)), None)
        if same is not None:
            pairs[nid] = same.id.name
            taken.add(same.id.name)
            left.remove(same)
    return pairs, declared


def _match(
    old: Pipeline, new: Pipeline, was: Mapping[StageKey, str]
) -> tuple[dict[str, str], set[str]]:
    """new id → old id for every matched stage, and the new ids re-keyed with ``was``; a
    stage re-keyed without ``was`` has the same display name and the same kind."""
    pid = new.id.name
    return _pair(
        old.stages,
        new.stages,
        lambda s: was.get(StageKey(pid, s.id.name)) or declared_was(s),
        lambda o, n: o.name.value == n.name.value and o.kind is n.kind,
    )


def declared_pipeline_was(pipeline: Pipeline) -> str | None:
    """The old id a pipeline states with ``was OLD``, if any."""
    return pipeline.was.name if pipeline.was is not None else None


def _match_pipelines(old: Project, new: Project) -> tuple[dict[str, str], set[str]]:
    """new id → old id for every matched pipeline, and the new ids re-keyed with ``was``;
    matched as stages are: ``was``, then the same id, then the same display name."""
    return _pair(
        old.pipelines,
        new.pipelines,
        declared_pipeline_was,
        lambda o, n: o.name.value == n.name.value,
    )


def _merged(old: Pipeline, new: Pipeline, pairs: Mapping[str, str]) -> tuple[Stage, ...]:
    """New stages, with each removed old stage after the stage it followed in the old version
    (after its old predecessor's new place, or first)."""
    matched_old = {o: n for n, o in pairs.items()}
    after: dict[str | None, list[Stage]] = {}
    anchor: str | None = None
    for stage in old.stages:
        oid = stage.id.name
        if oid in matched_old:
            anchor = matched_old[oid]
        else:
            after.setdefault(anchor, []).append(stage)
    seen: set[str] = set()
    merged: list[Stage] = list(after.get(None, []))
    for stage in new.stages:
        if stage.id.name in seen:
            continue
        seen.add(stage.id.name)
        merged.append(stage)
        merged.extend(after.get(stage.id.name, []))
    return tuple(merged)


def _reorders(
    old: Pipeline, new: Pipeline, pairs: Mapping[str, str], moved: set[str]
) -> list[tuple[str, int, int]]:
    """(new id, old position, new position) of the open stages that changed places within
    their phase, positions 1-based; the fewest stages that explain the new order."""
    found: list[tuple[str, int, int]] = []
    back = {o: n for n, o in pairs.items()}
    for phase in (Phase.LEAD, Phase.DEAL):
        before = [back[s.id.name] for s in old.stages_in(phase) if s.id.name in back]
        now = [s.id.name for s in new.stages_in(phase) if s.id.name in pairs]
        before = [s for s in before if s in now and s not in moved]
        now = [s for s in now if s in before]
        matcher = difflib.SequenceMatcher(a=before, b=now, autojunk=False)
        kept = {now[b + i] for a, b, size in matcher.get_matching_blocks() for i in range(size)}
        old_pos = {n: i for i, n in enumerate(s.id.name for s in old.stages_in(phase))}
        new_pos = {n: i for i, n in enumerate(s.id.name for s in new.stages_in(phase))}
        for nid in now:
            if nid not in kept:
                found.append((nid, old_pos[pairs[nid]] + 1, new_pos[nid] + 1))
    return found


def _stage_changes(pid: str, o: Stage, n: Stage, declared: bool) -> list[Change]:
    name = n.name.value
    kind = n.kind.value
    out: list[Change] = []
    nid = n.id.name

    def change(k: ChangeKind, attribute: str, before: Value, after: Value) -> None:
        out.append(Change(k, pid, nid, name, attribute, before, after, stage_kind=kind))

    if o.id.name != nid:
        out.append(
            Change(
                ChangeKind.STAGE_REKEYED,
                pid,
                nid,
                name,
                "id",
                o.id.name,
                nid,
                was=o.id.name,
                declared=declared,
                stage_kind=kind,
            )
        )
    if o.name.value != name:
        change(ChangeKind.STAGE_RENAMED, "name", o.name.value, name)
    if o.phase is not n.phase:
        change(ChangeKind.STAGE_MOVED, "phase", o.phase.value, n.phase.value)
    if o.kind is not n.kind:
        change(ChangeKind.STAGE_KIND_CHANGED, "kind", o.kind.value, n.kind.value)
    for attribute in STAGE_ATTRIBUTES:
        before, after = _attribute(o, attribute), _attribute(n, attribute)
        if before != after:
            change(ChangeKind.STAGE_CHANGED, attribute, before, after)
    return out


def _end(key: StageKey, pid: str) -> str:
    return key.stage if key.pipeline == pid else str(key)


IMPLIED = frozenset({EdgeKind.ADVANCE, EdgeKind.HANDOFF, EdgeKind.WIN, EdgeKind.LOSE})
"""Edge kinds that follow from the stages and their order: not listed as edge changes (the
stage changes that cause them are), though the diagram colours them."""

_EdgeId = tuple[EdgeKind, StageKey, StageKey]


def _edge_index(edges: Iterable[Edge], pid: str) -> dict[_EdgeId, Edge]:
    index: dict[_EdgeId, Edge] = {}
    for e in edges:
        if e.source.pipeline == pid:
            index.setdefault((e.kind, e.source, e.target), e)
    return index


def mapped_edges(old: Project, renames: Mapping[StageKey, StageKey]) -> list[Edge]:
    """The old project's edges with their ends renamed to the new ids (for comparing and
    drawing)."""
    from dataclasses import replace

    out = []
    for e in old.edges:
        source = renames.get(e.source, e.source)
        target = renames.get(e.target, e.target)
        out.append(
            replace(e, source=source, target=target)
            if (source, target) != (e.source, e.target)
            else e
        )
    return out


def _edge_details(e: Edge) -> tuple[str | None, str | None]:
    return e.label, (str(e.delay) if e.delay is not None else None)


def _edge_changes(
    diff_old: Project,
    new: Project,
    pid: str,
    old_edges: list[Edge],
    both: set[StageKey],
) -> list[Change]:
    before = _edge_index(old_edges, pid)
    after = _edge_index(new.edges, pid)
    out: list[Change] = []

    def record(kind: ChangeKind, e: Edge, project: Project, attribute: str = "") -> Change:
        return Change(
            kind,
            pid,
            _end(e.source, pid),
            _name_of(project, e.source),
            attribute or e.kind.value,
            target=_end(e.target, pid),
            target_name=_name_of(project, e.target),
        )

    for key, e in after.items():
        if e.source not in both or e.target not in both or e.kind in IMPLIED:
            continue
        if key not in before:
            out.append(record(ChangeKind.EDGE_ADDED, e, new))
            continue
        label_b, delay_b = _edge_details(before[key])
        label_a, delay_a = _edge_details(e)
        base = record(ChangeKind.EDGE_CHANGED, e, new)
        if label_b != label_a and e.kind is not EdgeKind.TIMEOUT:
            out.append(_with(base, f"{e.kind.value}:label", label_b, label_a))
        if delay_b != delay_a:
            out.append(_with(base, f"{e.kind.value}:delay", delay_b, delay_a))
    for key, e in before.items():
        if key not in after and e.source in both and e.target in both and e.kind not in IMPLIED:
            out.append(record(ChangeKind.EDGE_REMOVED, e, new))
    return out


def _with(change: Change, attribute: str, before: Value, after: Value) -> Change:
    from dataclasses import replace

    return replace(change, attribute=attribute, before=before, after=after)


def _field_changes(pid: str, old: Pipeline, new: Pipeline) -> list[Change]:
    out: list[Change] = []
    before = {f.id.name: f for f in reversed(old.fields)}
    after = {f.id.name: f for f in reversed(new.fields)}
    for fid in _ordered(new.fields, after):
        f = after[fid]
        if fid not in before:
            out.append(Change(ChangeKind.FIELD_ADDED, pid, fid, f.name.value, after=f.type.kind))
            continue
        o = before[fid]
        for attribute, b, a in (
            ("name", o.name.value, f.name.value),
            ("type", o.type.kind, f.type.kind),
            ("options", o.type.options, f.type.options),
        ):
            if b != a:
                out.append(
                    Change(ChangeKind.FIELD_CHANGED, pid, fid, f.name.value, attribute, b, a)
                )
    for fid in _ordered(old.fields, before):
        if fid not in after:
            o = before[fid]
            out.append(Change(ChangeKind.FIELD_REMOVED, pid, fid, o.name.value, before=o.type.kind))
    rb = {r.id.name: r for r in reversed(old.reasons)}
    ra = {r.id.name: r for r in reversed(new.reasons)}
    for rid in _ordered(new.reasons, ra):
        r = ra[rid]
        if rid not in rb:
            out.append(Change(ChangeKind.REASON_ADDED, pid, rid, r.name.value))
        elif rb[rid].name.value != r.name.value:
            out.append(
                Change(
                    ChangeKind.REASON_RENAMED,
                    pid,
                    rid,
                    r.name.value,
                    "name",
                    rb[rid].name.value,
                    r.name.value,
                )
            )
    for rid in _ordered(old.reasons, rb):
        if rid not in ra:
            out.append(Change(ChangeKind.REASON_REMOVED, pid, rid, rb[rid].name.value))
    return out


def _ordered(items: Iterable[object], index: Mapping[str, object]) -> list[str]:
    """Ids of ``items`` (fields or reasons) in source order, each once."""
    seen: list[str] = []
    for item in items:
        ident = item.id.name  # type: ignore[attr-defined]
        if ident not in seen and ident in index:
            seen.append(ident)
    return seen


def diff_projects(
    old: Project, new: Project, *, was: Mapping[StageKey, str] | None = None
) -> ProjectDiff:
    """Every change from ``old`` to ``new``.

    ``was`` maps a new stage (by key) to the id it had in ``old``; it adds to (and overrides)
    what the stages themselves declare with ``was``."""
    was = was or {}
    changes: list[Change] = []
    matches: dict[str, PipelineMatch] = {}
    renames: dict[StageKey, StageKey] = {}
    new_ids = [p.id.name for p in new.pipelines]
    old_ids = [p.id.name for p in old.pipelines]
    pairs_of: dict[str, dict[str, str]] = {}
    declared_of: dict[str, set[str]] = {}
    pipelines, stated_pipelines = _match_pipelines(old, new)
    for pid, opid in pipelines.items():
        o, n = old.pipeline(opid), new.pipeline(pid)
        assert o is not None and n is not None
        pairs, stated = _match(o, n, was)
        pairs_of[pid] = pairs
        declared_of[pid] = stated
        for nid, oid in pairs.items():
            if (opid, oid) != (pid, nid):
                renames[StageKey(opid, oid)] = StageKey(pid, nid)
    old_edges = mapped_edges(old, renames)
    for pid in dict.fromkeys(new_ids):
        n = new.pipeline(pid)
        assert n is not None
        if pid not in pipelines:
            changes.append(Change(ChangeKind.PIPELINE_ADDED, pid, pid, n.name.value))
            continue
        opid = pipelines[pid]
        o = old.pipeline(opid)
        assert o is not None
        pairs = pairs_of[pid]
        declared = declared_of[pid]
        if opid != pid:
            changes.append(
                Change(
                    ChangeKind.PIPELINE_REKEYED,
                    pid,
                    pid,
                    n.name.value,
                    "id",
                    opid,
                    pid,
                    was=opid,
                    declared=pid in stated_pipelines,
                )
            )
        if o.name.value != n.name.value:
            changes.append(
                Change(
                    ChangeKind.PIPELINE_RENAMED,
                    pid,
                    pid,
                    n.name.value,
                    "name",
                    o.name.value,
                    n.name.value,
                )
            )
        merged = _merged(o, n, pairs)
        matched_old = set(pairs.values())
        added = [s.id.name for s in n.stages if s.id.name not in pairs]
        removed = [s.id.name for s in o.stages if s.id.name not in matched_old]
        per_stage: dict[str, list[Change]] = {}
        moved: set[str] = set()
        changed: list[str] = []
        for stage in n.stages:
            nid = stage.id.name
            if nid in pairs:
                previous = o.stage(pairs[nid])
                assert previous is not None
                found = _stage_changes(pid, previous, stage, nid in declared)
                if found:
                    changed.append(nid)
                if previous.phase is not stage.phase:
                    moved.add(nid)
                per_stage.setdefault(nid, []).extend(found)
            elif nid not in per_stage:
                per_stage[nid] = [
                    Change(
                        ChangeKind.STAGE_ADDED,
                        pid,
                        nid,
                        stage.name.value,
                        after=stage.phase.value,
                        stage_kind=stage.kind.value,
                    )
                ]
        for oid in removed:
            gone = o.stage(oid)
            assert gone is not None
            per_stage[oid] = [
                Change(
                    ChangeKind.STAGE_REMOVED,
                    pid,
                    oid,
                    gone.name.value,
                    before=gone.phase.value,
                    stage_kind=gone.kind.value,
                )
            ]
        for nid, before, after in _reorders(o, n, pairs, moved):
            here = n.stage(nid)
            assert here is not None
            per_stage[nid].append(
                Change(
                    ChangeKind.STAGE_REORDERED,
                    pid,
                    nid,
                    here.name.value,
                    "position",
                    before,
                    after,
                    stage_kind=here.kind.value,
                )
            )
            if nid not in changed:
                changed.append(nid)
        for stage in merged:
            changes.extend(per_stage.pop(stage.id.name, []))
        both = {StageKey(pid, nid) for nid in pairs}
        # Ends in other pipelines count when they exist in both versions.
        both |= {
            StageKey(p.id.name, s)
            for p in new.pipelines
            if p.id.name != pid
            for s in pairs_of.get(p.id.name, {})
        }
        changes.extend(_edge_changes(old, new, pid, old_edges, both))
        changes.extend(_field_changes(pid, o, n))
        matches[pid] = PipelineMatch(
            pid,
            opid,
            {oid: nid for nid, oid in pairs.items() if nid != oid},
            frozenset(declared),
            tuple(added),
            tuple(removed),
            tuple(changed),
            merged,
        )
    kept = set(pipelines.values())
    for pid in dict.fromkeys(old_ids):
        if pid not in kept:
            dropped = old.pipeline(pid)
            assert dropped is not None
            changes.append(Change(ChangeKind.PIPELINE_REMOVED, pid, pid, dropped.name.value))
    return ProjectDiff(old, new, tuple(changes), matches, renames)


__all__ = [
    "STAGE_ATTRIBUTES",
    "Change",
    "ChangeKind",
    "PipelineMatch",
    "ProjectDiff",
    "Value",
    "declared_pipeline_was",
    "declared_was",
    "diff_projects",
    "mapped_edges",
]
