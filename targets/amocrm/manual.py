"""The manual-steps checklist of the target: what the funnel says and the API cannot set, as
Markdown checkboxes in the pipeline's language (names escaped by ``targets/markdown.py``)."""

from __future__ import annotations

from funnelc.i18n import Translator
from funnelc.model import Phase, Pipeline, Project, Stage

from .. import markdown
from ..crm_common import (
    ChecklistTexts,
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
    shared = _shared(t)

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
            text += t(" (pipeline {pipeline})").format(pipeline=q(amo_name))
        return text

    created = t(" and ").join(
        t("the pipeline {name} ({count})").format(
            name=q(a.name), count=count_noun(len(a.custom), "status", russian)
        )
        for a in plan.amo
    )
    md = steps_start(
        t,
        shared,
        pipeline,
        russian,
        source_path(project, pipeline),
        created=created,
        fields=count_noun(len(plan.fields), "lead field", russian),
        reasons=count_noun(len(plan.reasons), "reason", russian),
    )

    before = [
        t(
            "Run the plan as an account administrator: only they can create pipelines, statuses "
            "and fields."
        ),
        t(
            "At most 7 requests per second: above that amoCRM answers 429, and repeated excess "
            "blocks the account (403 on every call)."
        ),
    ]
    if plan.reasons and plan.reasons_mode == "create":
        before.append(
            t(
                "Loss reasons are created with POST /api/v4/leads/loss_reasons, which is not "
                "documented [UNCONFIRMED]; if it fails, create them by hand (see “Loss "
                "reasons”)."
            )
        )
    md.section(t("Before running the plan"), None, before)

    outcomes = []
    for stage in lost_outcomes(pipeline):
        place = plan.places.get(stage.id.name)
        mode = plan.lost_modes[stage.id.name]
        if place is None:
            continue
        if mode == "closing":
            outcomes.append(
                t(
                    "{stage} is the system status 143 (“Closed - lost”), renamed by the plan."
                ).format(stage=q(stage.name.value))
            )
        elif mode == "reason":
            outcomes.append(
                t(
                    "{stage} has no status of its own: such deals are closed in {status} with "
                    "the loss reason {stage}. Tell the managers to choose exactly that reason."
                ).format(stage=q(stage.name.value), status=q(place.status.name))
            )
        else:
            outcomes.append(
                t(
                    "{stage} is an ordinary status at the end of the pipeline: deals in it stay "
                    "open. Leave it out of reports on active deals."
                ).format(stage=q(stage.name.value))
            )
    won = won_outcomes(pipeline)
    if won:
        outcomes.insert(
            0,
            t("{stage} is the system status 142 (“Closed - won”), renamed by the plan.").format(
                stage=q(won[0].name.value)
            ),
        )
    md.section(t("How the outcomes are mapped"), None, outcomes)

    sla_items = [
        sla_text(t, shared, pipeline, stage, q(stage.name.value), where, russian)
        for stage in pipeline.stages
        if stage.sla is not None
    ]
    md.section(
        t("Stage SLAs and timeouts"),
        t(
            "amoCRM statuses have no time limit. For each stage, add a Digital Pipeline trigger "
            "on its status that moves the deal on after the given time if it is still there (or "
            "a task for the owner with that due time). The SLA is also in the status "
            "description."
        ),
        sla_items,
    )

    def label(stage: Stage) -> str:
        return q(stage.name.value)

    md.section(
        t("Stage tasks"),
        t(
            "The tasks are in the status descriptions; to set them automatically, add a Digital "
            "Pipeline “Add task” trigger on entering the status."
        ),
        task_items(t, pipeline.stages, label),
    )
    md.section(
        t("Probability"),
        t(
            "amoCRM statuses have no win probability, so amoCRM cannot weight the pipeline by "
            "stage. The values are in the status descriptions; compute a weighted forecast from "
            "an export if you need one."
        ),
        probability_items(t, pipeline.stages, label),
    )
    key_section(md, t, shared, pipeline, russian)

    lead = pipeline.lead
    if lead is not None:
        lead_items = []
        lead_open = pipeline.stages_in(Phase.LEAD)
        deal_open = pipeline.stages_in(Phase.DEAL)
        if lead_open and deal_open:
            conditions = "; ".join(md_line(a.value) for a in lead.accept) or t(
                "no conditions given"
            )
            if plan.lead_mode == "pipeline":
                handoff = t(
                    "When the conditions hold ({conditions}), move the deal from {last} to the "
                    "sales pipeline: {first}. A Digital Pipeline trigger that changes the "
                    "pipeline can do it."
                )
            else:
                handoff = t("Move a lead from {last} to {first} only if: {conditions}.")
            lead_items.append(
                handoff.format(
                    last=q(lead_open[-1].name.value),
                    first=where(pipeline.id.name, deal_open[0].id.name),
                    conditions=conditions,
                )
            )
        if plan.lead_mode == "statuses":
            lead_items.append(
                t(
                    "New requests arrive in the incoming-leads inbox; move accepted ones to "
                    "{first}."
                ).format(first=q(lead_open[0].name.value))
            )
        md.section(t("Handing leads over to sales"), definition_intro(t, lead), lead_items)

    reason_items = reason_lists(t("{stage}: {reasons}."), pipeline, where, russian)
    if plan.reasons:
        if plan.reasons_mode == "manual":
            reason_items.insert(
                0,
                t(
                    "Create the loss reasons by hand (Settings → Leads → Loss reasons): {reasons}."
                ).format(reasons=", ".join(q(name) for _, name in plan.reasons)),
            )
        reason_items.append(
            t(
                "Check that loss reasons are on in the account (the plan's check.account reads "
                "is_loss_reason_enabled, which no API can switch on): otherwise amoCRM never "
                "asks for one when a deal is closed."
            )
        )
        reason_items.append(
            t(
                "Make choosing a loss reason mandatory when a deal is closed, if your account "
                "offers it: the API has no switch for it [UNCONFIRMED]."
            )
        )
    md.section(
        t("Loss reasons"),
        t(
            "amoCRM's loss reasons belong to the whole account, not to a status: tell the "
            "managers which ones fit each outcome."
        ),
        reason_items,
    )

    move_sections(
        md,
        t,
        shared,
        project,
        pipeline,
        where,
        lambda stage_id: q(_name(pipeline, stage_id)),
        russian,
    )

    field_items = []
    for f in plan.fields:
        kind = f.source.type.kind
        if kind in ("phone", "email"):
            field_items.append(
                t(
                    "{name} is created as a text lead field: amoCRM leads have no {kind} type. "
                    "Keep it on the contact if you prefer."
                ).format(name=q(f.source.name.value), kind=kind)
            )
        if f.type == "monetary":
            field_items.append(
                t("{name} is a monetary field, which needs the paid “Super fields” option.").format(
                    name=q(f.source.name.value)
                )
            )
    md.section(t("Fields"), None, field_items)

    md.section(t("Not in the plan"), None, plan.dropped)

    after = [
        t(
            "The statuses were created in order and with their colours (match them by name: "
            "amoCRM renumbers sort)."
        ),
        t("The status descriptions show at all three levels (newbie, candidate, master)."),
    ]
    if any(f.required for f in plan.fields):
        after.append(
            t(
                "The fields are required for entering the right statuses (field settings → "
                "“Required”)."
            )
        )
    md.section(t("Check after running the plan"), None, after)
    return md.render()


def _name(pipeline: Pipeline, stage_id: str) -> str:
    stage = pipeline.stage(stage_id)
    return stage.name.value if stage else stage_id


def _shared(t: Translator) -> ChecklistTexts:
    """What this checklist says in its own words (the shared helpers of ``crm_common``
    write the rest), in the pipeline's language."""
    return ChecklistTexts(
        title=t("amoCRM: manual steps for the pipeline {name}"),
        intro=t(
            "Pipeline {id} from {source}. The import plan {plan} creates in amoCRM {created}, "
            "{fields} and {reasons}. Below is what the amoCRM API cannot set: do these steps in "
            "amoCRM after running the plan, and tick each one."
        ),
        sla_business=t(
            " The SLA is in business days: check how the trigger counts weekends and, if "
            "needed, use a calendar time with a margin."
        ),
        key_item=t(
            "{stage} is the key stage: use it as the reference point of conversion reports "
            "(Analytics → Sales funnel) and watch it at the stand-ups."
        ),
        revive_intro=t(
            "amoCRM has no built-in revival of closed deals. Set up a Salesbot or a Digital "
            "Pipeline trigger, or a recurring task for marketing; reviving means moving the "
            "deal to the given status (PATCH /api/v4/leads with pipeline_id and status_id)."
        ),
        next_item=t("When a deal reaches {source}, create a new deal: {target}."),
        next_intro=t(
            "A won deal starts a new one in another pipeline. Create it with a Digital Pipeline "
            "trigger or a Salesbot on the won status, or by hand."
        ),
        then_item=t("From {source} a deal goes to {target}, not to the next status."),
        edges_intro=t(
            "amoCRM does not restrict moves between statuses, so these work without any setup; "
            "tell the managers about them."
        ),
    )
