"""Operations → Bitrix24 REST calls, for ``funnelc apply``.

:func:`calls_for` turns one operation of :func:`funnelc.targets.bitrix24.diff.diff` into REST
calls (method + JSON parameters, sent to the inbound webhook, or put into a ``batch`` of at
most 50 where no call needs an earlier one's reply), given the CRM ids known so far
(:data:`Ids`); :func:`bind` reads the id a reply gives back.

What the vendor's server code says (``../shared/crm-apis.md`` §0), and these calls do:

- every ``crm.status.update`` sends ``NAME`` *and* ``SORT`` (an update without SORT resets it
  to 10), and ``COLOR``; so a rename, a recolour and a reorder of one stage are the same call;
- ids are literal values: a category is created by a call of its own and its id read back
  (no ``$result`` inside a longer value, which the server replaces greedily);
- a new category is seeded with the presets (:data:`~.state.DEAL_PRESETS`): after
  ``crm.category.add``, read the category back (or take :func:`~.state.seeded`) and diff
  again, which renames NEW/WON/LOSE and deletes the others;
- system stages are never deleted; a delete sends ``params[FORCED]=Y`` only for presets;
  whether a stage holds deals is for ``funnelc plan`` to check (the server refuses anyway);
- ``STATUS_ID`` and ``SEMANTICS`` are immutable: a conflict makes no call;
- a user field's ``LIST`` is edited by item id (items without an id are added).

This module is the API's side only: no HTTP, no retries, no secrets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..crm_ops import (
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
)
from .state import FIELD_PREFIX, LEAD, Category, Portal, Stage, UserField

IdKey = tuple[str, str, str]
"""(entity, parent key or ``""``, key): ``("category", "", "b2b")``, ``("stage", "b2b",
"qualified")`` (lead statuses: parent ``"lead"``), ``("field", "deal", "budget")``."""
Ids = Mapping[IdKey, int]


@dataclass(frozen=True, slots=True)
class Call:
    """One REST call: ``method`` and its parameters (sent as JSON)."""

    method: str
    params: dict[str, Any]
    operation: Operation


class MissingId(LookupError):
    """A call needs the id of an object neither in the lock file nor created yet."""


def _id(ids: Ids, entity: str, parent: str | None, key: str) -> int:
    try:
        return ids[(entity, parent or "", key)]
    except KeyError:
        raise MissingId(f"no id for {entity} {parent or ''}/{key}") from None


def _ref_id(ids: Ids, ref: Ref, entity: str) -> int:
    if isinstance(ref.id, int):
        return ref.id
    return _id(ids, entity, ref.parent, ref.key)


def _entity_id(ref: Ref, ids: Ids) -> str:
    if ref.parent == LEAD:
        return "STATUS"
    return f"DEAL_STAGE_{_id(ids, 'category', None, ref.parent or '')}"


def _directory(portal: Portal, parent: str | None) -> tuple[Stage, ...]:
    if parent == LEAD:
        return portal.lead_statuses or ()
    category = portal.category(parent or "")
    return category.stages if category is not None else ()


def _stage(portal: Portal, ref: Ref) -> Stage | None:
    return next((s for s in _directory(portal, ref.parent) if s.key == ref.key), None)


def _status_fields(stage: Stage, name: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"NAME": name, "SORT": stage.sort}
    if stage.color is not None:
        fields["COLOR"] = stage.color
    return fields


def _field_add(f: UserField) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "FIELD_NAME": f.field_name,
        "USER_TYPE_ID": f.user_type,
        "XML_ID": f.key,
        "LABEL": f.label,
        "SORT": f.sort,
        "MULTIPLE": "Y" if f.multiple else "N",
        "MANDATORY": "Y" if f.mandatory else "N",
    }
    if f.values:
        fields["LIST"] = [{"VALUE": v.value, "SORT": v.sort} for v in f.values]
    if f.settings:
        fields["SETTINGS"] = dict(f.settings)
    return fields


def calls_for(op: Operation, current: Portal, desired: Portal, ids: Ids) -> list[Call]:
    """The calls that make ``op`` (a conflict makes none)."""
    ref = op.ref
    if isinstance(op, Conflict):
        return []
    if isinstance(op, Create):
        thing = op.desired
        if isinstance(thing, Category):
            params = {"entityTypeId": 2, "fields": {"name": thing.name, "sort": thing.sort}}
            return [Call("crm.category.add", params, op)]
        if isinstance(thing, Stage):
            fields = {
                "ENTITY_ID": _entity_id(ref, ids),
                "STATUS_ID": thing.status_id,
                **_status_fields(thing, thing.name),
            }
            if thing.semantics.value:
                fields["SEMANTICS"] = thing.semantics.value
            return [Call("crm.status.add", {"fields": fields}, op)]
        if isinstance(thing, UserField):
            method = f"crm.{thing.entity}.userfield.add"
            return [Call(method, {"fields": _field_add(thing)}, op)]
        raise TypeError(type(thing))
    if ref.entity is Entity.PIPELINE:
        cid = _ref_id(ids, ref, "category")
        if isinstance(op, Rename | Reorder):
            category = desired.category(ref.key)
            assert category is not None
            fields = {"name": category.name, "sort": category.sort}
            params = {"entityTypeId": 2, "id": cid, "fields": fields}
            return [Call("crm.category.update", params, op)]
        if isinstance(op, Delete):
            return [Call("crm.category.delete", {"entityTypeId": 2, "id": cid}, op)]
    if ref.entity is Entity.STAGE:
        sid = _ref_id(ids, ref, "stage")
        if isinstance(op, Rename | Recolour | Reorder):
            want = _stage(desired, ref)
            now = _stage(current, ref)
            assert want is not None
            name = want.name or (now.name if now is not None else "")
            params = {"id": sid, "fields": _status_fields(want, name)}
            return [Call("crm.status.update", params, op)]
        if isinstance(op, Delete):
            return [Call("crm.status.delete", {"id": sid, "params": {"FORCED": "Y"}}, op)]
    if ref.entity is Entity.FIELD:
        method = f"crm.{ref.parent}.userfield"
        fid = _ref_id(ids, ref, "field")
        if isinstance(op, FieldChange):
            before, after = op.current, op.desired
            assert isinstance(before, UserField) and isinstance(after, UserField)
            edit: dict[str, Any] = {}
            for change in op.changes:
                if change.attribute == "LABEL":
                    edit["EDIT_FORM_LABEL"] = after.label
                    edit["LIST_COLUMN_LABEL"] = after.label
                elif change.attribute == "MANDATORY":
                    edit["MANDATORY"] = "Y" if after.mandatory else "N"
                elif change.attribute == "LIST":
                    have = {v.value: v.id for v in before.values}
                    assert isinstance(change.after, tuple)
                    values = tuple(str(v) for v in change.after)
                    edit["LIST"] = [
                        {"VALUE": value, "SORT": 10 * (n + 1)}
                        | ({"ID": have[value]} if have.get(value) is not None else {})
                        for n, value in enumerate(values)
                    ]
            return [Call(f"{method}.update", {"id": fid, "fields": edit}, op)]
        if isinstance(op, Delete):
            return [Call(f"{method}.delete", {"id": fid}, op)]
    raise ValueError(f"no call for {op!r}")


def bind(call: Call, result: Any) -> dict[IdKey, int]:
    """The id the ``result`` of ``call`` gives for what it created."""
    op = call.operation
    if not isinstance(op, Create):
        return {}
    thing = op.desired
    if isinstance(thing, Category):
        return {("category", "", thing.key): int(result["category"]["id"])}
    if isinstance(thing, Stage):
        return {("stage", op.ref.parent or "", thing.key): int(result)}
    if isinstance(thing, UserField):
        return {("field", thing.entity, thing.key): int(result)}
    return {}


def full_field_name(f: UserField) -> str:
    return FIELD_PREFIX + f.field_name
