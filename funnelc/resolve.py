"""Pass 3, resolve: modules → :class:`~funnelc.model.Project`, plus diagnostics.

Resolution gives every pipeline the fields and loss reasons visible to it (its file's and its
imports' file-level declarations, then its own), checks that every name refers to something,
checks the structure a pipeline must have, and derives the typed edges of the stage graph.
Graph-wide properties (reachability) are checked afterwards by ``validate``.

Visibility: a pipeline sees the file-level declarations of its own file and of every file that
file imports, directly or not.  Stages of other pipelines are reached as ``pipeline.stage``
(only by ``next`` and ``revive``); every pipeline of the build can be named that way.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import replace

from funnelc import codes
from funnelc.diagnostics import Diagnostic, Fix, Label, did_you_mean, suggest
from funnelc.i18n import N_, _
from funnelc.model import (
    Edge,
    EdgeKind,
    Field,
    Ident,
    LossReason,
    Module,
    Phase,
    Pipeline,
    Project,
    Ref,
    Stage,
    StageKey,
    StageKind,
)
from funnelc.source import Span


def _unique(
    items: Iterable[tuple[Ident, str]], kind: str, diagnostics: list[Diagnostic]
) -> dict[str, Ident]:
    """First occurrence of each id; later ones are reported as duplicates."""
    first: dict[str, Ident] = {}
    for ident, _kind in items:
        if ident.name in first:
            diagnostics.append(
                codes.make(
                    "F101",
                    ident.span,
                    labels=(Label(first[ident.name].span, _("first defined here")),),
                    kind=_(kind),
                    name=ident.name,
                )
            )
        else:
            first[ident.name] = ident
    return first


def _closure(start: str, imports: dict[str, tuple[str, ...]]) -> list[str]:
    """``start`` and everything it imports, imported files first (depth-first post-order)."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(path: str) -> None:
        if path in seen:
            return
        seen.add(path)
        for dep in imports.get(path, ()):
            visit(dep)
        order.append(path)

    visit(start)
    return order


