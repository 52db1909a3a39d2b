"""``diff(current, desired) -> [Operation]`` for Bitrix24 (operations: ``targets/crm_ops.py``).

Matching (:func:`funnelc.targets.crm_ops.match`): by ``key`` (the lock file's identity);
failing that, a stage by its ``STATUS_ID`` code (that is how the presets NEW, WON, LOSE,
CONVERTED, JUNK are found), a category funnelc does not manage yet by name, a user field by
entity and ``FIELD_NAME``.  Then:

- desired objects with no match are **created** (a category's create carries its stages; the
  requests rename or delete the presets the portal seeds it with);
- a stage whose name differs is **renamed**, whose colour differs **recoloured**, whose sort
  differs **reordered** (Bitrix24 stores sorts as sent; every update sends SORT with NAME);
  a category's name and sort likewise;
- a stage matched by key whose ``STATUS_ID`` or ``SEMANTICS`` differs is a **conflict**: both
  are immutable, and deleting the stage would lose its deals;
- a user field whose label, mandatory flag or list values differ gets one **field change**;
  a changed ``USER_TYPE_ID`` or ``MULTIPLE`` is a conflict; a ``LIST`` value the funnel no
  longer has is a **delete** of that item (a renamed value is a new one plus a delete), held
  like any delete without ``--allow-delete`` or while deals hold it — a held value is not a
  pending change; a shared list (``merge_list``, the loss-reason field) is never shrunk;
- in a directory funnelc manages, every stage the funnels no longer have is **deleted**,
  except system stages (renamed, never deleted); categories and fields only when funnelc
  made them (they have a key).  Whether a stage holds deals is checked by ``funnelc plan``.

Operations come in the order they can be applied: the updates of success and failure stages
(they move above every new in-progress stage), creates, renames, recolours and reorders,
fields, deletes.  After a category is created, read it back (or take
:func:`~funnelc.targets.bitrix24.state.seeded`) and diff again: the portal seeds its presets.
"""

from __future__ import annotations

from collections.abc import Sequence

from funnelc.i18n import _

from ..crm_ops import (
    AttributeChange,
    Conflict,
    Create,
    Delete,
    Entity,
    FieldChange,
    Operation,
    Recolour,
    Ref,
    Rename,
    Reorder,
    list_values,
    match,
)
from .state import LEAD, Category, Portal, Semantics, Stage, UserField


def _key(obj: Category | Stage | UserField) -> str:
    return obj.key


def diff(current: Portal, desired: Portal) -> list[Operation]:
    """The operations that turn ``current`` into ``desired`` (see the module docstring)."""
    creates: list[Operation] = []
    edits: list[Operation] = []
    reorders: list[Operation] = []
    deletes: list[Operation] = []

    categories = match(
        current.categories,
        desired.categories,
        [(_key, _key), (lambda c: c.name if not c.key else None, lambda c: c.name)],
    )
    for c in categories.created:
        creates.append(Create(Ref(Entity.PIPELINE, c.key), c, _("the funnels have this pipeline")))
    for now, want in categories.pairs:
        ref = Ref(Entity.PIPELINE, want.key, id=now.id)
        if now.name != want.name:
            edits.append(Rename(ref, now.name, want.name, _("the pipeline's name changed")))
        if now.sort != want.sort:
            reorders.append(Reorder(ref, now.sort, want.sort, _("the pipeline moved")))
        _stages(now.stages, want.stages, want.key, creates, edits, reorders, deletes)
    for c in categories.removed:
        if c.key:
            deletes.append(
                Delete(
                    Ref(Entity.PIPELINE, c.key, id=c.id),
                    c.name,
                    _("the funnels no longer have this pipeline"),
                )
            )
    if desired.lead_statuses is not None:
        _stages(
            current.lead_statuses or (),
            desired.lead_statuses,
            LEAD,
            creates,
            edits,
            reorders,
            deletes,
        )
    fields = _fields(current.fields, desired.fields, deletes)
    # Success and failure stages move up first: Bitrix24 refuses an in-progress stage created
    # after the success stage (the presets WON 60, LOSE 70 sit among the new stages' sorts).
    ends = [op for op in [*edits, *reorders] if _is_end(op, current, desired)]
    rest = [op for op in [*edits, *reorders] if op not in ends]
    return [*ends, *creates, *rest, *fields, *deletes]


def _is_end(op: Operation, current: Portal, desired: Portal) -> bool:
    if op.ref.entity is not Entity.STAGE or isinstance(op, Conflict):
        return False
    category = desired.category(op.ref.parent or "")
    if op.ref.parent == LEAD:
        directory = desired.lead_statuses or ()
    else:
        directory = category.stages if category is not None else ()
    stage = next((s for s in directory if s.key == op.ref.key), None)
    return stage is not None and stage.semantics is not Semantics.PROCESS


