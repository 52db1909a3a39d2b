"""The manual-steps checklist of the target: what the funnel says and the API cannot set, as
Markdown checkboxes in the pipeline's language (names escaped by ``targets/markdown.py``)."""

from __future__ import annotations

from funnelc.model import Phase, Pipeline, Project, Stage

from .. import markdown
from ..crm_common import (
    code_span,
    count_noun,
    definition_intro,
    key_section,
    lost_outcomes,
    md_line,
    move_sections,
    probability_items,
    quoted,
    reason_lists,
    sla_text,
    source_path,
    steps_start,
    task_items,
    won_outcomes,
)
from . import Analysis, PipelinePlan, _place_text, _texts

# ---- the manual steps ------------------------------------------------------------------------


def manual_steps(project: Project, analysis: Analysis, plan: PipelinePlan) -> bytes:
    """The checklist of what the plan cannot do, in the pipeline's language."""
    pipeline = plan.pipeline
    russian = plan.russian
    t = _texts(russian)

    def q(name: str) -> str:
        return quoted(name, russian)

    def where(pipeline_id: str, stage_id: str) -> str:
        other = analysis.plans.get(pipeline_id)
        if other is None:
            return code_span(f"{pipeline_id}.{stage_id}")
        stage = other.pipeline.stage(stage_id)
        assert stage is not None
        text = _place_text(other.places, stage, t, markdown.inline)
        place = other.places.get(stage_id)
        if pipeline_id != pipeline.id.name or len(other.amo) > 1:
            amo_name = place.pipeline.name if place else other.pipeline.name.value
            text += t["in_pipeline"].format(pipeline=q(amo_name))
        return text

    created = t["and"].join(
        t["created_pipeline"].format(
            name=q(a.name), count=count_noun(len(a.custom), "status", russian)
        )
        for a in plan.amo
    )
    md = steps_start(
        t,
        pipeline,
        russian,
        source_path(project, pipeline),
        created=created,
        fields=count_noun(len(plan.fields), "lead field", russian),
        reasons=count_noun(len(plan.reasons), "reason", russian),
    )

    before = [t["before_admin"], t["before_rate"]]
    if plan.reasons and plan.reasons_mode == "create":
        before.append(t["before_reasons"])
    md.section(t["h_before"], None, before)

    outcomes = []
    for stage in lost_outcomes(pipeline):
        place = plan.places.get(stage.id.name)
        mode = plan.lost_modes[stage.id.name]
        if place is None:
            continue
        if mode == "closing":
            outcomes.append(t["outcome_143"].format(stage=q(stage.name.value)))
        elif mode == "reason":
            outcomes.append(
                t["outcome_reason"].format(stage=q(stage.name.value), status=q(place.status.name))
            )
        else:
            outcomes.append(t["outcome_status"].format(stage=q(stage.name.value)))
    won = won_outcomes(pipeline)
    if won:
        outcomes.insert(0, t["outcome_142"].format(stage=q(won[0].name.value)))
    md.section(t["h_outcomes"], None, outcomes)

    sla_items = [
        sla_text(t, pipeline, stage, q(stage.name.value), where, russian)
        for stage in pipeline.stages
        if stage.sla is not None
    ]
    md.section(t["h_sla"], t["sla_intro"], sla_items)

    def label(stage: Stage) -> str:
        return q(stage.name.value)

    md.section(t["h_tasks"], t["tasks_intro"], task_items(t, pipeline.stages, label))
    md.section(
        t["h_probability"], t["probability_intro"], probability_items(t, pipeline.stages, label)
    )
    key_section(md, t, pipeline, russian)

    lead = pipeline.lead
    if lead is not None:
        lead_items = []
        lead_open = pipeline.stages_in(Phase.LEAD)
        deal_open = pipeline.stages_in(Phase.DEAL)
        if lead_open and deal_open:
            conditions = "; ".join(md_line(a.value) for a in lead.accept) or t["no_conditions"]
            key = "handoff_pipeline" if plan.lead_mode == "pipeline" else "handoff_statuses"
            lead_items.append(
                t[key].format(
                    last=q(lead_open[-1].name.value),
                    first=where(pipeline.id.name, deal_open[0].id.name),
                    conditions=conditions,
                )
            )
        if plan.lead_mode == "statuses":
            lead_items.append(t["inbox_item"].format(first=q(lead_open[0].name.value)))
        md.section(t["h_lead"], definition_intro(t, lead), lead_items)

    reason_items = reason_lists(t["reasons_item"], pipeline, where, russian)
    if plan.reasons:
        if plan.reasons_mode == "manual":
            reason_items.insert(
                0,
                t["reasons_manual"].format(reasons=", ".join(q(name) for _, name in plan.reasons)),
            )
        reason_items.append(t["reasons_enabled"])
        reason_items.append(t["reasons_required"])
    md.section(t["h_reasons"], t["reasons_intro"], reason_items)

    move_sections(
        md, t, project, pipeline, where, lambda stage_id: q(_name(pipeline, stage_id)), russian
    )

    field_items = []
    for f in plan.fields:
        kind = f.source.type.kind
        if kind in ("phone", "email"):
            field_items.append(t["field_text"].format(name=q(f.source.name.value), kind=kind))
        if f.type == "monetary":
            field_items.append(t["field_monetary"].format(name=q(f.source.name.value)))
    md.section(t["h_fields"], None, field_items)

    md.section(t["h_dropped"], None, plan.dropped)

    after = [t["check_request_id"], t["check_descriptions"]]
    if any(f.required for f in plan.fields):
        after.append(t["check_required"])
    md.section(t["h_after"], None, after)
    return md.render()


def _name(pipeline: Pipeline, stage_id: str) -> str:
    stage = pipeline.stage(stage_id)
    return stage.name.value if stage else stage_id
