"""The manual-steps checklist of the target: what the funnel says and the API cannot set, as
Markdown checkboxes in the pipeline's language (names escaped by ``targets/markdown.py``)."""

from __future__ import annotations

from funnelc.model import Phase, Project, Stage, StageKind

from ..crm_common import (
    code_span,
    count_noun,
    definition_intro,
    key_section,
    md_line,
    move_sections,
    outcome_reasons,
    probability_items,
    quoted,
    reason_lists,
    sla_text,
    source_path,
    steps_start,
    task_items,
    timeout_target,
)
from . import FIELD_PREFIX, LEAD_DEFAULTS_DELETED, Analysis, PipelinePlan, _texts

# ---- the manual steps ------------------------------------------------------------------------


def manual_steps(project: Project, analysis: Analysis, plan: PipelinePlan) -> bytes:
    """The checklist of what the plan cannot do, in the pipeline's language."""
    pipeline = plan.pipeline
    russian = plan.russian
    t = _texts(russian)

    def q(name: str) -> str:
        return quoted(name, russian)

    def mapped(stage: Stage) -> bool:
        return stage.id.name in plan.places

    def where(pipeline_id: str, stage_id: str) -> str:
        other = analysis.plans.get(pipeline_id)
        if other is None:
            return code_span(f"{pipeline_id}.{stage_id}")
        stage = other.pipeline.stage(stage_id)
        assert stage is not None
        found = other.places.get(stage_id)
        if found is None:
            return t["unmapped_stage"].format(name=q(stage.name.value))
        directory, b = found
        key = "deal_stage" if directory.entity == "deal" else "lead_status"
        text = t[key].format(
            name=q(b.name if b.renamed else stage.name.value),
            code=code_span(directory.status_id(b)),
        )
        if pipeline_id != pipeline.id.name and directory.entity == "deal":
            text += t["in_category"].format(category=q(other.pipeline.name.value))
        return text

    lead_part = ""
    if plan.lead is not None:
        lead_part = t["intro_lead"].format(
            count=count_noun(len(plan.lead.stages), "status", russian)
        )

    def own(stage_id: str) -> str:
        return where(pipeline.id.name, stage_id)

    md = steps_start(
        t,
        pipeline,
        russian,
        source_path(project, pipeline),
        category=q(pipeline.name.value),
        stages=count_noun(len(plan.deal.stages), "stage", russian),
        lead=lead_part,
        fields=count_noun(len(plan.fields), "field", russian),
    )

    before = [t["before_admin"], t["before_rate"], t["before_presets"]]
    if plan.lead is not None:
        before.append(t["before_lead"])
    if plan.lead_mode == "shared":
        before.append(t["before_shared"].format(owner=code_span(str(plan.lead_owner))))
    md.section(t["h_before"], None, before)

    outcomes = []
    for stage in pipeline.stages:
        if stage.is_open or stage.id.name not in plan.places:
            continue
        directory, b = plan.places[stage.id.name]
        kind = ("deal_" if directory.entity == "deal" else "lead_") + (b.semantics or "P")
        outcomes.append(
            t["outcome"].format(
                stage=q(stage.name.value),
                kind=t[kind],
                code=code_span(directory.status_id(b)),
            )
        )
        if plan.reasons_mode == "stages" and stage.kind is StageKind.LOST:
            placed = [
                plan.reason_places[(stage.id.name, r.id.name)]
                for r in outcome_reasons(pipeline, stage)
                if (stage.id.name, r.id.name) in plan.reason_places
            ]
            if placed:
                outcomes.append(
                    t["reason_stages"].format(
                        stage=q(stage.name.value),
                        reasons=", ".join(
                            f"{q(r.name)} ({code_span(d.status_id(r))})" for d, r in placed
                        ),
                    )
                )
    md.section(t["h_outcomes"], t["outcomes_intro"], outcomes)

    required = []
    for f in pipeline.fields:
        stages = [
            s for s in pipeline.stages if mapped(s) and any(r.name == f.id.name for r in s.requires)
        ]
        if not stages:
            continue
        b24 = next(x for x in plan.fields if x.source is f)
        required.append(
            t["required_item"].format(
                field=q(f.name.value),
                name=code_span(FIELD_PREFIX + b24.name),
                stages=", ".join(where(pipeline.id.name, s.id.name) for s in stages),
            )
        )
    md.section(t["h_required"], t["required_intro"], required)

    sla_items = []
    for stage in pipeline.stages:
        if stage.sla is None or not mapped(stage):
            continue
        target = timeout_target(pipeline, stage)
        text = sla_text(t, pipeline, stage, own(stage.id.name), where, russian)
        source_directory = plan.places[stage.id.name][0]
        target_place = plan.places.get(target.id.name) if target else None
        if source_directory.entity == "lead" and target_place and target_place[0].entity == "deal":
            junk = next(b for b in source_directory.stages if b.semantics == "F")
            text += t["sla_cross"].format(junk=q(junk.name) if junk.renamed else "JUNK")
        sla_items.append(text)
    md.section(t["h_sla"], t["sla_intro"], sla_items)

    def label(stage: Stage) -> str:
        return own(stage.id.name)

    mapped_stages = [s for s in pipeline.stages if mapped(s)]
    md.section(t["h_tasks"], t["tasks_intro"], task_items(t, mapped_stages, label))

    rules = []
    for s in pipeline.stages:
        if not mapped(s):
            continue
        parts = []
        if s.goal is not None:
            parts.append(t["goal"].format(text=md_line(s.goal.value)))
        if s.exits:
            parts.append(t["exits"].format(text="; ".join(md_line(e.value) for e in s.exits)))
        if parts:
            rules.append(f"{q(s.name.value)}: " + " ".join(parts))
    md.section(t["h_rules"], t["rules_intro"], rules)

    md.section(
        t["h_probability"], t["probability_intro"], probability_items(t, mapped_stages, label)
    )
    key_section(md, t, pipeline, russian)

    lead = pipeline.lead
    if lead is not None:
        lead_items = []
        lead_open = pipeline.stages_in(Phase.LEAD)
        deal_open = pipeline.stages_in(Phase.DEAL)
        conditions = "; ".join(md_line(a.value) for a in lead.accept) or t["no_conditions"]
        first = where(pipeline.id.name, deal_open[0].id.name) if deal_open else "—"
        if plan.lead_mode in ("statuses", "shared"):
            lead_items.append(t["convert"].format(first=first, conditions=conditions))
            if plan.lead_mode == "statuses":
                lead_items.append(
                    t["lead_leftovers"].format(defaults=", ".join(LEAD_DEFAULTS_DELETED))
                )
        elif plan.lead_mode == "deal-stages":
            lead_items.append(
                t["handoff_deal"].format(
                    last=where(pipeline.id.name, lead_open[-1].id.name),
                    first=first,
                    conditions=conditions,
                )
            )
        else:
            names = ", ".join(q(s.name.value) for s in pipeline.stages if s.phase is Phase.LEAD)
            key = "lead_skipped" if plan.lead_mode == "skip" else "lead_unmapped"
            lead_items.append(
                t[key].format(
                    names=names,
                    owner=code_span(str(plan.lead_owner)),
                    first=first,
                    conditions=conditions,
                )
            )
        md.section(t["h_lead"], definition_intro(t, lead), lead_items)

    reason_items: list[str] = []
    if plan.reasons_mode == "field":
        reason_items = reason_lists(t["reason_field_item"], pipeline, where, russian)
    md.section(t["h_reasons"], t["reasons_field_intro"] if reason_items else None, reason_items)

    move_sections(md, t, project, pipeline, where, own, russian)

    field_items = [
        t["field_text"].format(name=q(f.label), kind=f.source.type.kind)
        for f in plan.fields
        if f.source is not None and f.source.type.kind in ("phone", "email")
    ]
    md.section(t["h_fields"], None, field_items)

    md.section(t["h_dropped"], None, plan.dropped)

    after = [t["check_stages"], t["check_presets"]]
    md.section(t["h_after"], None, after)
    return md.render()