class _Resolver:
    # A plain class, not a dataclass: making one costs a third of a millisecond at import,
    # which every `funnelc check` pays (see bench/run.py's start-up figure).
    __slots__ = ("diagnostics", "imports", "modules", "pipelines", "stage_index")

    def __init__(self, modules: Sequence[Module], imports: dict[str, tuple[str, ...]]) -> None:
        self.modules = modules
        self.imports = imports
        self.diagnostics: list[Diagnostic] = []
        self.pipelines: dict[str, Pipeline] = {}
        self.stage_index: dict[str, dict[str, Stage]] = {}
        """pipeline id → stage id → stage (the first one, if an id is duplicated)."""

    def add_pipeline(self, pipeline: Pipeline) -> None:
        self.pipelines[pipeline.id.name] = pipeline
        index: dict[str, Stage] = {}
        for stage in pipeline.stages:
            index.setdefault(stage.id.name, stage)
        self.stage_index[pipeline.id.name] = index

    def find(self, pipeline: Pipeline, stage_id: str) -> Stage | None:
        return self.stage_index[pipeline.id.name].get(stage_id)

    def report(self, diagnostic: Diagnostic) -> None:
        self.diagnostics.append(diagnostic)

    # ---- declarations ------------------------------------------------------------------------
    def visible(self, module: Module) -> tuple[tuple[Field, ...], tuple[LossReason, ...]]:
        by_path = {m.path: m for m in self.modules}
        fields: list[Field] = []
        reasons: list[LossReason] = []
        for path in _closure(module.path, self.imports):
            if path in by_path:
                fields.extend(by_path[path].fields)
                reasons.extend(by_path[path].reasons)
        return tuple(fields), tuple(reasons)

    def with_declarations(self, module: Module, pipeline: Pipeline) -> Pipeline:
        shared_fields, shared_reasons = self.visible(module)
        fields = shared_fields + pipeline.fields
        reasons = shared_reasons + pipeline.reasons
        _unique(((f.id, "") for f in fields), N_("field"), self.diagnostics)
        _unique(((r.id, "") for r in reasons), N_("loss reason"), self.diagnostics)
        return replace(pipeline, fields=fields, reasons=reasons)

    # ---- references --------------------------------------------------------------------------
    def local_stage(self, pipeline: Pipeline, ref: Ref, role: str = "") -> Stage | None:
        if ref.pipeline is not None and ref.pipeline != pipeline.id.name:
            return self.foreign_stage(ref)
        stage = self.find(pipeline, ref.name)
        if stage is None:
            self.report(
                codes.make(
                    "F102",
                    ref.span,
                    name=ref.name,
                    where=_(" in pipeline `{pipeline}`").format(pipeline=pipeline.id.name),
                    hint=_stage_hint(ref.name, pipeline, role),
                    fix=_rename_fix(ref.span, ref.name, [s.id.name for s in pipeline.stages]),
                )
            )
        return stage

    def foreign_stage(self, ref: Ref) -> Stage | None:
        assert ref.pipeline is not None
        other = self.pipelines.get(ref.pipeline)
        if other is None:
            self.report(
                codes.make(
                    "F105",
                    _pipeline_part(ref),
                    name=ref.pipeline,
                    hint=suggest(
                        ref.pipeline,
                        self.pipelines,
                        _(
                            "pipelines from every file of the build can be named; "
                            "is its file part of the build?"
                        ),
                    ),
                )
            )
            return None
        stage = self.find(other, ref.name)
        if stage is None:
            self.report(
                codes.make(
                    "F102",
                    _stage_part(ref),
                    name=ref.name,
                    where=_(" in pipeline `{pipeline}`").format(pipeline=other.id.name),
                    hint=_stage_hint(ref.name, other),
                    fix=_rename_fix(_stage_part(ref), ref.name, [s.id.name for s in other.stages]),
                )
            )
        return stage

    def check_fields(self, pipeline: Pipeline) -> None:
        names = [f.id.name for f in pipeline.fields]
        declared = set(names)
        for stage in pipeline.stages:
            for ref in stage.requires:
                if ref.name not in declared:
                    self.report(
                        codes.make(
                            "F103",
                            ref.span,
                            fix=_rename_fix(ref.span, ref.name, names),
                            name=ref.name,
                            hint=suggest(
                                ref.name,
                                names,
                                _('declare it: `field {name} "<name>" text`').format(name=ref.name),
                            ),
                        )
                    )

    def check_reasons(self, pipeline: Pipeline) -> None:
        names = {r.id.name for r in pipeline.reasons}
        for stage in pipeline.stages:
            if stage.reasons and stage.kind is not StageKind.LOST:
                first, last = stage.reasons[0].span, stage.reasons[-1].span
                self.report(
                    codes.make(
                        "F216",
                        Span(first.path, first.start, last.end),
                        stage=stage.id.name,
                    )
                )
                continue
            for ref in stage.reasons:
                if ref.name not in names:
                    self.report(
                        codes.make(
                            "F104",
                            ref.span,
                            fix=_rename_fix(ref.span, ref.name, names),
                            name=ref.name,
                            hint=suggest(
                                ref.name,
                                names,
                                _('declare it: `reason {name} "<name>"`').format(name=ref.name),
                            ),
                        )
                    )

    # ---- structure ---------------------------------------------------------------------------
    def check_structure(self, p: Pipeline) -> None:
        name = p.id.name
        if not p.stages_in(Phase.DEAL):
            self.report(codes.make("F201", p.id.span, pipeline=name))
        if not any(s.kind is StageKind.WON for s in p.stages):
            self.report(codes.make("F202", p.id.span, pipeline=name))
        if not p.stages_in(Phase.DEAL, StageKind.LOST):
            self.report(codes.make("F203", p.id.span, pipeline=name))
        if p.lead is not None and not p.stages_in(Phase.LEAD):
            self.report(codes.make("F211", p.lead.span, pipeline=name))
        keys = [s for s in p.stages if s.key]
        if len(keys) > 1:
            for extra in keys[1:]:
                self.report(
                    codes.make(
                        "F209",
                        extra.id.span,
                        labels=(Label(keys[0].id.span, _("the first key stage")),),
                        pipeline=name,
                    )
                )

    # ---- edges -------------------------------------------------------------------------------
    def edges(self, p: Pipeline) -> list[Edge]:
        pid = p.id.name

        def key(stage: Stage) -> StageKey:
            return StageKey(pid, stage.id.name)

        edges: list[Edge] = []
        lead_open = p.stages_in(Phase.LEAD)
        deal_open = p.stages_in(Phase.DEAL)
        won = [s for s in p.stages if s.kind is StageKind.WON]
        lead_lost = p.stages_in(Phase.LEAD, StageKind.LOST)
        deal_lost = p.stages_in(Phase.DEAL, StageKind.LOST)
        accept = tuple(t.value for t in p.lead.accept) if p.lead else ()

        def forward(stage: Stage, default: list[tuple[EdgeKind, Stage]]) -> None:
            if stage.then is not None:
                target = self.local_stage(p, stage.then)
                if target is None:
                    return
                if target is stage:
                    self.report(codes.make("F212", stage.then.span, stage=stage.id.name))
                    return
                if stage.phase is Phase.DEAL and target.phase is Phase.LEAD:
                    self.report(
                        codes.make(
                            "F208",
                            stage.then.span,
                            source=stage.id.name,
                            target=target.id.name,
                        )
                    )
                    return
                kind = (
                    EdgeKind.WIN
                    if target.kind is StageKind.WON
                    else EdgeKind.LOSE
                    if target.kind is StageKind.LOST
                    else EdgeKind.HANDOFF
                    if stage.phase is Phase.LEAD and target.phase is Phase.DEAL
                    else EdgeKind.ADVANCE
                )
                criteria = accept if kind is EdgeKind.HANDOFF else ()
                edges.append(
                    Edge(kind, key(stage), key(target), stage.then.span, criteria=criteria)
                )
                return
            for kind, target in default:
                criteria = accept if kind is EdgeKind.HANDOFF else ()
                edges.append(Edge(kind, key(stage), key(target), stage.id.span, criteria=criteria))

        for phase_stages in (lead_open, deal_open):
            for index, stage in enumerate(phase_stages):
                if index + 1 < len(phase_stages):
                    forward(stage, [(EdgeKind.ADVANCE, phase_stages[index + 1])])
                elif stage.phase is Phase.LEAD:
                    forward(stage, [(EdgeKind.HANDOFF, deal_open[0])] if deal_open else [])
                else:
                    forward(stage, [(EdgeKind.WIN, w) for w in won])
        for stage in lead_open:
            for lost in lead_lost or deal_lost:
                edges.append(Edge(EdgeKind.LOSE, key(stage), key(lost), stage.id.span))
        for stage in deal_open:
            for lost in deal_lost:
                edges.append(Edge(EdgeKind.LOSE, key(stage), key(lost), stage.id.span))

        for stage in p.open_stages:
            if stage.sla is None:
                continue
            ref = stage.timeout or p.timeout
            if ref is None:
                self.report(
                    codes.make(
                        "F204",
                        stage.sla.span,
                        labels=(Label(stage.id.span, _("this stage")),),
                        stage=stage.id.name,
                    )
                )
                continue
            target = self.local_stage(p, ref)
            if target is None:
                continue
            if target is stage:
                self.report(codes.make("F213", ref.span, stage=stage.id.name))
                continue
            if target.kind is StageKind.WON:
                self.report(
                    codes.make(
                        "F215",
                        ref.span,
                        labels=(
                            Label(
                                stage.sla.span,
                                _("the SLA of `{stage}`").format(stage=stage.id.name),
                            ),
                        ),
                        stage=stage.id.name,
                        target=target.id.name,
                    )
                )
                continue
            if stage.phase is Phase.DEAL and target.phase is Phase.LEAD:
                self.report(
                    codes.make("F208", ref.span, source=stage.id.name, target=target.id.name)
                )
                continue
            edges.append(
                Edge(
                    EdgeKind.TIMEOUT,
                    key(stage),
                    key(target),
                    stage.sla.span,
                    label=str(stage.sla),
                    sla=stage.sla,
                )
            )
        for stage in p.stages:
            if stage.timeout is not None and stage.sla is None:
                # A per-stage timeout target with no SLA: the target must still exist.
                self.local_stage(p, stage.timeout)
        if p.timeout is not None:
            self.local_stage(p, p.timeout)

        for explicit in p.edges:
            source = self.local_stage(p, explicit.source)
            target = self.local_stage(p, explicit.target)
            if source is None or target is None:
                continue
            if source.is_outcome:
                self.report(
                    codes.make(
                        "F207",
                        explicit.source.span,
                        labels=(
                            Label(
                                source.id.span,
                                _("`{stage}` is a {kind} outcome").format(
                                    stage=source.id.name, kind=_(source.kind.value)
                                ),
                            ),
                        ),
                        stage=source.id.name,
                    )
                )
                continue
            arrow = Span(explicit.span.path, explicit.source.span.start, explicit.target.span.end)
            if source is target:
                self.report(codes.make("F212", arrow, stage=source.id.name))
                continue
            if source.phase is Phase.DEAL and target.phase is Phase.LEAD:
                self.report(
                    codes.make(
                        "F208",
                        arrow,
                        source=source.id.name,
                        target=target.id.name,
                    )
                )
                continue
            edges.append(
                Edge(
                    EdgeKind.EXPLICIT,
                    key(source),
                    key(target),
                    explicit.span,
                    label=explicit.label.value if explicit.label else None,
                )
            )

        for revive in p.revives:
            source = self.local_stage(p, revive.source)
            target_pipeline = self.pipelines.get(revive.target.pipeline or pid)
            target = self.local_stage(p, revive.target)
            if source is None or target is None or target_pipeline is None:
                continue
            if source.kind is not StageKind.LOST:
                self.report(
                    codes.make(
                        "F205",
                        revive.source.span,
                        stage=source.id.name,
                        kind=_("an open stage") if source.is_open else _("a won outcome"),
                    )
                )
                continue
            if not _is_lead_entry(target_pipeline, target):
                if target_pipeline.stages_in(Phase.LEAD):
                    where = _("an outcome") if target.is_outcome else _("a deal stage")
                    hint = _("revive into a stage of the lead phase: marketing works revived deals")
                else:
                    entry = target_pipeline.entry
                    where = _(
                        "not the first stage of `{pipeline}`, which has no lead phase"
                    ).format(pipeline=target_pipeline.id.name)
                    hint = (
                        _("revive into `{stage}`, the pipeline's first stage").format(
                            stage=entry.id.name
                        )
                        if entry
                        else ""
                    )
                self.report(
                    codes.make(
                        "F206", revive.target.span, stage=str(revive.target), where=where, hint=hint
                    )
                )
                continue
            edges.append(
                Edge(
                    EdgeKind.REVIVE,
                    key(source),
                    StageKey(target_pipeline.id.name, target.id.name),
                    revive.span,
                    label=revive.label.value if revive.label else None,
                    delay=revive.delay,
                )
            )

        for stage in p.stages:
            if stage.next is None:
                continue
            if stage.kind is not StageKind.WON:
                self.report(
                    codes.make(
                        "F214",
                        stage.next.span,
                        stage=stage.id.name,
                    )
                )
                continue
            target_id = stage.next.pipeline or pid
            target = self.local_stage(p, stage.next)
            if target is None:
                continue
            if target_id == pid:
                self.report(
                    codes.make("F210", stage.next.span, target=str(stage.next), pipeline=pid)
                )
                continue
            if target.is_outcome:
                self.report(
                    codes.make(
                        "F217",
                        stage.next.span,
                        target=str(stage.next),
                        kind=_(target.kind.value),
                    )
                )
                continue
            edges.append(
                Edge(
                    EdgeKind.NEXT,
                    key(stage),
                    StageKey(target_id, target.id.name),
                    stage.next.span,
                )
            )
        # A `then` into a lost outcome repeats the implicit `lose` edge; keep the first.
        unique: dict[tuple[EdgeKind, StageKey, StageKey], Edge] = {}
        for edge in edges:
            unique.setdefault((edge.kind, edge.source, edge.target), edge)
        return list(unique.values())


