"""The project → the desired Bitrix24 portal state, once per build.

:func:`desired_state` reads the target's analysis of the whole build (``analyse`` in this
package: every decision the checks judged, made once) and turns it into a
:class:`~funnelc.targets.bitrix24.state.Portal`.  Keys (the lock file's identities):

- a category: the funnel pipeline's id;
- a stage: the funnel stage's id, or the loss reason's id for a reason that became a stage;
  a preset the funnel has nothing for (an unused LOSE) keeps its code, lowercased, and an
  empty ``name`` (it is not renamed);
- the lead statuses: those of the one pipeline that owns the lead funnel
  (``lead-phase = "statuses"``), or ``None`` when none does;
- a user field: the funnel field's id (the loss-reason field: ``loss_reason``); one per
  entity (``deal``, ``lead``) and per distinct declaration.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from .state import Category, EnumValue, Portal, Semantics, Stage, UserField

if TYPE_CHECKING:
    from funnelc.diagnostics import Diagnostic
    from funnelc.emit import EmitOptions
    from funnelc.model import Project

    from . import Analysis, B24Field, B24Stage, Directory, PipelinePlan


def stage_key(b: B24Stage) -> str:
    if b.stage is not None:
        return b.stage.id.name
    if b.reason is not None:
        return b.reason.id.name
    return b.code.lower()


def _stage(b: B24Stage) -> Stage:
    return Stage(
        key=stage_key(b),
        status_id=b.code,
        name=b.name if b.renamed else "",
        sort=b.sort,
        semantics=Semantics(b.semantics),
        color=b.color,
        system=b.system,
    )


def _stages(directory: Directory) -> tuple[Stage, ...]:
    return tuple(_stage(b) for b in directory.stages)


def field_key(f: B24Field) -> str:
    return f.source.id.name if f.source is not None else "loss_reason"


def _field(f: B24Field, entity: str) -> UserField:
    return UserField(
        key=field_key(f),
        entity=entity,
        field_name=f.name,
        label=f.label,
        user_type=f.type,
        multiple=f.multiple,
        values=tuple(EnumValue(v, v, 10 * (i + 1)) for i, v in enumerate(f.values)),
        settings=tuple(sorted(f.settings.items())),
        merge_list=f.merge_list,
    )


def desired_state(analysis: Analysis) -> Portal:
    """The portal the funnels of the build describe (ids all ``None``).  Linear in the build."""
    categories: list[Category] = []
    lead: tuple[Stage, ...] | None = None
    fields: dict[tuple[str, str], UserField] = {}
    for funnel_id, plan in analysis.plans.items():
        categories.append(
            Category(
                key=funnel_id,
                name=plan.pipeline.name.value,
                sort=int(str(plan.options["category-sort"])),
                stages=_stages(plan.deal),
            )
        )
        if plan.lead is not None and plan.lead_mode == "statuses":
            lead = _stages(plan.lead)
        for f in plan.fields:
            for entity in f.entities:
                user_field = _field(f, entity)
                old = fields.get((entity, user_field.key))
                if old is None:
                    fields[(entity, user_field.key)] = user_field
                elif old.merge_list:
                    extra = [
                        v for v in user_field.values if v.value not in {o.value for o in old.values}
                    ]
                    values = (
                        *old.values,
                        *(
                            EnumValue(v.value, v.value, 10 * (len(old.values) + i + 1))
                            for i, v in enumerate(extra)
                        ),
                    )
                    fields[(entity, user_field.key)] = replace(old, values=values)
    # Deal fields, then lead fields, each sorted 100, 110, … in the order they first appear
    # (as each pipeline's import plan sorts its own).
    ordered: list[UserField] = []
    for entity in ("deal", "lead"):
        mine = [f for (e, _k), f in fields.items() if e == entity]
        ordered += [replace(f, sort=100 + 10 * i) for i, f in enumerate(mine)]
    return Portal(categories=tuple(categories), lead_statuses=lead, fields=tuple(ordered))


def of_project(project: Project, options: EmitOptions) -> tuple[Portal, list[Diagnostic]]:
    """The desired state of ``project`` and every problem the target finds with it (the
    same diagnostics as ``check``; with an error, the state is not to be applied)."""
    from . import TARGET

    analysis = TARGET.analysis(project, options)
    return desired_state(analysis), analysis.diagnostics


def pipeline_state(plan: PipelinePlan) -> Portal:
    """The part of the desired portal one pipeline's import plan makes: its category, the
    lead statuses when it owns the lead funnel, and its user fields (sorted 100, 110, … in
    the order the pipeline declares them, per entity)."""
    lead = _stages(plan.lead) if plan.lead is not None and plan.lead_mode == "statuses" else None
    fields: list[UserField] = []
    for entity in ("deal", "lead"):
        mine = [f for f in plan.fields if entity in f.entities]
        fields += [replace(_field(f, entity), sort=100 + 10 * i) for i, f in enumerate(mine)]
    category = Category(
        key=plan.pipeline.id.name,
        name=plan.pipeline.name.value,
        sort=int(str(plan.options["category-sort"])),
        stages=_stages(plan.deal),
    )
    return Portal(categories=(category,), lead_statuses=lead, fields=tuple(fields))
