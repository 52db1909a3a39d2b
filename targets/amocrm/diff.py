"""``diff(current, desired) -> [Operation]`` for amoCRM (operations: ``targets/crm_ops.py``).

Matching (:func:`funnelc.targets.crm_ops.match`): an object of the current state is the
desired object with the same ``key`` (the lock file's identity); failing that, a pipeline or
field with the same name (or field ``code``) that funnelc does not manage yet is adopted;
statuses 142 and 143 always match by kind, and a status funnelc does not manage yet is adopted
by name.  Then:

- a desired pipeline, status, field or loss reason with no match is **created** (a pipeline's
  create carries its statuses);
- a matched one whose name differs is **renamed** (142/143 included: they are never
  deleted), a status whose colour differs is **recoloured**, descriptions and the inbox switch
  are **changed**;
- open statuses out of order are **reordered** — by *order*, never by comparing sort numbers
  (the server renumbers them), and only the fewest statuses that must move;
- a field whose name, enums or required statuses differ gets one **field change** (the
  request sends the name and every enum with its id); a changed ``type`` is a **conflict**;
  an enum value the funnel no longer has is a **delete** of that value (an enum is known by
  its value: a renamed value is a new one plus a delete), held like any delete without
  ``--allow-delete`` or while leads hold it — a held value is not a pending change;
- a current object that funnelc manages (it has a key) and the funnels no longer have is
  **deleted**: statuses of a managed pipeline (unless system), pipelines, fields and loss
  reasons with a key.  Objects funnelc never made (key ``""``) are left alone, except the
  unmatched statuses of a pipeline funnelc manages.  Whether a status holds leads is not a
  matter of state: ``funnelc plan`` checks it before any delete.

Operations come in the order they can be applied: pipelines created, then statuses created,
renames, recolours, changes, reorders, then fields and loss reasons, then deletes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from funnelc.i18n import _

from ..crm_ops import (
    AttributeChange,
    Change,
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
    moved,
)
from .state import Account, Field, LossReason, Pipeline, Status, StatusKind


def _key(obj: Pipeline | Status | Field | LossReason) -> str:
    return obj.key


def _unmanaged_name(obj: Pipeline | Field | LossReason) -> str | None:
    return obj.name if not obj.key else None


def diff(current: Account, desired: Account) -> list[Operation]:
    """The operations that turn ``current`` into ``desired`` (see the module docstring)."""
    creates: list[Operation] = []
    edits: list[Operation] = []
    reorders: list[Operation] = []
    fields: list[Operation] = []
    deletes: list[Operation] = []

    pipelines = match(
        current.pipelines,
        desired.pipelines,
        [(_key, _key), (_unmanaged_name, lambda p: p.name)],
    )
    for p in pipelines.created:
        creates.append(Create(Ref(Entity.PIPELINE, p.key), p, _("the funnels have this pipeline")))
    for now, want in pipelines.pairs:
        ref = Ref(Entity.PIPELINE, want.key, id=now.id)
        if now.name != want.name:
            edits.append(Rename(ref, now.name, want.name, _("the pipeline's name changed")))
        if now.is_unsorted_on != want.is_unsorted_on:
            edits.append(
                Change(
                    ref,
                    "is_unsorted_on",
                    now.is_unsorted_on,
                    want.is_unsorted_on,
                    _("the inbox (Неразобранное) is switched"),
                )
            )
        _statuses(now, want, creates, edits, reorders, deletes)
    for p in pipelines.removed:
        if p.key:
            deletes.append(
                Delete(
                    Ref(Entity.PIPELINE, p.key, id=p.id),
                    p.name,
                    _("the funnels no longer have this pipeline"),
                )
            )

    fields.extend(_fields(current.fields, desired.fields, deletes))
    if desired.manage_loss_reasons:
        fields.extend(_reasons(current.loss_reasons, desired.loss_reasons, deletes))
    return [*creates, *edits, *reorders, *fields, *deletes]


def _statuses(
    now: Pipeline,
    want: Pipeline,
    creates: list[Operation],
    edits: list[Operation],
    reorders: list[Operation],
    deletes: list[Operation],
) -> None:
    def system(s: Status) -> str | None:
        return s.kind.value if s.system else None

    def unmanaged(s: Status) -> str | None:
        return s.name if not s.key and not s.system else None

    matched = match(
        now.statuses,
        want.statuses,
        [(system, system), (_key, _key), (unmanaged, lambda s: s.name)],
    )
    # Order: only open statuses move; compare the current order with the desired one.
    open_now = sorted(
        (b for b, a in matched.pairs if b.kind is StatusKind.OPEN), key=lambda s: (s.sort, s.id)
    )
    key_of = {id(b): a.key for b, a in matched.pairs}
    paired_open = {a.key for b, a in matched.pairs if a.kind is StatusKind.OPEN}
    desired_order = [s.key for s in want.open if s.key in paired_open]
    to_move = moved([key_of[id(b)] for b in open_now], desired_order)
    current_sort = {a.key: b.sort for b, a in matched.pairs if a.kind is StatusKind.OPEN}
    targets, to_move = _target_sorts([s.key for s in want.open], current_sort, to_move)

    for s in matched.created:
        if s.system:  # 142/143 exist in every pipeline; a current state always has them
            continue
        placed = replace(s, sort=targets.get(s.key, s.sort))
        creates.append(
            Create(Ref(Entity.STAGE, s.key, want.key), placed, _("the funnel has this stage"))
        )
    for before, after in matched.pairs:
        ref = Ref(Entity.STAGE, after.key, want.key, before.id)
        if after.name and before.name != after.name:  # "": a 143 the funnel does not rename
            edits.append(Rename(ref, before.name, after.name, _("the stage's name changed")))
        if not after.system and before.color != after.color and after.color is not None:
            edits.append(Recolour(ref, before.color, after.color, _("the stage's colour changed")))
        if not after.system and _texts(before) != _texts(after):
            edits.append(
                Change(
                    ref,
                    "descriptions",
                    _texts(before),
                    _texts(after),
                    _("the stage's goal, exit criteria or tasks changed"),
                )
            )
    for before, after in matched.pairs:
        if after.key in to_move:
            reorders.append(
                Reorder(
                    Ref(Entity.STAGE, after.key, want.key, before.id),
                    before.sort,
                    targets[after.key],
                    _("the stage moved in the funnel"),
                )
            )
    for s in matched.removed:
        if s.system:
            continue
        deletes.append(
            Delete(
                Ref(Entity.STAGE, s.key, want.key, s.id),
                s.name,
                _("the funnel no longer has this stage"),
            )
        )


FIRST_SORT = 10
"""The inbox's sort: editable statuses sort above it."""
WON_SORT = 10000
"""Status 142's sort: editable statuses sort below it."""