def _rename_fix(span: Span, name: str, candidates: Iterable[str]) -> Fix | None:
    """The did-you-mean fix: put the closest known id in place of ``name``.  Safe only when
    that id is the one ``name`` can be a typo of (:func:`funnelc.fixes.typo_applicability`);
    otherwise a guess, unsafe (see "Fixes" in docs/diagnostics.md)."""
    pool = list(candidates)
    guess = did_you_mean(name, pool)
    if guess is None:
        return None
    from funnelc import fixes  # only for a typo: a clean check does not import it

    return fixes.replacement(
        span,
        guess,
        _("replace with `{name}`").format(name=guess),
        fixes.typo_applicability(name, guess, pool),
    )


def _stage_part(ref: Ref) -> Span:
    """The span of the stage id in ``pipeline.stage`` (the whole ref when it has no dot)."""
    return Span(ref.span.path, ref.span.end - len(ref.name), ref.span.end)


def _pipeline_part(ref: Ref) -> Span:
    """The span of the pipeline id in ``pipeline.stage``."""
    return Span(ref.span.path, ref.span.start, ref.span.start + len(ref.pipeline or ""))


def _stage_hint(name: str, pipeline: Pipeline, fallback: str = "") -> str:
    """ "did you mean" for a stage id, or else the pipeline's stage ids."""
    ids = [s.id.name for s in pipeline.stages]
    hint = suggest(name, ids, fallback)
    if hint or not ids:
        return hint
    shown = ", ".join(f"`{i}`" for i in ids[:8]) + (", …" if len(ids) > 8 else "")
    return _("the stages of `{pipeline}` are {stages}").format(
        pipeline=pipeline.id.name, stages=shown
    )


