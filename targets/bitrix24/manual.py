"""The manual-steps checklist of the target: what the funnel says and the API cannot set, as
Markdown checkboxes in the pipeline's language (names escaped by ``targets/markdown.py``)."""

from __future__ import annotations

from funnelc.i18n import Translator
from funnelc.model import Phase, Project, Stage, StageKind

from ..crm_common import (
    ChecklistTexts,
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
    shared = _shared(t)

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
            return t("{name} (not in Bitrix24)").format(name=q(stage.name.value))
        directory, b = found
        template = (
            t("{name} ({code})") if directory.entity == "deal" else t("{name} (lead status {code})")
        )
        text = template.format(
            name=q(b.name if b.renamed else stage.name.value),
            code=code_span(directory.status_id(b)),
        )
        if pipeline_id != pipeline.id.name and directory.entity == "deal":
            text += t(" of the category {category}").format(category=q(other.pipeline.name.value))
        return text

    lead_part = ""
    if plan.lead is not None:
        lead_part = t(", the portal's lead statuses ({count})").format(
            count=count_noun(len(plan.lead.stages), "status", russian)
        )

    def own(stage_id: str) -> str:
        return where(pipeline.id.name, stage_id)

    md = steps_start(
        t,
        shared,
        pipeline,
        russian,
        source_path(project, pipeline),
        category=q(pipeline.name.value),
        stages=count_noun(len(plan.deal.stages), "stage", russian),
        lead=lead_part,
        fields=count_noun(len(plan.fields), "field", russian),
    )

    before = [
        t(
            "Run the plan as a CRM administrator: only they can create "
            "categories, stages and user fields."
        ),
        t(
            "At most 2 requests per second (a batch is one request; burst 50, on "
            "Enterprise 5 per second and 250): above that Bitrix24 answers 503 "
            "QUERY_LIMIT_EXCEEDED."
        ),
        t(
            "A new category starts with the default stages (NEW, PREPARATION, "
            "PREPAYMENT_INVOICE, EXECUTING, FINAL_INVOICE, WON, LOSE, APOLOGY); "
            "if the `deal` batch stops at looking one up, delete the empty "
            "category and report it."
        ),
    ]
    if plan.lead is not None:
        before.append(
            t(
                "Lead statuses belong to the whole portal: the plan renames NEW, "
                "CONVERTED and JUNK and adds statuses. Warn everyone who works with "
                "leads."
            )
        )
    if plan.lead_mode == "shared":
        before.append(
            t(
                "The lead statuses are set by the plan of {owner} (same lead phase): run it first."
            ).format(owner=code_span(str(plan.lead_owner)))
        )
    md.section(t("Before running the plan"), None, before)

    outcomes = []
    for stage in pipeline.stages:
        if stage.is_open or stage.id.name not in plan.places:
            continue
        directory, b = plan.places[stage.id.name]
        kind = _kind(t, directory.entity, b.semantics)
        outcomes.append(
            t("{stage} is {kind} {code}.").format(
                stage=q(stage.name.value),
                kind=kind,
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
                    t("The reasons of {stage} are failure stages of their own: {reasons}.").format(
                        stage=q(stage.name.value),
                        reasons=", ".join(
                            f"{q(r.name)} ({code_span(d.status_id(r))})" for d, r in placed
                        ),
                    )
                )
    md.section(
        t("How the outcomes are mapped"),
        t(
            "Success (S) and failure (F) stages close a deal. When a deal is "
            "closed, Bitrix24 asks which failure stage it goes to: loss reasons "
            "became such stages."
        ),
        outcomes,
    )

    required = []
    for f in pipeline.fields:
        stages = [
            s for s in pipeline.stages if mapped(s) and any(r.name == f.id.name for r in s.requires)
        ]
        if not stages:
            continue
        b24 = next(x for x in plan.fields if x.source is f)
        required.append(
            t("{field} ({name}): {stages}.").format(
                field=q(f.name.value),
                name=code_span(FIELD_PREFIX + b24.name),
                stages=", ".join(where(pipeline.id.name, s.id.name) for s in stages),
            )
        )
    md.section(
        t("Required fields per stage"),
        t(
            "The REST API cannot make a field required at a stage. Open the "
            "field's settings (Deals → Settings → Custom fields), turn on "
            "“Required” → “At stages” for this category and tick the stages: the "
            "field must be filled to enter the stage."
        ),
        required,
    )

    sla_items = []
    for stage in pipeline.stages:
        if stage.sla is None or not mapped(stage):
            continue
        target = timeout_target(pipeline, stage)
        text = sla_text(t, shared, pipeline, stage, own(stage.id.name), where, russian)
        source_directory = plan.places[stage.id.name][0]
        target_place = plan.places.get(target.id.name) if target else None
        if source_directory.entity == "lead" and target_place and target_place[0].entity == "deal":
            junk = next(b for b in source_directory.stages if b.semantics == "F")
            text += t(
                " A rule cannot move a lead to a deal stage: let it close the lead "
                "in the failure status {junk} (or convert it and move the deal)."
            ).format(junk=q(junk.name) if junk.renamed else "JUNK")
        sla_items.append(text)
    md.section(
        t("Stage SLAs and timeouts"),
        t(
            "Bitrix24 stages have no time limit. On each stage below, add a "
            "“Change stage” automation rule (Deals → Automation, this category) "
            "delayed by the SLA, with the condition that the deal is still in "
            "the stage."
        ),
        sla_items,
    )

    def label(stage: Stage) -> str:
        return own(stage.id.name)

    mapped_stages = [s for s in pipeline.stages if mapped(s)]
    md.section(
        t("Stage tasks"),
        t("Add a “Task” automation rule that sets the task for the owner on entering the stage."),
        task_items(t, mapped_stages, label),
    )

    rules = []
    for s in pipeline.stages:
        if not mapped(s):
            continue
        parts = []
        if s.goal is not None:
            parts.append(t("goal: {text}.").format(text=md_line(s.goal.value)))
        if s.exits:
            parts.append(
                t("Exit: {text}.").format(text="; ".join(md_line(e.value) for e in s.exits))
            )
        if parts:
            rules.append(f"{q(s.name.value)}: " + " ".join(parts))
    md.section(
        t("Stage rules"),
        t(
            "Bitrix24 stages have no description: publish the goals and exit "
            "criteria where the managers will see them (knowledge base, sales "
            "playbook)."
        ),
        rules,
    )

    md.section(
        t("Probability"),
        t(
            "The probability is the deal's “Probability” field, not a stage "
            "property. Add an automation rule that sets it on entering the stage."
        ),
        probability_items(t, mapped_stages, label),
    )
    key_section(md, t, shared, pipeline, russian)

    lead = pipeline.lead
    if lead is not None:
        lead_items = []
        lead_open = pipeline.stages_in(Phase.LEAD)
        deal_open = pipeline.stages_in(Phase.DEAL)
        conditions = "; ".join(md_line(a.value) for a in lead.accept) or t("no conditions given")
        first = where(pipeline.id.name, deal_open[0].id.name) if deal_open else "—"
        if plan.lead_mode in ("statuses", "shared"):
            lead_items.append(
                t(
                    "Set up lead conversion (CRM → Settings → Conversion): the deal is "
                    "created in {first}. Convert only if: {conditions}. REST cannot "
                    "convert a lead: it can only move the lead to its success status, "
                    "which creates no deal."
                ).format(first=first, conditions=conditions)
            )
            if plan.lead_mode == "statuses":
                lead_items.append(
                    t(
                        "Check that the portal has no other lead statuses: the plan tries to "
                        "delete {defaults} if they are empty; delete the others or move "
                        "their leads by hand."
                    ).format(defaults=", ".join(LEAD_DEFAULTS_DELETED))
                )
        elif plan.lead_mode == "deal-stages":
            lead_items.append(
                t(
                    "The lead phase became the first stages of the category: move a deal "
                    "from {last} to {first} only if: {conditions}."
                ).format(
                    last=where(pipeline.id.name, lead_open[-1].id.name),
                    first=first,
                    conditions=conditions,
                )
            )
        else:
            names = ", ".join(q(s.name.value) for s in pipeline.stages if s.phase is Phase.LEAD)
            template = (
                t(
                    "The lead phase of this pipeline ({names}) is not mapped "
                    '(`lead-phase = "skip"`). Handover to sales: {first}, if: '
                    "{conditions}."
                )
                if plan.lead_mode == "skip"
                else t(
                    "The lead phase of this pipeline ({names}) is not mapped: a portal "
                    "has one lead funnel, and {owner} has it. Work these stages outside "
                    'Bitrix24, or set `lead-phase = "deal-stages"` for this pipeline to '
                    "make them the first stages of the category. Handover to sales: "
                    "{first}, if: {conditions}."
                )
            )
            lead_items.append(
                template.format(
                    names=names,
                    owner=code_span(str(plan.lead_owner)),
                    first=first,
                    conditions=conditions,
                )
            )
        md.section(t("Leads"), definition_intro(t, lead), lead_items)

    reason_items: list[str] = []
    if plan.reasons_mode == "field":
        reason_items = reason_lists(t("{stage}: {reasons}."), pipeline, where, russian)
    md.section(
        t("Loss reasons"),
        t(
            "The loss reasons are the values of the “Loss reason” field. Make "
            "the field required at the failure stages, and tell the managers "
            "which reasons fit each outcome."
        )
        if reason_items
        else None,
        reason_items,
    )

    move_sections(md, t, shared, project, pipeline, where, own, russian)

    field_items = [
        t(
            "{name} is created as a string: deals have no {kind} type (phones "
            "and e-mails belong to contacts)."
        ).format(name=q(f.label), kind=f.source.type.kind)
        for f in plan.fields
        if f.source is not None and f.source.type.kind in ("phone", "email")
    ]
    md.section(t("Fields"), None, field_items)

    md.section(t("Not in the plan"), None, plan.dropped)

    after = [
        t(
            "The category's stages are in order, with their colours and "
            "semantics (one success stage, the failure stages last)."
        ),
        t("No default stage is left in the category except the renamed NEW, WON and LOSE."),
    ]
    md.section(t("Check after running the plan"), None, after)
    return md.render()


def _kind(t: Translator, entity: str, semantics: str) -> str:
    """What a stage is, by its directory (``deal`` / ``lead``) and ``SEMANTICS``."""
    code = semantics or "P"
    if (entity, code) == ("deal", "P"):
        return t("an in-progress stage")
    if (entity, code) == ("deal", "S"):
        return t("the success stage")
    if (entity, code) == ("deal", "F"):
        return t("a failure stage")
    if (entity, code) == ("lead", "P"):
        return t("an in-progress lead status")
    if (entity, code) == ("lead", "S"):
        return t("the lead success status")
    return t("a lead failure status")


def _shared(t: Translator) -> ChecklistTexts:
    """What this checklist says in its own words (the shared helpers of ``crm_common``
    write the rest), in the pipeline's language."""
    return ChecklistTexts(
        title=t("Bitrix24: manual steps for the pipeline {name}"),
        intro=t(
            "Pipeline {id} from {source}. The import plan {plan} creates in "
            "Bitrix24 the deal category {category} ({stages}){lead} and "
            "{fields}. Below is what the Bitrix24 REST API cannot set: do these "
            "steps in Bitrix24 after running the plan, and tick each one. "
            "`{{id}}` in stage codes is the id of the new category."
        ),
        sla_business=t(" The SLA is in business days: make the delay count working time only."),
        key_item=t(
            "{stage} is the key stage: use it as the reference point of "
            "conversion reports (Analytics → Sales funnel)."
        ),
        revive_intro=t(
            "Revival is an automation rule on the failure stage: after the given "
            "time it moves the deal (or creates a new lead) to the given stage. "
            "If rules on final stages do not run on your portal, set a recurring "
            "task for marketing instead."
        ),
        next_item=t("When a deal reaches {source}, create a deal: {target}."),
        next_intro=t(
            "A won deal starts a new one in another category: add a “Create "
            "deal” automation rule with that category and stage on the success "
            "stage."
        ),
        then_item=t("From {source} a deal goes to {target}, not to the next stage."),
        edges_intro=t(
            "Bitrix24 does not restrict moves between stages, so these work "
            "without any setup; tell the managers about them."
        ),
    )
