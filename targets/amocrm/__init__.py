"""The ``amocrm`` target: an import plan for amoCRM (Kommo) API v4, and the manual steps.

amoCRM has no file format for pipeline configuration, so for each funnel pipeline this target
writes ``<pipeline>.json``, an ordered list of REST requests that creates the pipeline, its
statuses, the lead custom fields and the account's loss reasons (described by
``amocrm-plan.schema.json``), and ``<pipeline>.md``, the checklist of what the API cannot set
(SLAs, timeouts, tasks, revival, ``next``…), in the pipeline's language.

The mapping is documented construct by construct in ``docs/targets/amocrm.md``; the API facts
it relies on (and which of them are unconfirmed) in ``../shared/crm-apis.md`` §1.  In short:
one amoCRM pipeline per funnel pipeline; the lead phase becomes its first statuses with the
"Неразобранное" inbox on (or a separate qualification pipeline); the won outcome renames
status 142 and the first lost outcome of the deal phase renames 143; other lost outcomes become
loss reasons under 143 (or ordinary statuses); goal, exit criteria and tasks become status
descriptions; ``requires`` becomes the fields' ``required_statuses``.

The limits (50 pipelines, 100 statuses, one won outcome, 1000-character descriptions, the
21-colour palette) are checked by :meth:`AmoCrmTarget.check` before anything is emitted.

The package: this module maps the build (``analyse``, once per build through
``PlanTarget.analysis``) and writes the import plan; ``manual.py`` writes the manual steps;
``state.py`` is the typed account state, ``desired.py`` maps the analysis to it, ``diff.py``
compares two states into operations and ``requests.py`` turns operations into API calls
(``funnelc plan`` / ``apply``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from funnelc import codes
from funnelc.diagnostics import Diagnostic, Severity, sorted_diagnostics
from funnelc.emit import EmitOptions
from funnelc.i18n import Translator, _, texts_for
from funnelc.model import Field as FunnelField
from funnelc.model import Phase, Pipeline, Project, Stage, StageKind
from funnelc.source import Span

from ..crm_common import Analysis as CrmAnalysis
from ..crm_common import (
    FieldKey,
    Option,
    Options,
    PlanTarget,
    assign_codes,
    capabilities,
    chosen_lost_status,
    default_colour,
    duration_text,
    field_key,
    field_keys,
    is_russian,
    lost_outcomes,
    multiple_won,
    nearest_colour,
    one_line,
    outcome_reasons,
    plan_header,
    quoted,
    severity_for,
    source_path,
    timeout_target,
    unsupported,
    won_outcomes,
)

NAME = "amocrm"
LABEL = "amoCRM"
SCHEMA_ID = "urn:funnelc:schema:amocrm-plan:v3"
FORMAT_VERSION = 3

PALETTE: tuple[str, ...] = (
    "#fffeb2",
    "#fffd7f",
    "#fff000",
    "#ffeab2",
    "#ffdc7f",
    "#ffce5a",
    "#ffdbdb",
    "#ffc8c8",
    "#ff8f92",
    "#d6eaff",
    "#c1e0ff",
    "#98cbff",
    "#ebffb1",
    "#deff81",
    "#87f2c0",
    "#f9deff",
    "#f3beff",
    "#ccc8f9",
    "#eb93ff",
    "#f2f3f4",
    "#e6e8ea",
)
"""The 21 status colours amoCRM accepts (API v4 docs; the same list is ``StatusModel::COLORS``
in the official PHP SDK).  The docs' sample replies also show ``#99ccff`` and ``#ffcc66``,
legacy colours that are never emitted."""

MAX_PIPELINES = 50
MAX_STATUSES = 100
MAX_DESCRIPTION = 1000
MAX_BATCH = 50
"""No cap is documented for pipeline, status, field or loss-reason batches [UNCONFIRMED]; the
plan keeps every batch at 50 items, the cap documented for ``/leads/complex``."""
WON_ID = 142
LOST_ID = 143
LEVELS = ("newbie", "candidate", "master")

FIELD_TYPES = {
    "text": "text",
    "textarea": "textarea",
    "number": "numeric",
    "money": "numeric",
    "date": "date",
    "datetime": "date_time",
    "bool": "checkbox",
    "choice": "select",
    "multichoice": "multiselect",
    "phone": "text",
    "email": "text",
    "url": "url",
}
"""Funnel field type → amoCRM lead field type.  Leads have no phone or e-mail type (those are
``multitext`` fields of contacts), so they become text; ``money`` becomes ``numeric`` unless
the ``money = "monetary"`` option asks for the paid "Супер-поля" type."""

OPTIONS = (
    Option("lead-phase", "choice", "statuses", ("statuses", "pipeline")),
    Option("unsorted", "choice", "auto", ("auto", "on", "off")),
    Option("lost-status", "str", None, global_ok=False),
    Option("extra-lost", "choice", "reason", ("reason", "status")),
    Option("lost", "table", {}, global_ok=False),
    Option("loss-reasons", "choice", "create", ("create", "manual")),
    Option("money", "choice", "numeric", ("numeric", "monetary"), per_pipeline=False),
    Option("currency", "str", None, per_pipeline=False),
    Option("palette", "choice", "strict", ("strict", "nearest"), per_pipeline=False),
    Option("existing-pipelines", "int", 0, per_pipeline=False, maximum=MAX_PIPELINES),
)

CAPABILITIES = capabilities({"requires": "native", "goal/exit/task": "native"})


# ---- the mapping -----------------------------------------------------------------------------


@dataclass
class AmoStatus:
    """A status of an amoCRM pipeline: a custom one (``ref`` is its ``request_id``) or a
    system one (``system`` is 142 or 143; ``renamed`` says whether the plan renames it)."""

    ref: str | None
    system: int | None
    name: str
    sort: int
    color: str | None = None
    stage: Stage | None = None
    descriptions: tuple[tuple[str, str], ...] = ()
    renamed: bool = True


@dataclass
class AmoPipeline:
    ref: str
    name: str
    sort: int
    unsorted: bool
    role: str  # "deal" (with the lead phase in "statuses" mode) or "lead"
    statuses: list[AmoStatus] = field(default_factory=list)

    @property
    def custom(self) -> list[AmoStatus]:
        return [s for s in self.statuses if s.system is None]

    def system(self, number: int) -> AmoStatus:
        return next(s for s in self.statuses if s.system == number)

    @property
    def status_count(self) -> int:
        """Statuses amoCRM counts against the 100: custom, 142, 143 and the inbox if on."""
        return len(self.statuses) + (1 if self.unsorted else 0)


@dataclass(frozen=True)
class Place:
    """Where a funnel stage ends up: a status, or status 143 with a loss reason."""

    pipeline: AmoPipeline
    status: AmoStatus
    reason: str | None = None


@dataclass
class AmoField:
    ref: str
    code: str
    source: FunnelField
    type: str
    required: list[tuple[AmoPipeline, AmoStatus]] = field(default_factory=list)


@dataclass
class PipelinePlan:
    pipeline: Pipeline
    russian: bool
    lead_mode: str  # "statuses", "pipeline" or "none"
    amo: list[AmoPipeline]
    places: dict[str, Place]
    lost_modes: dict[str, str]  # lost outcome id → "closing", "reason" or "status"
    reasons: list[tuple[str, str]]  # (request_id, name)
    reasons_mode: str
    fields: list[AmoField]
    options: dict[str, object]
    dropped: list[str] = field(default_factory=list)
    """What F901 reported for this pipeline, for the manual steps."""
    currency: str | None = None
    """The ``currency`` of monetary fields (the option; required with ``money = "monetary"``)."""


Analysis = CrmAnalysis[PipelinePlan]


def _texts(russian: bool) -> Translator:
    """The artefact's texts in the pipeline's language, from the message catalogue: called
    as ``t("English message id")`` where each text is used."""
    return texts_for("ru" if russian else "en")


def analyse(project: Project, emit_options: EmitOptions) -> Analysis:
    """The mapping of every pipeline of the build and every problem with it.

    Both :meth:`AmoCrmTarget.check` and :meth:`AmoCrmTarget.emit` call this, so the plan always
    follows from exactly the decisions the checks judged (it is cheap: no I/O, linear in the
    size of the build).
    """
    raw = emit_options.target_options.get(NAME, {})
    opts = Options(NAME, raw, OPTIONS, project)
    diagnostics: list[Diagnostic] = list(opts.diagnostics)

    # Custom fields belong to the whole account: one code per distinct declaration.
    keys = field_keys(project)
    field_codes = dict(zip(keys, assign_codes([k[0] for k in keys], 64, ()), strict=True))

    plans: dict[str, PipelinePlan] = {}
    sort = 0
    for pipeline in project.pipelines:
        plan = _map_pipeline(pipeline, opts, field_codes, sort, emit_options, diagnostics)
        sort += 10 * len(plan.amo)
        plans[pipeline.id.name] = plan

    existing = opts.number("existing-pipelines")
    total = existing
    first_over: Pipeline | None = None
    for pipeline in project.pipelines:
        before = total
        total += len(plans[pipeline.id.name].amo)
        if before <= MAX_PIPELINES < total:
            first_over = pipeline
    if first_over is not None:
        note = _("funnel pipelines: {pipelines}; amoCRM pipelines they become: {needed}").format(
            pipelines=len(project.pipelines), needed=total - existing
        )
        if existing:
            note += _("; already in the account (`existing-pipelines`): {existing}").format(
                existing=existing
            )
        notes = [note]
        diagnostics.append(
            codes.make(
                "F701",
                first_over.id.span,
                notes=notes,
                needed=str(total),
                hint=_(
                    "build fewer pipelines per account, archive and delete unused ones, or map "
                    'lead phases into the deal pipelines (`lead-phase = "statuses"`)'
                ),
            )
        )
    for plan in plans.values():
        _check_names(plan, diagnostics)
    return Analysis(plans, sorted_diagnostics(diagnostics))


MAX_NAME = 255
"""amoCRM documents no maximum for names (crm-apis.md §1.3, §4): funnelc sends at most 255
characters, the most it knows to work (and the plan schema says so)."""


def _check_names(plan: PipelinePlan, diagnostics: list[Diagnostic]) -> None:
    """F705 for every name the plan sends that is blank (amoCRM requires names) or longer than
    :data:`MAX_NAME` (no limit is documented, and none longer is known to be kept)."""
    pipeline = plan.pipeline
    for a in plan.amo:
        _name_length(
            diagnostics,
            _("the name of the amoCRM pipeline made from `{pipeline}`").format(
                pipeline=pipeline.id.name
            ),
            a.name,
            pipeline.name.span,
        )
        for status in a.statuses:
            if not status.renamed or status.stage is None:
                continue
            _name_length(
                diagnostics,
                _("the name of stage `{stage}`").format(stage=status.stage.id.name),
                status.name,
                status.stage.name.span,
            )
    for f in plan.fields:
        what = _("the name of field `{field}`").format(field=f.source.id.name)
        _name_length(diagnostics, what, f.source.name.value, f.source.name.span)
        for value in f.source.type.options:
            what = _("an option of field `{field}`").format(field=f.source.id.name)
            _name_length(diagnostics, what, value, f.source.name.span)
    sent = {name for _ref, name in plan.reasons}
    for reason in pipeline.reasons:
        if reason.name.value in sent:
            what = _("the name of loss reason `{reason}`").format(reason=reason.id.name)
            _name_length(diagnostics, what, reason.name.value, reason.name.span)


def _name_length(diagnostics: list[Diagnostic], what: str, value: str, span: Span | None) -> None:
    if not value.strip():
        rule = _("amoCRM requires a name")
    elif len(value) > MAX_NAME:
        rule = _(
            "amoCRM documents no maximum, and names above {limit} characters are not known to "
            "be kept"
        ).format(limit=MAX_NAME)
    else:
        return
    diagnostics.append(codes.make("F705", span, what=what, length=str(len(value)), rule=rule))


def _map_pipeline(
    pipeline: Pipeline,
    opts: Options,
    field_codes: Mapping[FieldKey, str],
    sort: int,
    emit_options: EmitOptions,
    diagnostics: list[Diagnostic],
) -> PipelinePlan:
    russian = is_russian(pipeline, emit_options.language)
    t = _texts(russian)
    lead_mode = opts.text("lead-phase", pipeline) if pipeline.lead is not None else "none"
    lead_lost = lost_outcomes(pipeline, Phase.LEAD)
    deal_lost = lost_outcomes(pipeline, Phase.DEAL)

    # Which lost outcome renames 143 (of the deal pipeline), and how the others are mapped.
    allowed = deal_lost if lead_mode == "pipeline" else (*lead_lost, *deal_lost)
    closing = chosen_lost_status(pipeline, opts, allowed, diagnostics)
    if closing is None:
        closing = deal_lost[0] if deal_lost else None
    if closing is None and lead_mode == "statuses" and lead_lost:
        closing = lead_lost[0]
    lead_closing = lead_lost[0] if lead_mode == "pipeline" and lead_lost else None

    per_outcome = opts.table("lost", pipeline)
    lost_modes: dict[str, str] = {}
    for stage in lost_outcomes(pipeline):
        if stage is closing or stage is lead_closing:
            lost_modes[stage.id.name] = "closing"
        else:
            lost_modes[stage.id.name] = opts.text("extra-lost", pipeline)
    for stage_id, mode in sorted(per_outcome.items()):
        outcome = pipeline.stage(stage_id)
        where = f"pipelines.{pipeline.id.name}.lost.{stage_id}"
        if outcome is None or outcome.kind is not StageKind.LOST:
            opts_error(
                diagnostics,
                _("`{option}` names no lost outcome of `{pipeline}`").format(
                    option=where, pipeline=pipeline.id.name
                ),
            )
        elif lost_modes[stage_id] == "closing":
            opts_error(
                diagnostics,
                _("`{option}`: `{stage}` already renames status 143").format(
                    option=where, stage=stage_id
                ),
            )
        elif mode not in ("reason", "status"):
            opts_error(
                diagnostics,
                _("`{option}` must be one of {allowed}, not {value}").format(
                    option=where, allowed='"reason", "status"', value=f'"{mode}"'
                ),
            )
        else:
            lost_modes[stage_id] = mode

    # The amoCRM pipelines and their statuses.
    unsorted_opt = opts.text("unsorted", pipeline)

    def inbox(role: str) -> bool:
        if unsorted_opt != "auto":
            return unsorted_opt == "on"
        return (role == "lead") or (role == "deal" and lead_mode == "statuses")

    amo: list[AmoPipeline] = []
    places: dict[str, Place] = {}
    if lead_mode == "pipeline":
        lead_amo = AmoPipeline(
            "pipeline.lead",
            t("{name}: leads").format(name=pipeline.name.value),
            sort + 10,
            inbox("lead"),
            "lead",
        )
        deal_amo = AmoPipeline("pipeline", pipeline.name.value, sort + 20, inbox("deal"), "deal")
        amo = [lead_amo, deal_amo]
        groups = [
            (lead_amo, pipeline.stages_in(Phase.LEAD), lead_lost, lead_closing, None),
            (deal_amo, pipeline.stages_in(Phase.DEAL), deal_lost, closing, won_outcomes(pipeline)),
        ]
    else:
        deal_amo = AmoPipeline("pipeline", pipeline.name.value, sort + 10, inbox("deal"), "deal")
        amo = [deal_amo]
        groups = [
            (
                deal_amo,
                pipeline.stages_in(Phase.LEAD) + pipeline.stages_in(Phase.DEAL),
                lead_lost + deal_lost,
                closing,
                won_outcomes(pipeline),
            )
        ]

    for target, open_stages, lost, closer, won in groups:
        status_sort = 10
        index = {Phase.LEAD: 0, Phase.DEAL: 0}
        for stage in open_stages:
            status_sort += 10
            colour = _colour(stage, index[stage.phase], emit_options, opts, diagnostics)
            index[stage.phase] += 1
            status = AmoStatus(f"status.{stage.id.name}", None, stage.name.value, status_sort)
            status.color, status.stage = colour, stage
            target.statuses.append(status)
            places[stage.id.name] = Place(target, status)
        lost_index = 0
        for stage in lost:
            if lost_modes[stage.id.name] != "status":
                continue
            status_sort += 10
            colour = _colour(stage, lost_index, emit_options, opts, diagnostics)
            lost_index += 1
            status = AmoStatus(f"status.{stage.id.name}", None, stage.name.value, status_sort)
            status.color, status.stage = colour, stage
            target.statuses.append(status)
            places[stage.id.name] = Place(target, status)
        if won:
            won_status = AmoStatus(None, WON_ID, won[0].name.value, 10000, stage=won[0])
        else:
            won_status = AmoStatus(None, WON_ID, t("Handed over to sales"), 10000)
        target.statuses.append(won_status)
        if won:
            places[won[0].id.name] = Place(target, won_status)
        if closer is not None:
            lost_status = AmoStatus(None, LOST_ID, closer.name.value, 11000, stage=closer)
            places[closer.id.name] = Place(target, lost_status)
        else:
            lost_status = AmoStatus(None, LOST_ID, t("Closed - lost"), 11000, renamed=False)
        target.statuses.append(lost_status)
        for stage in lost:
            if lost_modes[stage.id.name] == "reason":
                places[stage.id.name] = Place(target, lost_status, stage.name.value)

    # Descriptions (goal, exit criteria, tasks…), one per level.
    lead_open = pipeline.stages_in(Phase.LEAD)
    for target in amo:
        for status in target.custom:
            assert status.stage is not None
            status.descriptions = _descriptions(pipeline, status.stage, places, t, lead_open)
            for level, text in status.descriptions:
                if len(text) > MAX_DESCRIPTION:
                    diagnostics.append(
                        codes.make(
                            "F704",
                            status.stage.id.span,
                            notes=[
                                _(
                                    "the description holds the goal, the exit criteria, the "
                                    "tasks, the required fields, the SLA and the probability"
                                )
                            ],
                            stage=status.stage.id.name,
                            level=level,
                            length=str(len(text)),
                        )
                    )

    # Status count.
    for target in amo:
        if target.status_count > MAX_STATUSES:
            label = target.name if target.role == "lead" else pipeline.id.name
            note = _("custom statuses: {count}, plus 142 and 143").format(count=len(target.custom))
            if target.unsorted:
                note += _(", plus the «Неразобранное» inbox")
            diagnostics.append(
                codes.make(
                    "F702",
                    pipeline.id.span,
                    notes=[note],
                    pipeline=label,
                    count=str(target.status_count),
                    hint=_(
                        "split the pipeline by segment (M10), map lost outcomes to loss reasons "
                        '(`extra-lost = "reason"`), or put the lead phase into a pipeline of its '
                        'own (`lead-phase = "pipeline"`)'
                    ),
                )
            )

    # What cannot be expressed: colours of outcomes that are not statuses of their own.
    dropped: list[str] = []
    if problem := multiple_won(pipeline, LABEL, _("an amoCRM pipeline has one won status, 142")):
        diagnostics.append(problem)
    for stage in pipeline.stages:
        if stage.is_open or stage.color is None:
            continue
        place = places.get(stage.id.name)
        if place is not None and place.status.system is None:
            continue
        if stage.kind is StageKind.WON:
            what = _("the colour of the won outcome `{stage}`").format(stage=stage.id.name)
            hint = _("amoCRM's status 142 keeps its system colour; remove `color` or ignore this")
        elif place is not None and place.reason is None:
            what = _("the colour of the lost outcome `{stage}`").format(stage=stage.id.name)
            hint = _("amoCRM's status 143 keeps its system colour; remove `color` or ignore this")
        else:
            what = _("the colour of the lost outcome `{stage}`").format(stage=stage.id.name)
            hint = _(
                "it becomes a loss reason under status 143, which has no colour; {option} "
                "makes it a status of its own"
            ).format(
                option=f"`[targets.amocrm.pipelines.{pipeline.id.name}.lost] "
                f'{stage.id.name} = "status"`'
            )
        report = unsupported(emit_options, stage.color.span, target=LABEL, what=what, hint=hint)
        dropped.append(
            t(
                "The colour of the outcome {stage}: in amoCRM it has no status of its own, or "
                "its colour cannot be changed (142/143)."
            ).format(stage=quoted(stage.name.value, russian))
        )
        if report is not None:
            diagnostics.append(report)

    # Loss reasons: the account's list, shared by every pipeline.
    reasons_mode = opts.text("loss-reasons", pipeline)
    reasons: list[tuple[str, str]] = []
    seen_names: set[str] = set()

    def add_reason(ref: str, name: str) -> None:
        if name not in seen_names:
            seen_names.add(name)
            reasons.append((ref, name))

    for stage in lost_outcomes(pipeline):
        mode = lost_modes[stage.id.name]
        if mode == "reason":
            add_reason(f"loss_reason.stage.{stage.id.name}", stage.name.value)
        for reason in outcome_reasons(pipeline, stage):
            add_reason(f"loss_reason.{reason.id.name}", reason.name.value)

    # Custom fields and the statuses each one is required in.
    money = opts.text("money")
    currency = _currency(pipeline, opts, money, diagnostics)
    fields: list[AmoField] = []
    for f in pipeline.fields:
        kind = (
            "monetary"
            if f.type.kind == "money" and money == "monetary"
            else FIELD_TYPES[f.type.kind]
        )
        amo_field = AmoField(f"field.{f.id.name}", field_codes[field_key(f)], f, kind)
        for stage in pipeline.stages:
            if any(r.name == f.id.name for r in stage.requires) and stage.id.name in places:
                place = places[stage.id.name]
                amo_field.required.append((place.pipeline, place.status))
        fields.append(amo_field)

    return PipelinePlan(
        pipeline=pipeline,
        russian=russian,
        lead_mode=lead_mode,
        amo=amo,
        places=places,
        lost_modes=lost_modes,
        reasons=reasons,
        reasons_mode=reasons_mode,
        fields=fields,
        options=opts.effective(pipeline),
        dropped=dropped,
        currency=currency,
    )


_CURRENCY = re.compile(r"[A-Z]{3}")


def _currency(
    pipeline: Pipeline, opts: Options, money: str, diagnostics: list[Diagnostic]
) -> str | None:
    """The ``currency`` option, which amoCRM requires for a ``monetary`` field (crm-apis.md
    §0): with ``money = "monetary"`` and a money field, a missing or malformed one is F902
    (which currency is the account's choice, so funnelc does not guess)."""
    value = opts.get("currency")
    currency = value if isinstance(value, str) else None
    if money != "monetary" or not any(f.type.kind == "money" for f in pipeline.fields):
        return currency
    if currency is None:
        opts_error(
            diagnostics,
            _('`money = "monetary"` needs `currency`: amoCRM requires one for a monetary field'),
            _('set `currency` to the account\'s currency code, e.g. `currency = "RUB"`'),
        )
    elif not _CURRENCY.fullmatch(currency):
        opts_error(
            diagnostics,
            _("`currency` must be a three-letter currency code (ISO 4217), not {value}").format(
                value=f'"{currency}"'
            ),
        )
        return None
    return currency


def opts_error(diagnostics: list[Diagnostic], reason: str, hint: str = "") -> None:
    diagnostics.append(codes.make("F902", None, target=NAME, reason=reason, hint=hint))


def _colour(
    stage: Stage,
    index: int,
    emit_options: EmitOptions,
    opts: Options,
    diagnostics: list[Diagnostic],
) -> str:
    """The palette colour of a status: the stage's own if it is in the palette, else the
    nearest one (F703: an error with ``palette = "strict"``, the default; with ``"nearest"``
    as ``--unsupported`` says), else the default of its phase."""
    if stage.color is None:
        return default_colour(stage, index)
    value = stage.color.value
    if value in PALETTE:
        return value
    nearest = nearest_colour(value, PALETTE)
    strict = opts.text("palette") == "strict"
    severity = Severity.ERROR if strict else severity_for(emit_options)
    if severity is not None:
        diagnostics.append(
            codes.make(
                "F703",
                stage.color.span,
                severity=severity,
                notes=[_("amoCRM's status colours: {colours}").format(colours=" ".join(PALETTE))]
                + ([] if strict else [_("the plan uses `{nearest}`").format(nearest=nearest)]),
                value=stage.color.value,
                nearest=nearest,
            )
        )
    return nearest


def _descriptions(
    pipeline: Pipeline,
    stage: Stage,
    places: Mapping[str, Place],
    t: Translator,
    lead_open: Sequence[Stage],
) -> tuple[tuple[str, str], ...]:
    """The three descriptions of a status, one per amoCRM level (``lead_open``: the open
    stages of the pipeline's lead phase, computed once per pipeline, not once per stage).

    ``newbie`` (a newcomer) gets everything: goal, exit criteria, tasks, required fields, the
    SLA and where a stuck deal goes, the probability, the key-stage mark and, at the ends of a
    lead phase, the lead definition and the acceptance conditions.  ``candidate`` gets the goal
    and the exit criteria; ``master`` the exit criteria only.  A level with nothing to say is
    left out.
    """
    goal = [t("Goal: {text}").format(text=one_line(stage.goal.value))] if stage.goal else []
    exits = (
        [t("Exit criteria:"), *(f"— {one_line(e.value)}" for e in stage.exits)]
        if stage.exits
        else []
    )
    extra: list[str] = []
    if stage.tasks:
        extra += [t("Tasks:"), *(f"— {one_line(task.value)}" for task in stage.tasks)]
    if stage.requires:
        names = [
            t("“{name}”").format(name=f.name.value)
            for ref in stage.requires
            if (f := pipeline.field(ref.name)) is not None
        ]
        extra.append(t("Required fields: {names}").format(names=", ".join(names)))
    target = timeout_target(pipeline, stage)
    if stage.sla is not None:
        russian = t is _texts(True)
        where = _place_text(places, target, t) if target is not None else "—"
        extra.append(
            t("Time in stage: {sla}, then to {where}").format(
                sla=duration_text(stage.sla, russian), where=where
            )
        )
    if stage.probability is not None:
        extra.append(t("Win probability: {value}%").format(value=stage.probability))
    if stage.key:
        extra.append(t("Key stage of the pipeline"))
    lead = pipeline.lead
    if lead is not None and lead_open and stage is lead_open[0] and lead.definition is not None:
        extra.append(t("What a lead is: {text}").format(text=one_line(lead.definition.value)))
    if lead is not None and lead_open and stage is lead_open[-1] and lead.accept:
        extra += [
            t("Conditions for handing over to sales:"),
            *(f"— {one_line(a.value)}" for a in lead.accept),
        ]
    levels = [
        ("newbie", "\n".join(goal + exits + extra)),
        ("candidate", "\n".join(goal + exits)),
        ("master", "\n".join(exits)),
    ]
    return tuple((level, text) for level, text in levels if text)


def _place_text(
    places: Mapping[str, Place],
    stage: Stage,
    t: Translator,
    escape: Callable[[str], str] = str,
) -> str:
    """Where a stage lives in amoCRM, in words.  ``escape`` is applied to every name: plain
    for a status description (amoCRM text), :func:`.markdown.inline` for the manual steps."""
    place = places.get(stage.id.name)
    if place is None:
        return t("“{name}”").format(name=escape(stage.name.value))
    status = t("“{name}”").format(name=escape(place.status.name))
    if place.reason is not None:
        return t("{status} with the loss reason {reason}").format(
            status=status, reason=t("“{name}”").format(name=escape(place.reason))
        )
    return status


# ---- the plan ------------------------------------------------------------------------------


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def plan_requests(plan: PipelinePlan) -> list[dict[str, Any]]:
    """The requests of the import plan of one pipeline: the pre-flight checks, then the steps
    of :func:`.requests.build` for ``diff(empty account, desired)`` — the one builder
    ``funnelc apply`` walks too — serialised with the plan's reference notation, plus what an
    import into an account that has things already needs: ``unless_exists`` on the
    account-wide fields and loss reasons, and a ``merge`` of each field's required statuses
    (a field another pipeline created is reused, and keeps that pipeline's requirements)."""
    from .desired import desired_state
    from .diff import diff
    from .requests import IdRef, build, ref_name
    from .state import EMPTY

    desired = desired_state(CrmAnalysis({plan.pipeline.id.name: plan}, []))
    steps = build(diff(EMPTY, desired), EMPTY, desired)
    out = _checks(plan, desired.loss_reasons != ())
    counts: dict[str, int] = {}
    chunk_of: dict[str, int] = {}
    totals: dict[str, int] = {}
    for step in steps:
        totals[step.kind] = totals.get(step.kind, 0) + 1

    def numbered(kind: str, name: str) -> str:
        counts[kind] = counts.get(kind, 0) + 1
        return name + (f".{counts[kind]}" if totals[kind] > 1 else "")

    names = {p.key: p.name for p in desired.pipelines}
    required: list[dict[str, Any]] = []
    for step in steps:
        path, body = step.rendered()
        item: dict[str, Any] = {"id": "", "purpose": ""}
        if step.kind == "pipelines":
            described = " and ".join(
                f"«{a.name}» ({len(a.custom)} statuses" + (", inbox on)" if a.unsorted else ")")
                for a in plan.amo
            )
            item["id"] = "pipelines"
            item["purpose"] = f"Create {described}; rename the system statuses 142 and 143."
        elif step.kind == "statuses":
            chunk_of[step.subject] = chunk_of.get(step.subject, 0) + 1
            item["id"] = f"statuses.{step.subject}.{chunk_of[step.subject]}"
            item["purpose"] = (
                f"Add the other statuses of «{names[step.subject]}», in order, with their "
                "descriptions."
            )
        elif step.kind == "describe":
            status = step.path[-1]
            assert isinstance(status, IdRef)
            item["id"] = f"descriptions.{ref_name(status)}"
            item["purpose"] = (
                f"Describe the status created with «{names[status.parent]}» (descriptions are "
                "documented only outside a pipeline create)."
            )
        elif step.kind == "loss_reasons":
            item["id"] = numbered(step.kind, "loss_reasons")
            item["purpose"] = (
                "Create the loss reasons the account does not have yet (account-wide; "
                "undocumented write, see notes)."
            )
            item["unless_exists"] = {"from": "check.loss_reasons", "match": "name"}
        elif step.kind == "fields":
            item["id"] = numbered(step.kind, "custom_fields")
            item["purpose"] = (
                "Create the lead custom fields the account does not have yet (account-wide, "
                "matched by code), each required in the statuses whose stage `requires` it."
            )
            item["unless_exists"] = {"from": "check.custom_fields", "match": "code"}
            required += [_merge_item(f) for f in body if f.get("required_statuses")]
        else:  # an import creates only; anything else is a bug of diff or build
            raise AssertionError(f"unexpected {step.kind} step in an import plan")
        item.update(method=step.method, path=path, body=body)
        out.append(_ordered(item))
    for n, chunk in enumerate(_chunks(required, MAX_BATCH), start=1):
        out.append(
            {
                "id": "required_statuses" + (f".{n}" if len(required) > MAX_BATCH else ""),
                "purpose": "Make each field required before a lead may enter the statuses "
                "whose stage `requires` it, keeping other pipelines' requirements (a field "
                "the account had already was not created above).",
                "method": "PATCH",
                "path": "/api/v4/leads/custom_fields",
                "merge": "required_statuses",
                "body": list(chunk),
            }
        )
    return out


def _ordered(item: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "purpose", "method", "path", "unless_exists", "body")
    return {k: item[k] for k in keys if k in item}


def _merge_item(created: dict[str, Any]) -> dict[str, Any]:
    """What every edit of a field must carry (crm-apis.md §0): its ``name``, and for a select
    field its current enums *with their ids* — ``{"$current": "enums"}``, which the pusher
    replaces by the enums it reads back (``GET …/custom_fields/{id}``) right before the edit;
    enums sent without ids would delete the existing ones."""
    edit: dict[str, Any] = {
        "id": {"$ref": f"{created['request_id']}.id"},
        "name": created["name"],
    }
    if created.get("enums"):
        edit["enums"] = {"$current": "enums"}
    edit["required_statuses"] = created["required_statuses"]
    return edit


def _checks(plan: PipelinePlan, create_reasons: bool) -> list[dict[str, Any]]:
    """The plan's pre-flight reads (GET), before any write."""
    names = [a.name for a in plan.amo]
    requests: list[dict[str, Any]] = [
        {
            "id": "check.pipelines",
            "purpose": "Read the account's pipelines: stop if adding this plan's pipelines would "
            "pass the limit of 50, or if one with the same name already exists.",
            "method": "GET",
            "path": "/api/v4/leads/pipelines",
            "paged": True,
            "expect": {
                "count_at_most": MAX_PIPELINES - len(plan.amo),
                "names_absent": names,
            },
        }
    ]
    if create_reasons:
        requests.append(
            {
                "id": "check.loss_reasons",
                "purpose": "Read the account's loss reasons, so that reasons another pipeline "
                "already created are reused instead of duplicated.",
                "method": "GET",
                "path": "/api/v4/leads/loss_reasons",
                "paged": True,
            }
        )
    if plan.reasons:
        requests.append(
            {
                "id": "check.account",
                "purpose": "Read whether the account asks for a loss reason on close "
                "(is_loss_reason_enabled, read-only: no API switches it on; see the manual "
                "steps).",
                "method": "GET",
                "path": "/api/v4/account",
                "warn_unless": {"is_loss_reason_enabled": True},
            }
        )
    if plan.fields:
        requests.append(
            {
                "id": "check.custom_fields",
                "purpose": "Read the account's lead custom fields (every page, limit 250), so "
                "that fields another pipeline already created are reused.",
                "method": "GET",
                "path": "/api/v4/leads/custom_fields",
                "paged": True,
            }
        )
    return requests


def plan_document(project: Project, plan: PipelinePlan) -> dict[str, Any]:
    """The import plan of one pipeline (see ``docs/targets/amocrm.md`` and the schema)."""
    pipeline = plan.pipeline
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
            "base_url": "https://{subdomain}.amocrm.ru",
            "kommo_base_url": "https://{subdomain}.kommo.com",
            "version": "v4",
            "content_type": "application/json",
            "rights": "account administrator (writes to pipelines, statuses and custom fields)",
            "rate_limit": {
                "requests_per_second": 7,
                "on_exceed": "HTTP 429; repeated excess blocks the account (HTTP 403 on every "
                "call)",
            },
            "max_items_per_request": MAX_BATCH,
        },
        "options": plan.options,
        "notes": _notes(plan),
        "manual_steps": f"{pipeline.id.name}.md",
        "requests": plan_requests(plan),
    }