def _stages(
    current: Sequence[Stage],
    desired: Sequence[Stage],
    parent: str,
    creates: list[Operation],
    edits: list[Operation],
    reorders: list[Operation],
    deletes: list[Operation],
) -> None:
    matched = match(
        current,
        desired,
        [(_key, _key), (lambda s: s.status_id if not s.key else None, lambda s: s.status_id)],
    )
    for s in matched.created:
        creates.append(Create(Ref(Entity.STAGE, s.key, parent), s, _("the funnel has this stage")))
    for before, after in matched.pairs:
        ref = Ref(Entity.STAGE, after.key, parent, before.id)
        if before.status_id != after.status_id:
            edits.append(
                Conflict(
                    ref,
                    "STATUS_ID",
                    before.status_id,
                    after.status_id,
                    _("Bitrix24 cannot change a stage's STATUS_ID"),
                    _(
                        "keep the old code with the `status-ids` option of the target, or give "
                        "the stage a new id in the funnel and move its deals by hand"
                    ),
                )
            )
            continue
        if before.semantics != after.semantics:
            edits.append(
                Conflict(
                    ref,
                    "SEMANTICS",
                    before.semantics.value,
                    after.semantics.value,
                    _("Bitrix24 cannot change whether a stage is in progress, won or lost"),
                    _(
                        "give the stage a new id in the funnel (a new stage is created), move "
                        "its deals by hand, then remove the old one"
                    ),
                )
            )
            continue
        if after.name and before.name != after.name:  # "": a preset that keeps its name
            edits.append(Rename(ref, before.name, after.name, _("the stage's name changed")))
        if after.color is not None and before.color != after.color:
            edits.append(Recolour(ref, before.color, after.color, _("the stage's colour changed")))
        if before.sort != after.sort:
            reorders.append(
                Reorder(ref, before.sort, after.sort, _("the stage moved in the funnel"))
            )
    for s in matched.removed:
        if s.system:
            continue
        deletes.append(
            Delete(
                Ref(Entity.STAGE, s.key or s.status_id, parent, s.id),
                s.name,
                _("the funnel no longer has this stage"),
            )
        )


def _fields(
    current: Sequence[UserField], desired: Sequence[UserField], deletes: list[Operation]
) -> list[Operation]:
    out: list[Operation] = []
    matched = match(
        current,
        desired,
        [
            (lambda f: (f.entity, f.key) if f.key else None, lambda f: (f.entity, f.key)),
            (
                lambda f: (f.entity, f.field_name) if not f.key else None,
                lambda f: (f.entity, f.field_name),
            ),
        ],
    )
    for f in matched.created:
        out.append(Create(Ref(Entity.FIELD, f.key, f.entity), f, _("the funnels have this field")))
    for before, after in matched.pairs:
        ref = Ref(Entity.FIELD, after.key, after.entity, before.id)
        immutable = [
            (name, b, a)
            for name, b, a in (
                ("USER_TYPE_ID", before.user_type, after.user_type),
                ("MULTIPLE", before.multiple, after.multiple),
            )
            if b != a
        ]
        if immutable:
            name, b, a = immutable[0]
            out.append(
                Conflict(
                    ref,
                    name,
                    b,
                    a,
                    _("Bitrix24 cannot change a user field's type"),
                    _(
                        "give the field a new id in the funnel (a new field is created) and "
                        "move the values by hand, or keep the old type"
                    ),
                )
            )
            continue
        changes: list[AttributeChange] = []
        if before.label != after.label:
            changes.append(AttributeChange("LABEL", before.label, after.label))
        if before.mandatory != after.mandatory:
            changes.append(AttributeChange("MANDATORY", before.mandatory, after.mandatory))
        now_values = tuple(v.value for v in before.values)
        want_values = tuple(v.value for v in after.values)
        if after.merge_list:
            want_values = (*now_values, *(v for v in want_values if v not in now_values))
        values, dropped = list_values(
            "LIST",
            [(v.value, v.id) for v in before.values],
            want_values,
            f"{after.entity}/{after.key}",
        )
        if values is not None:
            changes.append(values)
        if changes:
            out.append(FieldChange(ref, tuple(changes), before, after, _("the field changed")))
        deletes.extend(dropped)
    for f in matched.removed:
        if f.key:
            deletes.append(
                Delete(
                    Ref(Entity.FIELD, f.key, f.entity, f.id),
                    f.label,
                    _("the funnels no longer have this field"),
                )
            )
    return out
