"""The ``bitrix24`` target: an import plan for the Bitrix24 REST API, and the manual steps.

Bitrix24 has no file format for pipeline configuration, so for each funnel pipeline this target
writes ``<pipeline>.json``, an ordered list of REST calls (mostly ``batch`` calls of at most 50
commands that refer to earlier results with ``$result[…]``) described by
``bitrix24-plan.schema.json``, and ``<pipeline>.md``, the checklist of what the API cannot set
(per-stage required fields, SLAs as robots, tasks, revival, ``next``…), in the pipeline's
language.

The mapping is documented construct by construct in ``docs/targets/bitrix24.md``; the API facts
it relies on (and which are unconfirmed) in ``../shared/crm-apis.md`` §2.  In short: the deal
phase becomes a deal category (``crm.category.add``, ``entityTypeId=2``) whose preset stages are
renamed (NEW, WON, LOSE) or deleted, and whose other stages are added with ``SEMANTICS`` and an
ordered ``SORT``; the lead phase becomes the portal's lead statuses (``ENTITY_ID=STATUS``) — a
portal has one lead funnel, so only one lead phase of a build can have it; loss reasons become
extra failure stages (or one enumeration field); fields become deal user fields.

The limits (STATUS_ID and FIELD_NAME lengths and characters, one success stage, the single lead
funnel) are checked by :meth:`Bitrix24Target.check` before anything is emitted.

The package: this module maps the build (``analyse``, once per build through
``PlanTarget.analysis``) and writes the import plan; ``manual.py`` writes the manual steps;
``state.py`` is the typed account state, ``desired.py`` maps the analysis to it, ``diff.py``
compares two states into operations and ``requests.py`` turns operations into API calls
(``funnelc plan`` / ``apply``).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from funnelc import codes
from funnelc.diagnostics import Diagnostic, Label, sorted_diagnostics
from funnelc.emit import EmitOptions
from funnelc.i18n import Translator, _, texts_for
from funnelc.model import Field as FunnelField
from funnelc.model import LossReason, Phase, Pipeline, Project, Stage
from funnelc.source import Span

from ..crm_common import (
    REASON_COLOUR,
    FieldKey,
    Option,
    Options,
    PlanTarget,
    assign_codes,
    bad_characters,
    capabilities,
    chosen_lost_status,
    code_span,
    default_colour,
    field_key,
    field_keys,
    is_russian,
    lead_signature,
    lost_outcomes,
    multiple_won,
    outcome_reasons,
    plan_header,
    source_path,
    unsupported,
    won_outcomes,
)
from ..crm_common import Analysis as CrmAnalysis
from ..crm_ops import Delete
from . import requests
from .state import LEAD, status_id_limit

NAME = "bitrix24"
LABEL = "Bitrix24"
SCHEMA_ID = "urn:funnelc:schema:bitrix24-plan:v3"
FORMAT_VERSION = 3

MAX_BATCH = 50
DEAL_STATUS_ID_MAX = 22
"""``STATUS_ID`` of a deal stage, the ``C{id}:`` prefix of a non-default category included."""
LEAD_STATUS_ID_MAX = 21
FIELD_NAME_MAX = 50
"""``FIELD_NAME`` of a user field, the ``UF_CRM_`` prefix included (crm-apis.md §0)."""
STAGE_NAME_MAX = 100
"""A stage or status ``NAME`` (``statustable.php``, ``configureSize(100)``; crm-apis.md §0)."""
FIELD_PREFIX = "UF_CRM_"
CATEGORY_NAME_MAX = 255
SUCCESS_SORT = 9000
FAILURE_SORT = 9100
"""In-progress stages get ``SORT`` 10, 20, 30…; the success stage 9000 and failure stages
9100, 9110…, so the order in-progress < success < failure holds whatever in-progress stages a
portal already has below 9000."""

DEAL_PRESETS = (
    "NEW",
    "PREPARATION",
    "PREPAYMENT_INVOICE",
    "EXECUTING",
    "FINAL_INVOICE",
    "WON",
    "LOSE",
    "APOLOGY",
)
"""The stages a new deal category is assumed to start with [UNCONFIRMED]: the documented set
of the default deal directory.  NEW, WON and LOSE are system stages and are renamed; the others
are deleted before anything is added (``requests.py`` builds the commands)."""
LEAD_DEFAULTS = ("NEW", "IN_PROCESS", "PROCESSED", "CONVERTED", "JUNK")
"""The portal's default lead statuses (crm-apis.md §0, ``crm_status.php``
``GetDefaultLeadStatuses``; there is no ASSIGNED): NEW, CONVERTED (S) and JUNK (F) are system
statuses and are renamed.  The two in-progress ones are deleted by a separate batch that may
fail harmlessly (a portal whose statuses were changed)."""
LEAD_DEFAULTS_DELETED = ("IN_PROCESS", "PROCESSED")

USER_TYPES = {
    "text": "string",
    "textarea": "string",
    "number": "double",
    "money": "money",
    "date": "date",
    "datetime": "datetime",
    "bool": "boolean",
    "choice": "enumeration",
    "multichoice": "enumeration",
    "phone": "string",
    "email": "string",
    "url": "url",
}
"""Funnel field type → Bitrix24 ``USER_TYPE_ID``.  Deals have no phone or e-mail user type
(phones and e-mails are multi-fields of contacts), so they become strings."""

_STATUS_ID = re.compile(r"[A-Za-z0-9_-]+")
_FIELD_NAME = re.compile(r"[A-Z0-9_]+")

OPTIONS = (
    Option("lead-phase", "choice", "auto", ("auto", "statuses", "deal-stages", "skip")),
    Option("lead-funnel", "str", None, per_pipeline=False),
    Option("lost-status", "str", None, global_ok=False),
    Option("loss-reasons", "choice", "stages", ("stages", "field")),
    Option("loss-reason-field", "str", "LOSS_REASON", per_pipeline=False),
    Option("status-ids", "table", {}, global_ok=False),
    Option("field-names", "table", {}, per_pipeline=False),
    Option("category-id-digits", "int", 5, per_pipeline=False, minimum=1, maximum=9),
    Option("lead-cleanup", "bool", True, per_pipeline=False),
)

CAPABILITIES = capabilities({})

# ---- the mapping -----------------------------------------------------------------------------


@dataclass
class B24Stage:
    """A stage (deal) or status (lead) of one directory: a preset renamed (``system``) or one
    that the plan adds."""

    code: str
    name: str
    sort: int
    semantics: str  # "", "S" or "F"
    color: str | None
    system: bool = False
    renamed: bool = True
    stage: Stage | None = None
    reason: LossReason | None = None

    @property
    def key(self) -> str:
        return self.code.lower().replace("-", "_")


@dataclass
class Directory:
    entity: str  # "deal" or "lead"
    stages: list[B24Stage] = field(default_factory=list)

    def status_id(self, stage: B24Stage) -> str:
        return f"C{{id}}:{stage.code}" if self.entity == "deal" else stage.code


@dataclass
class B24Field:
    name: str  # FIELD_NAME without UF_CRM_
    label: str
    type: str
    multiple: bool
    values: tuple[str, ...]
    source: FunnelField | None
    entities: tuple[str, ...]  # "deal", "lead"
    merge_list: bool = False
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class PipelinePlan:
    pipeline: Pipeline
    russian: bool
    deal: Directory
    lead: Directory | None
    """The lead statuses this plan sets (only in the plan of the lead funnel's owner)."""
    lead_mode: str  # "none", "statuses", "shared", "deal-stages", "skip", "unmapped"
    lead_owner: str | None
    places: dict[str, tuple[Directory, B24Stage]]
    reason_places: dict[tuple[str, str], tuple[Directory, B24Stage]]
    fields: list[B24Field]
    reasons_mode: str
    options: dict[str, object]
    category_id_digits: int
    lead_cleanup: bool
    dropped: list[str] = field(default_factory=list)


Analysis = CrmAnalysis[PipelinePlan]


def _texts(russian: bool) -> Translator:
    """The artefact's texts in the pipeline's language, from the message catalogue: called
    as ``t("English message id")`` where each text is used."""
    return texts_for("ru" if russian else "en")


def _error(diagnostics: list[Diagnostic], reason: str, hint: str = "") -> None:
    diagnostics.append(codes.make("F902", None, target=NAME, reason=reason, hint=hint))


def analyse(project: Project, emit_options: EmitOptions) -> Analysis:
    """The mapping of every pipeline of the build and every problem with it (see
    :func:`funnelc.targets.amocrm.analyse` for why both ``check`` and ``emit`` call it)."""
    raw = emit_options.target_options.get(NAME, {})
    opts = Options(NAME, raw, OPTIONS, project)
    diagnostics: list[Diagnostic] = list(opts.diagnostics)
    digits = opts.number("category-id-digits")

    lead_modes = _lead_modes(project, opts, emit_options, diagnostics)
    field_names = _field_names(project, opts, diagnostics)

    plans: dict[str, PipelinePlan] = {}
    owner_lead: Directory | None = None
    owner_places: dict[str, tuple[Directory, B24Stage]] = {}
    owner_reasons: dict[tuple[str, str], tuple[Directory, B24Stage]] = {}
    for index, pipeline in enumerate(project.pipelines):
        mode, owner = lead_modes[pipeline.id.name]
        plan = _map_pipeline(
            pipeline,
            index,
            opts,
            mode,
            owner,
            field_names,
            digits,
            diagnostics,
            emit_options.language,
        )
        if mode == "statuses":
            owner_lead = plan.lead
            owner_places = {k: v for k, v in plan.places.items() if v[0] is plan.lead}
            owner_reasons = {k: v for k, v in plan.reason_places.items() if v[0] is plan.lead}
        plans[pipeline.id.name] = plan
    # Pipelines sharing the owner's lead phase point at its statuses.
    for plan in plans.values():
        if plan.lead_mode == "shared" and owner_lead is not None:
            for stage in plan.pipeline.stages:
                if stage.phase is Phase.LEAD and stage.id.name in owner_places:
                    plan.places[stage.id.name] = owner_places[stage.id.name]
            plan.reason_places.update(owner_reasons)
    for pipeline in project.pipelines:
        plan = plans[pipeline.id.name]
        mode, owner = lead_modes[pipeline.id.name]
        if mode == "unmapped" and pipeline.lead is not None:
            t = _texts(plan.russian)
            plan.dropped.append(
                t(
                    "The lead phase of this pipeline: a portal has one lead funnel, and "
                    "{owner} has it (see “Leads”)."
                ).format(owner=code_span(str(owner)))
            )
    for plan in plans.values():
        _check_texts(plan, diagnostics)
    return Analysis(plans, sorted_diagnostics(diagnostics))


def _check_texts(plan: PipelinePlan, diagnostics: list[Diagnostic]) -> None:
    """Every text the plan sends fits what Bitrix24 stores (F808: the category name 1–255
    characters, stage and status names 1–100; field labels and list values not blank), and none
    that goes into a batch command would be read by Bitrix24 as a reference (F807)."""
    pipeline = plan.pipeline
    _length(
        diagnostics,
        _("the category name"),
        pipeline.name.value,
        pipeline.name.span,
        CATEGORY_NAME_MAX,
    )
    for directory in (plan.deal, *([plan.lead] if plan.lead is not None else [])):
        for b in directory.stages:
            if not b.renamed:
                continue
            source = b.stage.name if b.stage is not None else b.reason.name if b.reason else None
            span = source.span if source is not None else None
            if b.stage is not None:
                what = _("the name of stage `{stage}`").format(stage=b.stage.id.name)
            elif b.reason is not None:
                what = _("the name of loss reason `{reason}`").format(reason=b.reason.id.name)
            else:
                what = _("the name of the preset stage {code}").format(code=b.code)
            _length(diagnostics, what, b.name, span, STAGE_NAME_MAX)
            _reference(diagnostics, what, b.name, span)
    for f in plan.fields:
        span = f.source.name.span if f.source is not None else None
        field_id = f.source.id.name if f.source is not None else FIELD_PREFIX + f.name
        what = _("the label of field `{field}`").format(field=field_id)
        _length(diagnostics, what, f.label, span, None)
        _reference(diagnostics, what, f.label, span)
        for value in f.values:
            what = _("a list value of field `{field}`").format(field=field_id)
            _length(diagnostics, what, value, span, None)
            _reference(diagnostics, what, value, span)


def _length(
    diagnostics: list[Diagnostic], what: str, value: str, span: Span | None, limit: int | None
) -> None:
    if value.strip() and (limit is None or len(value) <= limit):
        return
    bounds = (
        _("1 to {limit} characters").format(limit=limit)
        if limit is not None
        else _("a name that is not blank")
    )
    diagnostics.append(codes.make("F808", span, what=what, length=str(len(value)), bounds=bounds))


def _reference(diagnostics: list[Diagnostic], what: str, value: str, span: Span | None) -> None:
    found = substituted_by_batch(value)
    if found is not None:
        diagnostics.append(codes.make("F807", span, what=what, reference=found))


def _lead_modes(
    project: Project, opts: Options, emit_options: EmitOptions, diagnostics: list[Diagnostic]
) -> dict[str, tuple[str, str | None]]:
    """How each pipeline's lead phase is mapped, and which pipeline owns the lead funnel.

    A portal has one lead funnel.  Its owner is the pipeline named by ``lead-funnel``, else the
    first pipeline whose ``lead-phase`` is ``"statuses"``, else the first one with a lead phase
    left on ``"auto"``.  Another pipeline whose lead phase is identical shares the owner's
    statuses; one whose lead phase differs is an error (F805) if it asked for ``"statuses"``,
    and otherwise is not mapped, which F901 reports (``--unsupported`` decides how loudly).
    """
    result: dict[str, tuple[str, str | None]] = {}
    candidates: list[Pipeline] = []
    for p in project.pipelines:
        if p.lead is None:
            result[p.id.name] = ("none", None)
            continue
        mode = opts.text("lead-phase", p)
        if mode in ("deal-stages", "skip"):
            result[p.id.name] = (mode, None)
        else:
            candidates.append(p)
    chosen = opts.get("lead-funnel")
    owner: Pipeline | None = None
    if isinstance(chosen, str):
        owner = next((p for p in candidates if p.id.name == chosen), None)
        if owner is None:
            _error(
                diagnostics,
                _(
                    "`lead-funnel` must name a pipeline whose lead phase can become the lead "
                    "funnel, not `{value}`"
                ).format(value=chosen),
                _("candidates: {names}").format(
                    names=", ".join(p.id.name for p in candidates) or "—"
                ),
            )
    if owner is None:
        explicit = [p for p in candidates if opts.get("lead-phase", p) == "statuses"]
        first = explicit or candidates
        owner = first[0] if first else None
    for p in candidates:
        if owner is None:
            break
        if p is owner:
            result[p.id.name] = ("statuses", p.id.name)
            continue
        if lead_signature(p) == lead_signature(owner):
            result[p.id.name] = ("shared", owner.id.name)
            continue
        result[p.id.name] = ("unmapped", owner.id.name)
        assert p.lead is not None and owner.lead is not None
        owner_label = Label(_lead_span(owner), _("this lead phase has the portal's lead funnel"))
        if opts.get("lead-phase", p) == "statuses":
            diagnostics.append(
                codes.make(
                    "F805",
                    _lead_span(p),
                    labels=[owner_label],
                    notes=[_("a Bitrix24 portal has one lead funnel (ENTITY_ID=STATUS)")],
                    first=owner.id.name,
                    second=p.id.name,
                    hint=_(
                        'map it as deal stages (`lead-phase = "deal-stages"` for `{pipeline}`), '
                        "choose the owner with `lead-funnel`, or make the two lead phases "
                        "identical"
                    ).format(pipeline=p.id.name),
                )
            )
        else:
            found = unsupported(
                emit_options,
                _lead_span(p),
                target=LABEL,
                what=_("the lead phase of `{pipeline}`").format(pipeline=p.id.name),
                hint=_(
                    "a portal has one lead funnel, and `{owner}` has it; set "
                    '`lead-phase = "deal-stages"` for `{pipeline}` to make its lead stages the '
                    'first deal stages, or `"skip"` to silence this'
                ).format(owner=owner.id.name, pipeline=p.id.name),
                labels=[owner_label],
            )
            if found is not None:
                diagnostics.append(found)
    return result


def _lead_span(pipeline: Pipeline) -> Span:
    """The ``lead`` keyword of a pipeline's lead block (its span starts there)."""
    assert pipeline.lead is not None
    start = pipeline.lead.span.start
    return Span(pipeline.lead.span.path, start, start + len("lead"))


def _field_names(
    project: Project, opts: Options, diagnostics: list[Diagnostic]
) -> dict[FieldKey, str]:
    """FIELD_NAME (without ``UF_CRM_``) of every distinct field declaration of the build.

    User fields belong to the whole portal, so pipelines that see the same declaration share
    one field; two different declarations with one id get different names.
    """
    overrides = opts.table("field-names")
    declared: dict[str, FunnelField] = {}
    for p in project.pipelines:
        for f in p.fields:
            declared.setdefault(f.id.name, f)
    keys = field_keys(project)
    taken: dict[str, str] = {}
    reason_field = opts.text("loss-reason-field").removeprefix(FIELD_PREFIX)
    checked: dict[str, str] = {}
    for field_id, value in sorted(overrides.items()):
        name = value.removeprefix(FIELD_PREFIX)
        declaration = declared.get(field_id)
        if declaration is None:
            _error(
                diagnostics,
                _("`{option}` names no field of the build").format(
                    option=f"field-names.{field_id}"
                ),
            )
            continue
        if _check_field_name(name, field_id, declaration.id.span, diagnostics):
            if name in taken or name == reason_field:
                other = taken.get(name, "the loss-reason field")
                diagnostics.append(
                    codes.make(
                        "F806",
                        declaration.id.span,
                        what="FIELD_NAME",
                        value=FIELD_PREFIX + name,
                        first=other,
                        second=field_id,
                    )
                )
            taken[name] = field_id
            checked[field_id] = name
    if any(opts.get("loss-reasons", p) == "field" for p in project.pipelines):
        _check_field_name(reason_field, "loss-reason-field", None, diagnostics)
    reserved = {*taken, reason_field}
    free = [k for k in keys if k[0] not in checked]
    derived = assign_codes([k[0] for k in free], FIELD_NAME_MAX - len(FIELD_PREFIX), reserved)
    names = dict(zip(free, derived, strict=True))
    for k in keys:
        if k[0] in checked:
            names[k] = checked[k[0]]
    return names


def _check_field_name(
    name: str, owner: str, span: Span | None, diagnostics: list[Diagnostic]
) -> bool:
    full = FIELD_PREFIX + name
    ok = True
    bad = bad_characters(name, _FIELD_NAME, _("nothing after `UF_CRM_`"))
    if bad is not None:
        diagnostics.append(codes.make("F804", span, value=full, field=owner, bad=bad))
        ok = False
    if len(full) > FIELD_NAME_MAX:
        diagnostics.append(codes.make("F803", span, value=full, field=owner, length=str(len(full))))
        ok = False
    return ok


def _map_pipeline(
    pipeline: Pipeline,
    index: int,
    opts: Options,
    lead_mode: str,
    owner: str | None,
    field_names: Mapping[FieldKey, str],
    digits: int,
    diagnostics: list[Diagnostic],
    language: str | None = None,
) -> PipelinePlan:
    russian = is_russian(pipeline, language)
    t = _texts(russian)
    reasons_mode = opts.text("loss-reasons", pipeline)
    overrides = opts.table("status-ids", pipeline)
    lead_lost = lost_outcomes(pipeline, Phase.LEAD)
    deal_lost = lost_outcomes(pipeline, Phase.DEAL)
    in_deal = lead_mode == "deal-stages"

    allowed = (*lead_lost, *deal_lost) if in_deal else deal_lost
    closing = chosen_lost_status(pipeline, opts, allowed, diagnostics)
    if closing is None:
        closing = deal_lost[0] if deal_lost else None
    if closing is None and in_deal and lead_lost:
        closing = lead_lost[0]

    if problem := multiple_won(pipeline, LABEL, _("a Bitrix24 funnel has one success stage")):
        diagnostics.append(problem)

    places: dict[str, tuple[Directory, B24Stage]] = {}
    reason_places: dict[tuple[str, str], tuple[Directory, B24Stage]] = {}

    # The deal category.
    deal = Directory("deal")
    in_progress = (pipeline.stages_in(Phase.LEAD) if in_deal else ()) + pipeline.stages_in(
        Phase.DEAL
    )
    won = won_outcomes(pipeline)
    failures = [*(lead_lost if in_deal else ()), *deal_lost]
    _fill(
        deal,
        in_progress,
        won[0] if won else None,
        closing,
        failures,
        pipeline,
        reasons_mode,
        ("NEW", "WON", "LOSE"),
        t,
        places,
        reason_places,
    )

    lead: Directory | None = None
    if lead_mode == "statuses":
        lead = Directory("lead")
        lead_stages = pipeline.stages_in(Phase.LEAD)
        _fill(
            lead,
            lead_stages,
            None,
            lead_lost[0] if lead_lost else None,
            list(lead_lost),
            pipeline,
            reasons_mode,
            ("NEW", "CONVERTED", "JUNK"),
            t,
            places,
            reason_places,
        )

    # STATUS_IDs: presets keep theirs; overrides are checked; the rest are derived.
    directories = [deal] + ([lead] if lead is not None else [])
    origin_ids: dict[str, Span] = {}
    for directory in directories:
        # The exact formula (crm-apis.md §0, validateStatusId) for the largest category id the
        # plan accepts (`category-id-digits`): 22 − len("C{id}:"), 21 for a lead status.
        limit = status_id_limit(10**digits - 1 if directory.entity == "deal" else None)
        is_deal = directory.entity == "deal"
        reserved = set(DEAL_PRESETS if is_deal else LEAD_DEFAULTS)
        given: dict[str, str] = {}
        for b in directory.stages:
            if b.stage is None and b.reason is None:
                continue  # a preset the funnel has nothing for (CONVERTED, an unused LOSE)
            ident = _ident(b)
            span = _origin_span(b, pipeline)
            origin_ids[ident] = span
            if ident not in overrides:
                continue
            value = overrides[ident]
            if b.system:
                _error(
                    diagnostics,
                    _(
                        "`{option}`: `{stage}` becomes the preset stage {code}, whose STATUS_ID "
                        "cannot change"
                    ).format(
                        option=f"pipelines.{pipeline.id.name}.status-ids.{ident}",
                        stage=ident,
                        code=b.code,
                    ),
                )
                continue
            if _check_status_id(value, ident, directory, limit, digits, span, diagnostics):
                clash = next((k for k, v in given.items() if v == value), None)
                if clash is not None or value in reserved:
                    preset = (
                        _("{code} is a preset stage of every new deal category")
                        if is_deal
                        else _("{code} is a default lead status of the portal")
                    )
                    diagnostics.append(
                        codes.make(
                            "F806",
                            span,
                            notes=[] if clash else [preset.format(code=value)],
                            what="STATUS_ID",
                            value=value,
                            first=clash or value,
                            second=ident,
                        )
                    )
                given[ident] = value
        free = [b for b in directory.stages if not b.system and _ident(b) not in given]
        derived = assign_codes([_ident(b) for b in free], limit, reserved | set(given.values()))
        for b, code in zip(free, derived, strict=True):
            b.code = code
        for b in directory.stages:
            if not b.system and _ident(b) in given:
                b.code = given[_ident(b)]
    for ident in overrides:
        if ident not in origin_ids:
            _error(
                diagnostics,
                _(
                    "`{option}` names no stage or loss reason that becomes a stage of `{pipeline}`"
                ).format(
                    option=f"pipelines.{pipeline.id.name}.status-ids.{ident}",
                    pipeline=pipeline.id.name,
                ),
            )

    # Fields: every visible field is a deal field; fields required by mapped lead stages are
    # lead fields too.
    lead_required = {
        ref.name
        for s in pipeline.stages_in(Phase.LEAD)
        for ref in s.requires
        if lead_mode in ("statuses", "shared")
    }
    fields: list[B24Field] = []
    for f in pipeline.fields:
        kind = f.type.kind
        settings: dict[str, Any] = {}
        if kind == "textarea":
            settings = {"ROWS": 5}
        fields.append(
            B24Field(
                name=field_names[field_key(f)],
                label=f.name.value,
                type=USER_TYPES[kind],
                multiple=kind == "multichoice",
                values=f.type.options,
                source=f,
                entities=("deal", "lead") if f.id.name in lead_required else ("deal",),
                settings=settings,
            )
        )
    if reasons_mode == "field":
        values = tuple(
            dict.fromkeys(
                r.name.value for s in lost_outcomes(pipeline) for r in outcome_reasons(pipeline, s)
            )
        )
        if values:
            fields.append(
                B24Field(
                    name=opts.text("loss-reason-field").removeprefix(FIELD_PREFIX),
                    label=t("Loss reason"),
                    type="enumeration",
                    multiple=False,
                    values=values,
                    source=None,
                    entities=("deal",),
                    merge_list=True,
                )
            )

    return PipelinePlan(
        pipeline=pipeline,
        russian=russian,
        deal=deal,
        lead=lead,
        lead_mode=lead_mode,
        lead_owner=owner,
        places=places,
        reason_places=reason_places,
        fields=fields,
        reasons_mode=reasons_mode,
        options={**opts.effective(pipeline), "category-sort": 500 + 10 * index},
        category_id_digits=digits,
        lead_cleanup=bool(opts.get("lead-cleanup")),
    )


def _ident(b: B24Stage) -> str:
    if b.stage is not None:
        return b.stage.id.name
    assert b.reason is not None
    return b.reason.id.name


def _origin_span(b: B24Stage, pipeline: Pipeline) -> Span:
    if b.stage is not None:
        return b.stage.id.span
    assert b.reason is not None
    return b.reason.id.span


def _check_status_id(
    value: str,
    ident: str,
    directory: Directory,
    limit: int,
    digits: int,
    span: Span,
    diagnostics: list[Diagnostic],
) -> bool:
    ok = True
    bad = bad_characters(value, _STATUS_ID, _("nothing"))
    if bad is not None:
        diagnostics.append(codes.make("F802", span, value=value, stage=ident, bad=bad))
        ok = False
    if len(value) > limit:
        deal = directory.entity == "deal"
        prefix = f"C{'9' * digits}:"
        diagnostics.append(
            codes.make(
                "F801",
                span,
                notes=(
                    [
                        _(
                            "a category with an id of up to {digits} digits adds the prefix "
                            "`{prefix}` (`category-id-digits`)"
                        ).format(digits=digits, prefix=prefix)
                    ]
                    if deal
                    else []
                ),
                value=value,
                stage=ident,
                length=str(len(value) + (len(prefix) if deal else 0)),
                prefix=_(" with the prefix `{prefix}`").format(prefix=prefix) if deal else "",
                limit=str(DEAL_STATUS_ID_MAX if deal else LEAD_STATUS_ID_MAX),
            )
        )
        ok = False
    return ok


def _fill(
    directory: Directory,
    in_progress: Sequence[Stage],
    success: Stage | None,
    closing: Stage | None,
    failures: Sequence[Stage],
    pipeline: Pipeline,
    reasons_mode: str,
    presets: tuple[str, str, str],
    t: Translator,
    places: dict[str, tuple[Directory, B24Stage]],
    reason_places: dict[tuple[str, str], tuple[Directory, B24Stage]],
) -> None:
    """The stages of one directory, in their final order: in-progress stages (the first one
    renames the preset start stage), the success stage, then the failure stages — the closing
    lost outcome first (it renames the preset failure stage), each outcome followed by its
    loss reasons when they become stages."""
    start, won_code, lost_code = presets
    counters = {Phase.LEAD: 0, Phase.DEAL: 0}
    for position, stage in enumerate(in_progress):
        colour = stage.color.value if stage.color else default_colour(stage, counters[stage.phase])
        counters[stage.phase] += 1
        b = B24Stage(
            start if position == 0 else "",
            stage.name.value,
            10 * (position + 1),
            "",
            colour,
            system=position == 0,
            stage=stage,
        )
        directory.stages.append(b)
        places[stage.id.name] = (directory, b)
    if success is not None:
        b = B24Stage(
            won_code, success.name.value, SUCCESS_SORT, "S", _explicit(success), True, stage=success
        )
        places[success.id.name] = (directory, b)
    else:
        b = B24Stage(won_code, t("Handed over to sales"), SUCCESS_SORT, "S", None, True)
    directory.stages.append(b)

    sort = FAILURE_SORT
    order = ([closing] if closing is not None else []) + [s for s in failures if s is not closing]
    if closing is None:
        directory.stages.append(B24Stage(lost_code, "", sort, "F", None, True, renamed=False))
        sort += 10
    seen_reasons: dict[str, B24Stage] = {}
    lost_index = 0
    for stage in order:
        if stage is closing:
            b = B24Stage(
                lost_code, stage.name.value, sort, "F", _explicit(stage), True, stage=stage
            )
        else:
            colour = stage.color.value if stage.color else default_colour(stage, lost_index)
            lost_index += 1
            b = B24Stage("", stage.name.value, sort, "F", colour, stage=stage)
        sort += 10
        directory.stages.append(b)
        places[stage.id.name] = (directory, b)
        if reasons_mode != "stages":
            continue
        for reason in outcome_reasons(pipeline, stage):
            if reason.id.name in seen_reasons:
                reason_places[(stage.id.name, reason.id.name)] = (
                    directory,
                    seen_reasons[reason.id.name],
                )
                continue
            r = B24Stage("", reason.name.value, sort, "F", REASON_COLOUR, reason=reason)
            sort += 10
            directory.stages.append(r)
            seen_reasons[reason.id.name] = r
            reason_places[(stage.id.name, reason.id.name)] = (directory, r)


def _explicit(stage: Stage) -> str | None:
    return stage.color.value if stage.color else None


# ---- the plan ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReplyRef:
    """A reference to the reply of an earlier *request* of the plan, which the pusher
    substitutes, as a literal, before it sends the batch: ``prefix{{request:path}}suffix``.

    This is how the plan writes a :class:`~.requests.IdRef` (an id the builder did not know):
    the new category's id (``{{category:category.id}}``) or a row id a lookup of an earlier
    batch found (``{{lookup:result.find_new.0.ID}}``).  Bitrix24 never sees it, so it may sit
    inside a value (``DEAL_STAGE_{{category:category.id}}``): the id is read back and sent
    literally, which works on every server version (crm-apis.md §0, where ``$result`` is
    replaced greedily and older cores skip a non-string result inside a longer value)."""

    request: str
    path: tuple[str | int, ...]
    prefix: str = ""
    suffix: str = ""

    def readable(self) -> dict[str, Any]:
        item: dict[str, Any] = {"$reply": self.request, "path": list(self.path)}
        if self.prefix:
            item["prefix"] = self.prefix
        if self.suffix:
            item["suffix"] = self.suffix
        return item

    def encoded(self) -> str:
        token = "{{" + self.request + ":" + ".".join(str(p) for p in self.path) + "}}"
        return _quote(self.prefix) + token + _quote(self.suffix)


def category_ref(prefix: str = "", suffix: str = "") -> ReplyRef:
    """The new deal category's id, from the reply of the ``category`` request."""
    return ReplyRef("category", ("category", "id"), prefix, suffix)


_KEY = re.compile(r"[A-Za-z0-9_]+(\[[A-Za-z0-9_]+\])*")
_BATCH_KEYS = re.compile(r"\$(result|next|total|time|error)(\S*)", re.IGNORECASE)
_BATCH_PATH = re.compile(r"\[([^\]]+)\]")


def substituted_by_batch(value: str) -> str | None:
    """The part of the user text ``value`` that Bitrix24's ``batch`` would treat as a
    reference and replace (``$result[x]``, ``$RESULT[a][b]``, ``$next[y]``…), or ``None``.

    Percent-encoding does not protect such a text: ``CRestUtil::ParseBatchQuery``
    (``modules/rest/classes/general/rest_util.php``) runs ``parse_str`` on the command's query
    *first*, which decodes every value, and only then ``processBatchStructure`` →
    ``processBatchElement`` looks for references in the decoded values.  So a value that matches
    is refused at compile time (F807) instead of being sent."""
    for match in _BATCH_KEYS.finditer(value):
        if _BATCH_PATH.search(match.group(2)):
            return match.group(0)
    return None


def _flatten(params: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """PHP-style query pairs: ``{"fields": {"NAME": "x"}}`` → ``fields[NAME]=x``."""
    pairs: list[tuple[str, Any]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, Mapping):
            pairs += _flatten(value, name)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, Mapping):
                    pairs += _flatten(item, f"{name}[{i}]")
                else:
                    pairs.append((f"{name}[{i}]", item))
        else:
            pairs.append((name, value))
    return pairs


def _quote(value: str) -> str:
    """Every character but ``[A-Za-z0-9_.~-]`` percent-encoded: ``& = + % $ [ ] { } #`` and
    spaces never reach the query string as themselves, so no user value can add a parameter,
    end its own, or look like a reference to the pusher (``{{…}}``)."""
    return urllib.parse.quote(value, safe="")


def _encode(value: Any) -> str:
    if isinstance(value, ReplyRef):
        return value.encoded()
    if isinstance(value, bool):
        raise TypeError("a bool in a Bitrix24 command")  # Y/N are written as strings
    return _quote(str(value))


def command_string(method: str, params: Mapping[str, Any]) -> str:
    """A batch command as Bitrix24 expects it: ``method?key=value&…``.

    Keys are the plan's own (``fields[NAME]``), never user text; every value is
    percent-encoded in full, except a reference, which is written by its own rule."""
    pairs = _flatten(params)
    for key, _value in pairs:
        if not _KEY.fullmatch(key):
            raise ValueError(f"not a parameter name funnelc writes: {key!r}")
    query = "&".join(f"{key}={_encode(value)}" for key, value in pairs)
    return f"{method}?{query}" if query else method


def readable(value: Any) -> Any:
    """A command's parameters as the plan shows them: references as typed objects."""
    if isinstance(value, ReplyRef):
        return value.readable()
    if isinstance(value, Mapping):
        return {k: readable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [readable(v) for v in value]
    return value


def typed(value: Any) -> Any:
    """The inverse of :func:`readable`: a plan's ``commands`` parameters with their reference
    objects as :class:`ReplyRef` again (what a pusher re-encodes)."""
    if isinstance(value, Mapping) and "$reply" in value:
        return ReplyRef(
            str(value["$reply"]),
            tuple(value["path"]),
            str(value.get("prefix", "")),
            str(value.get("suffix", "")),
        )
    if isinstance(value, Mapping):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    return value


def import_batches(plan: PipelinePlan) -> list[requests.Batch]:
    """The import plan's commands: :func:`~.requests.build` of ``diff(EMPTY, desired)`` for
    this pipeline (its category, the lead statuses when it owns the lead funnel, its user
    fields) — the same builder ``funnelc apply`` walks."""
    from .desired import pipeline_state
    from .diff import diff
    from .state import EMPTY

    desired = pipeline_state(plan)
    ops = diff(EMPTY, desired)
    if not plan.lead_cleanup:  # keep the portal's other lead statuses
        ops = [op for op in ops if not (isinstance(op, Delete) and op.ref.parent == LEAD)]
    return requests.build(ops, EMPTY, desired)


_PHASE_IDS = {"categories": "category", "lookups": "lookup", "changes": "changes"}


def _plan_requests(plan: PipelinePlan, batches: list[requests.Batch]) -> list[dict[str, Any]]:
    """The builder's batches as plan requests: each :class:`~.requests.IdRef` written as the
    :class:`ReplyRef` of the request whose reply binds it, the user-field reads around them.
    A batch of one ``crm.category.add`` is a plain call (JSON body, ``expect`` on its id)."""
    where: dict[requests.IdKey, tuple[str, tuple[str | int, ...]]] = {}

    def render(value: Any) -> Any:
        if isinstance(value, requests.IdRef):
            rid, path = where[value.key]
            return ReplyRef(rid, path, value.prefix, value.suffix)
        if isinstance(value, Mapping):
            return {k: render(v) for k, v in value.items()}
        if isinstance(value, list):
            return [render(v) for v in value]
        return value

    out: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    merge = {f.name for f in plan.fields if f.merge_list}
    for batch in batches:
        base = _PHASE_IDS[batch.phase]
        seen[base] = seen.get(base, 0) + 1
        rid = base if seen[base] == 1 else f"{base}.{seen[base]}"
        if batch.phase == "categories" and len(batch.commands) == 1:
            (command,) = batch.commands
            for b in command.binds:
                where[b.key] = (rid, b.path)
            out.append(
                {
                    "id": rid,
                    "purpose": "Create the deal category; later requests use its id.",
                    "method": command.method,
                    "params": readable(render(command.params)),
                    "expect": {"category.id": {"at_most": 10**plan.category_id_digits - 1}},
                }
            )
            continue
        commands: list[dict[str, Any]] = []
        for command in batch.commands:
            params = render(command.params)
            item: dict[str, Any] = {
                "key": command.key,
                "method": command.method,
                "params": params,
            }
            op = command.operation
            if command.method.endswith(".userfield.add"):
                entity = command.method.split(".")[1]
                name = params["fields"]["FIELD_NAME"]
                item["unless_exists"] = {
                    "from": f"check.{entity}_fields",
                    "match": {"FIELD_NAME": FIELD_PREFIX + name},
                }
                if name in merge:
                    item["merge"] = "LIST"
            if isinstance(op, Delete) and op.ref.parent == LEAD:
                item["optional"] = True
            commands.append(item)
        for command in batch.commands:
            for b in command.binds:
                where[b.key] = (rid, ("result", command.key, *b.path))
        first = seen[base] == 1
        purpose = _PURPOSES[batch.phase] if first else f"{_PURPOSES[batch.phase]} (continued)"
        out.append(
            {
                "id": rid,
                "purpose": purpose,
                "method": "batch",
                "halt": 1,
                "commands": [readable(c) for c in commands],
                "body": {
                    "halt": 1,
                    "cmd": {c["key"]: command_string(c["method"], c["params"]) for c in commands},
                },
            }
        )
    return out


_PURPOSES = {
    "categories": "Create the deal categories; later requests use their ids.",
    "lookups": "Find the row ids of the stages the plan renames, re-sorts or deletes: the "
    "presets of the new category (and the portal's lead statuses); later requests use them.",
    "changes": "Delete the new category's other presets, move the success and failure stages "
    "to their sorts, add the other stages, rename the start stage (the lead statuses the "
    "same way), and add the user fields the portal does not have yet.",
}


def plan_document(project: Project, plan: PipelinePlan) -> dict[str, Any]:
    """The import plan of one pipeline (see ``docs/targets/bitrix24.md`` and the schema)."""
    pipeline = plan.pipeline
    requests_: list[dict[str, Any]] = [
        {
            "id": "check.categories",
            "purpose": "Read the portal's deal categories: stop if one already has this name.",
            "method": "crm.category.list",
            "params": {"entityTypeId": 2},
            "paged": True,
            "expect": {"names_absent": [pipeline.name.value]},
        }
    ]
    if any("deal" in f.entities for f in plan.fields):
        requests_.append(
            {
                "id": "check.deal_fields",
                "purpose": "Read the portal's deal user fields, so that fields another pipeline "
                "already created are reused (user fields belong to the whole portal).",
                "method": "crm.deal.userfield.list",
                "params": {},
                "paged": True,
            }
        )
    if any("lead" in f.entities for f in plan.fields):
        requests_.append(
            {
                "id": "check.lead_fields",
                "purpose": "Read the portal's lead user fields.",
                "method": "crm.lead.userfield.list",
                "params": {},
                "paged": True,
            }
        )
    requests_ += _plan_requests(plan, import_batches(plan))
    return {
        **plan_header(
            SCHEMA_ID,
            FORMAT_VERSION,
            NAME,
            pipeline,
            plan.russian,
            source_path(project, pipeline),
        ),
        "api": {
            "webhook_url": "https://{portal}/rest/{user_id}/{webhook_code}/{method}",
            "oauth_url": "https://{portal}/rest/{method}",
            "rights": "CRM administrator (writes to categories, stages and user fields)",
            "rate_limit": {
                "requests_per_second": 2,
                "burst": 50,
                "enterprise": "5 requests per second, burst 250",
                "on_exceed": "HTTP 503 QUERY_LIMIT_EXCEEDED",
            },
            "batch_max_commands": MAX_BATCH,
        },
        "options": plan.options,
        "lead_funnel": {
            "mapping": plan.lead_mode,
            "owner": plan.lead_owner,
        },
        "stages": _stage_table(plan),
        "notes": _notes(plan),
        "manual_steps": f"{pipeline.id.name}.md",
        "requests": requests_,
    }


def _stage_table(plan: PipelinePlan) -> list[dict[str, Any]]:
    """The final stages, for a reader: which STATUS_ID each stage of the funnel gets."""
    rows = []
    for directory in [plan.deal] + ([plan.lead] if plan.lead is not None else []):
        for b in directory.stages:
            rows.append(
                {
                    "entity": "DEAL_STAGE_{id}" if directory.entity == "deal" else "STATUS",
                    "status_id": directory.status_id(b),
                    "name": b.name if b.renamed else None,
                    "semantics": b.semantics or None,
                    "sort": b.sort,
                    "color": b.color,
                    "from": (
                        f"stage {b.stage.id.name}"
                        if b.stage is not None
                        else f"reason {b.reason.id.name}"
                        if b.reason is not None
                        else None
                    ),
                }
            )
    return rows


def _notes(plan: PipelinePlan) -> list[str]:
    digits = plan.category_id_digits
    notes = [
        "Send the requests in order, at most 2 per second (a batch counts as one request).",
        "The requests are the commands `funnelc apply` sends from an empty portal, made by the "
        "same builder: the deal categories, then lookups of the row ids of the stages the plan "
        "changes, then every change, in full batches of at most 50.",
        "References are typed objects in `commands`, never text inside a value: "
        '{"$reply": request, "path": [...], "prefix", "suffix"} is a value from the reply of an '
        "earlier request (the new category's id, or a row id a lookup found): the pusher "
        "substitutes the literal value for {{<request>:<path>}} in `body` before sending "
        "(a number in the path indexes a list). Bitrix24 never sees a reference, so no "
        "$result substitution is involved (crm-apis.md §0). If a reference finds nothing, stop, "
        "except for a command marked `optional` (a default lead status the portal may not have "
        "or may still use: drop it if its lookup finds nothing, carry on if it is refused).",
        "Each batch is given twice: `commands` (readable) and `body` (what is sent: every value "
        "percent-encoded, references written as above). They say the same thing.",
        "`expect` lists checks on a reply: stop the plan if one fails.",
        "paged: a list method returns 50 rows a page (crm-apis.md §0): read every page (send "
        "`start` = the reply's `next` until there is none) before checking or matching, or "
        "`unless_exists` misses fields.",
        "unless_exists: before sending, drop every command whose `match` the reply of the "
        "`from` request already holds (user fields belong to the whole portal and pipelines "
        "share them). merge: LIST — if the field exists, add the list values it lacks with "
        "crm.deal.userfield.update instead.",
        "A new deal category starts with the stages of the default deal directory "
        f"({', '.join(DEAL_PRESETS)}; crm-apis.md §0); the plan stops at the first preset "
        "its lookups cannot find, before anything but the empty category is created.",
        f"STATUS_IDs fit 22 characters with the prefix of a category id of up to {digits} "
        f"digits (C{'9' * digits}:); the `category` request expects such an id.",
        "A directory has one success stage (crm-apis.md §0); the plan has exactly one.",
        "Per-stage required fields, SLAs, robots and tasks have no REST method: they are in the "
        "manual steps.",
    ]
    if plan.lead is not None:
        notes.append(
            "[UNCONFIRMED] The portal's lead statuses are assumed to be the defaults "
            f"({', '.join(LEAD_DEFAULTS)}); custom ones are left alone. The lead funnel is shared "
            "by the whole portal: this plan changes it for everyone."
        )
    if plan.lead_mode == "shared":
        notes.append(
            f"The lead statuses are set by the plan of `{plan.lead_owner}`, whose lead phase is "
            "identical; run that plan first."
        )
    return notes


# ---- the target ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bitrix24Target(PlanTarget[Analysis]):
    """The ``bitrix24`` target (see the module docstring)."""

    name: str = NAME
    description: str = "Bitrix24 REST import plan (batch calls) and manual steps per pipeline"

    label: ClassVar[str] = LABEL


TARGET = Bitrix24Target()


from .manual import manual_steps  # noqa: E402, F401  (reads this module; PlanTarget uses it)
