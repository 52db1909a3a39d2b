"""The project → the desired amoCRM account state, once per build.

:func:`desired_state` reads the target's analysis of the whole build (``analyse`` in this
package: every decision the checks judged, made once) and turns it into a
:class:`~funnelc.targets.amocrm.state.Account`.  Keys (the lock file's identities):

- a pipeline: the funnel pipeline's id; its lead pipeline (``lead-phase = "pipeline"``)
  ``<id>.lead``;
- a status: the funnel stage's id; 142 is ``won`` and 143 ``lost`` (their kind is their
  identity: every pipeline has exactly one of each); a 143 the funnel does not rename has the
  name ``""`` (keep whatever it is called);
- a field: the field's id (one account field per distinct declaration, the first one wins);
- a loss reason: the reason's id, or ``stage.<outcome id>`` for a lost outcome that became a
  reason (one per distinct name, account-wide).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from .state import Account, Description, Enum, Field, LossReason, Pipeline, Status, StatusKind
from .state import StatusRef as Ref

if TYPE_CHECKING:
    from funnelc.diagnostics import Diagnostic
    from funnelc.emit import EmitOptions
    from funnelc.model import Project

    from . import AmoPipeline, AmoStatus, Analysis

DEFAULT_CURRENCY = "RUB"


def pipeline_key(funnel_id: str, ref: str) -> str:
    """The key of the amoCRM pipeline a plan calls ``ref`` (``pipeline`` or ``pipeline.lead``)."""
    return funnel_id + ref.removeprefix("pipeline")


def status_key(status: AmoStatus) -> str:
    if status.system == 142:
        return "won"
    if status.system == 143:
        return "lost"
    assert status.ref is not None
    return status.ref.removeprefix("status.")


def _status(status: AmoStatus) -> Status:
    kind = {142: StatusKind.WON, 143: StatusKind.LOST}.get(status.system or 0, StatusKind.OPEN)
    return Status(
        key=status_key(status),
        name=status.name if status.renamed else "",
        sort=status.sort,
        color=status.color,
        kind=kind,
        descriptions=tuple(Description(level, text) for level, text in status.descriptions),
    )


def _pipeline(funnel_id: str, amo: AmoPipeline) -> Pipeline:
    return Pipeline(
        key=pipeline_key(funnel_id, amo.ref),
        name=amo.name,
        sort=amo.sort,
        is_main=False,
        is_unsorted_on=amo.unsorted,
        statuses=tuple(_status(s) for s in amo.statuses),
    )


def desired_state(analysis: Analysis, currency: str = DEFAULT_CURRENCY) -> Account:
    """The account the funnels of the build describe (ids all ``None``).  Linear in the build."""
    pipelines: list[Pipeline] = []
    fields: dict[str, Field] = {}
    required: dict[str, list[Ref]] = {}
    reasons: dict[str, LossReason] = {}
    manage_reasons = True
    for funnel_id, plan in analysis.plans.items():
        pipelines.extend(_pipeline(funnel_id, amo) for amo in plan.amo)
        if plan.reasons_mode != "create":
            manage_reasons = False
        for ref, name in plan.reasons:
            if name not in reasons:
                key = ref.removeprefix("loss_reason.")
                reasons[name] = LossReason(key, name, 10 * (len(reasons) + 1))
        for f in plan.fields:
            key = f.source.id.name
            if key not in fields:
                options = f.source.type.options
                fields[key] = Field(
                    key=key,
                    name=f.source.name.value,
                    type=f.type,
                    code=f.code,
                    sort=500 + 10 * len(fields),
                    enums=tuple(
                        Enum(value, value, 10 * (i + 1)) for i, value in enumerate(options)
                    ),
                    currency=(plan.currency or currency) if f.type == "monetary" else None,
                )
            wanted = required.setdefault(key, [])
            for amo, status in f.required:
                place = Ref(pipeline_key(funnel_id, amo.ref), status_key(status))
                if place not in wanted:
                    wanted.append(place)
    return Account(
        pipelines=tuple(pipelines),
        fields=tuple(
            replace(f, required=tuple(required.get(key, ()))) for key, f in fields.items()
        ),
        loss_reasons=tuple(reasons.values()) if manage_reasons else (),
        manage_loss_reasons=manage_reasons,
    )


def of_project(project: Project, options: EmitOptions) -> tuple[Account, list[Diagnostic]]:
    """The desired state of ``project`` and every problem the target finds with it (the
    same diagnostics as ``check``; with an error, the state is not to be applied)."""
    from . import TARGET

    analysis = TARGET.analysis(project, options)
    return desired_state(analysis), analysis.diagnostics