def _notes(plan: PipelinePlan) -> list[str]:
    notes = [
        "Send the requests in order, one at a time, at most 7 per second.",
        'References: {"$ref": "<request_id>.id"} in a body, and {<request_id>.id} in a path, '
        "stand for the id amoCRM returned for the item sent with that request_id in an "
        "earlier reply (or bound by unless_exists). A request_id names the object for good: "
        "pipeline.<key>, status.<pipeline key>.<key>, field.<key>, loss_reason.<key>, with the "
        "keys of funnel.lock.json; `funnelc apply` sends the same requests, resolved from the "
        "lock file.",
        "GET requests with `expect` are checks: stop the plan if the reply does not meet them; "
        "`warn_unless` only warns (and the manual steps say what to do).",
        "paged: read every page (limit=250, follow _links.next) before using the reply. An "
        "empty list answers 204 with no body (crm-apis.md §0): that is an empty list, not an "
        "error.",
        "unless_exists: before sending, drop every item for which the reply of the `from` "
        "request holds an object with the same `match` value, and bind the item's request_id "
        "to that object's id. Custom fields and loss reasons belong to the whole account, so "
        "pipelines share them.",
        "merge: send, for each field, the union of its current required_statuses (as read by "
        "check.custom_fields) and the ones listed, so other pipelines' requirements are kept. "
        'Every field edit carries the field\'s `name`; {"$current": "enums"} stands for the '
        "field's current enums with their ids, read back right before the edit (amoCRM "
        "requires `name`, and enums sent without ids replace the old ones, crm-apis.md §0).",
        "A pipeline create embeds 142, 143 and one custom status, without descriptions: "
        "neither request_id nor descriptions is documented there (crm-apis.md §0). Map that "
        "status by name and order among the editable statuses of the reply, never by `sort`, "
        "which the server renumbers; the other statuses are created with POST …/statuses "
        "(request_id and descriptions documented) and the first one is described by a PATCH "
        "that sends only its descriptions.",
        "[UNCONFIRMED] No batch cap is documented for pipelines, statuses, fields or loss "
        "reasons; this plan sends at most 50 items per request.",
        "[UNCONFIRMED] No maximum length is documented for pipeline and status names; the "
        f"longest name here has {_longest(plan)} characters.",
    ]
    if plan.reasons and plan.reasons_mode == "create":
        notes.append(
            "[UNCONFIRMED] Only GET is documented for /api/v4/leads/loss_reasons; POST is taken "
            "from the official PHP SDK. If it is refused, create the reasons by hand (see the "
            "manual steps)."
        )
    if any(f.required for f in plan.fields):
        notes.append(
            "[UNCONFIRMED] required_statuses never names 142 or 143 here: whether amoCRM "
            "accepts them is not documented."
        )
    if any(f.type == "monetary" for f in plan.fields):
        notes.append(
            "[UNCONFIRMED] `monetary` fields need the paid «Супер-поля» option; amoCRM requires "
            f"their `currency` ({plan.currency}, the `currency` option)."
        )
    if any(f.source.type.kind in ("phone", "email") for f in plan.fields):
        notes.append(
            "Lead fields have no phone or e-mail type (those are contact multitext fields), so "
            "phone and email fields are created as text."
        )
    notes.append(
        "The custom field `code` is the funnel field id in upper case (unique per account in "
        "this build); [UNCONFIRMED] that amoCRM keeps it as sent."
    )
    return notes


def _longest(plan: PipelinePlan) -> int:
    return max(len(name) for a in plan.amo for name in [a.name, *(s.name for s in a.statuses)])


# ---- the target ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AmoCrmTarget(PlanTarget[Analysis]):
    """The ``amocrm`` target (see the module docstring)."""

    name: str = NAME
    description: str = "amoCRM (Kommo) API v4 import plan and manual steps per pipeline"

    label: ClassVar[str] = LABEL


TARGET = AmoCrmTarget()


from .manual import manual_steps  # noqa: E402, F401  (reads this module; PlanTarget uses it)