def _target_sorts(
    order: Sequence[str], current: dict[str, int], to_move: set[str]
) -> tuple[dict[str, int], set[str]]:
    """The sort to send for each status that moves or is created (``order``: the desired open
    statuses; ``current``: the server's sorts of those that exist).  A status that stays keeps
    its number; the others get numbers strictly between their new neighbours' *current*
    numbers, so one PATCH per moved status suffices.  Where there is no room, every open
    status is renumbered 20, 30, … (and all that change move).  Returns the sorts and the
    statuses to move."""
    fixed = {k for k in current if k not in to_move}
    targets: dict[str, int] = {}
    i = 0
    while i < len(order):
        if order[i] in fixed:
            targets[order[i]] = current[order[i]]
            i += 1
            continue
        j = i
        while j < len(order) and order[j] not in fixed:
            j += 1
        low = targets[order[i - 1]] if i else FIRST_SORT
        high = current[order[j]] if j < len(order) else WON_SORT
        run = order[i:j]
        if high - low - 1 < len(run):
            spread = {key: 20 + 10 * n for n, key in enumerate(order)}
            return spread, {k for k in current if current[k] != spread[k]}
        for n, key in enumerate(run):
            targets[key] = low + (high - low) * (n + 1) // (len(run) + 1)
        i = j
    return targets, to_move


def _texts(status: Status) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((d.level, d.text) for d in status.descriptions))


def _fields(
    current: Sequence[Field], desired: Sequence[Field], deletes: list[Operation]
) -> list[Operation]:
    out: list[Operation] = []
    matched = match(
        current,
        desired,
        [
            (_key, _key),
            (lambda f: f.code if not f.key else None, lambda f: f.code),
            (_unmanaged_name, lambda f: f.name),
        ],
    )
    for f in matched.created:
        out.append(Create(Ref(Entity.FIELD, f.key), f, _("the funnels have this field")))
    for before, after in matched.pairs:
        ref = Ref(Entity.FIELD, after.key, id=before.id)
        if before.type != after.type:
            out.append(
                Conflict(
                    ref,
                    "type",
                    before.type,
                    after.type,
                    _("amoCRM cannot change a field's type"),
                    _(
                        "give the field a new id in the funnel (a new field is created) and "
                        "move the values by hand, or keep the old type"
                    ),
                )
            )
            continue
        changes: list[AttributeChange] = []
        if before.name != after.name:
            changes.append(AttributeChange("name", before.name, after.name))
        values, dropped = list_values(
            "enums",
            [(e.value, e.id) for e in before.enums],
            [e.value for e in after.enums],
            after.key,
        )
        if values is not None:
            changes.append(values)
        if set(before.required) != set(after.required):
            changes.append(AttributeChange("required_statuses", before.required, after.required))
        if after.currency is not None and before.currency != after.currency:
            changes.append(AttributeChange("currency", before.currency, after.currency))
        if changes:
            out.append(FieldChange(ref, tuple(changes), before, after, _("the field changed")))
        deletes.extend(dropped)
    for f in matched.removed:
        if f.key:
            deletes.append(
                Delete(
                    Ref(Entity.FIELD, f.key, id=f.id),
                    f.name,
                    _("the funnels no longer have this field"),
                )
            )
    return out


def _reasons(
    current: Sequence[LossReason], desired: Sequence[LossReason], deletes: list[Operation]
) -> list[Operation]:
    out: list[Operation] = []
    matched = match(current, desired, [(_key, _key), (_unmanaged_name, lambda r: r.name)])
    for r in matched.created:
        out.append(
            Create(Ref(Entity.LOSS_REASON, r.key), r, _("the funnels have this loss reason"))
        )
    for before, after in matched.pairs:
        if before.name != after.name:
            out.append(
                Rename(
                    Ref(Entity.LOSS_REASON, after.key, id=before.id),
                    before.name,
                    after.name,
                    _("the loss reason's name changed"),
                )
            )
    for r in matched.removed:
        if r.key:
            deletes.append(
                Delete(
                    Ref(Entity.LOSS_REASON, r.key, id=r.id),
                    r.name,
                    _("the funnels no longer have this loss reason"),
                )
            )
    return out


def notices(current: Account, desired: Account) -> list[str]:
    """What ``funnelc plan`` should say besides the operations: amoCRM asks for a loss reason
    on close only when the account's read-only ``is_loss_reason_enabled`` is on (crm-apis.md
    §0), and no API switches it on."""
    out: list[str] = []
    if desired.loss_reasons and current.loss_reasons_enabled is False:
        out.append(
            _(
                "loss reasons are off in this account (is_loss_reason_enabled): amoCRM will not "
                "ask for one when a deal is closed; turn them on in the account's settings"
            )
        )
    return out