def _is_lead_entry(pipeline: Pipeline, stage: Stage) -> bool:
    """Whether a revival may end at ``stage``: an open lead stage, or the first stage of a
    pipeline that has no lead phase."""
    if pipeline.stages_in(Phase.LEAD):
        return stage.is_open and stage.phase is Phase.LEAD
    return stage is pipeline.entry


def _case_collisions(pipelines: Sequence[Pipeline], resolver: _Resolver) -> None:
    """F110 for pipeline ids equal but for letter case (Unicode case folding): their output
    files ``<target>/<id>.<ext>`` would be one file on a case-insensitive file system."""
    seen: dict[str, Ident] = {}
    for pipeline in pipelines:
        key = unicodedata.normalize("NFC", pipeline.id.name).casefold()
        other = seen.get(key)
        if other is None:
            seen[key] = pipeline.id
            continue
        resolver.report(
            codes.make(
                "F110",
                pipeline.id.span,
                labels=(Label(other.span, _("the other pipeline")),),
                name=pipeline.id.name,
                other=other.name,
            )
        )


def _was_checks(
    owners: Sequence[tuple[Ident, Ident | None]], kind: str, kind_short: str, resolver: _Resolver
) -> None:
    """F111 / F112 for ``was`` clauses among ``owners`` (``(id, was)`` of the stages of one
    pipeline, or of every pipeline): an old id must not be a current one (the lock would map
    one CRM object to two keys), and no two owners may claim the same old id."""
    current = {ident.name: ident for ident, _was in owners}
    claimed: dict[str, Ident] = {}
    for ident, was in owners:
        if was is None:
            continue
        if was.name in current:
            resolver.report(
                codes.make(
                    "F111",
                    was.span,
                    labels=(Label(current[was.name].span, _("the id it has now")),),
                    id=ident.name,
                    old=was.name,
                    kind=kind,
                    kind_short=kind_short,
                )
            )
            continue
        other = claimed.get(was.name)
        if other is not None:
            resolver.report(
                codes.make(
                    "F112",
                    was.span,
                    labels=(Label(other.span, _("claimed here first")),),
                    id=ident.name,
                    old=was.name,
                    other=other.name,
                )
            )
            continue
        claimed[was.name] = ident


def resolve(
    modules: Sequence[Module], imports: dict[str, tuple[str, ...]]
) -> tuple[Project, list[Diagnostic]]:
    """Resolve the modules of one build into a project."""
    resolver = _Resolver(modules, imports)
    declared: list[Pipeline] = []
    all_pipelines = [(m, p) for m in modules for p in m.pipelines]
    first = _unique(
        ((p.id, "") for _module, p in all_pipelines), N_("pipeline"), resolver.diagnostics
    )
    _case_collisions([p for _module, p in all_pipelines if first[p.id.name] is p.id], resolver)
    _was_checks(
        [(p.id, p.was) for _module, p in all_pipelines if first[p.id.name] is p.id],
        _("a pipeline"),
        _("pipeline"),
        resolver,
    )
    for module in modules:
        # Duplicates among a file's own declarations, even if no pipeline sees them.
        _unique(((f.id, "") for f in module.fields), N_("field"), resolver.diagnostics)
        _unique(((r.id, "") for r in module.reasons), N_("loss reason"), resolver.diagnostics)
    for module, pipeline in all_pipelines:
        if first[pipeline.id.name] is not pipeline.id:
            continue
        _unique(((s.id, "") for s in pipeline.stages), N_("stage"), resolver.diagnostics)
        _was_checks(
            [(s.id, s.was) for s in pipeline.stages],
            _("a stage of pipeline `{pipeline}`").format(pipeline=pipeline.id.name),
            _("stage"),
            resolver,
        )
        resolved = resolver.with_declarations(module, pipeline)
        declared.append(resolved)
        resolver.add_pipeline(resolved)
    edges: list[Edge] = []
    for pipeline in declared:
        resolver.check_structure(pipeline)
        resolver.check_fields(pipeline)
        resolver.check_reasons(pipeline)
        edges.extend(resolver.edges(pipeline))
    return Project(tuple(modules), tuple(declared), tuple(edges)), resolver.diagnostics
