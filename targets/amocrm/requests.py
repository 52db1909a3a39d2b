"""Operations → amoCRM API v4 requests, for ``funnelc apply``.

:func:`requests_for` turns one operation of :func:`funnelc.targets.amocrm.diff.diff` into the
requests that make it, given the CRM ids known so far (:data:`Ids`: the lock file plus what
earlier requests of the same apply created); :func:`bind` reads the ids a reply gives back.
Apply the operations in the order ``diff`` returns them, one request at a time (≤ 7 a second).

What the vendor's documentation and code say (``../shared/crm-apis.md`` §0), and these
requests do:

- a pipeline create embeds 142, 143 and *one* custom status, with no descriptions (neither
  ``request_id`` nor ``descriptions`` is documented there); :func:`bind` maps it by name and
  order among the editable statuses of the reply, never by ``sort`` (the server renumbers);
  the other statuses are created with ``POST …/statuses`` (``request_id`` = the status key,
  descriptions included) and the first one is described by a ``PATCH``;
- a status edit sends only what changed (a ``sort`` sent along with a rename would move it);
  descriptions are edited by id (an existing level keeps its id; a level that goes is sent
  with its id and no text);
- every field edit carries ``name`` and, for select fields, *every* enum — the existing ones
  with their ids — since enums sent without ids delete the old ones; ``currency`` goes with a
  monetary field;
- deletes are requests like any other: whether a status holds leads is for ``funnelc plan`` to
  check (amoCRM does not refuse; it moves the leads to the first stage).

This module is the API's side only: no HTTP, no retries, no secrets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..crm_ops import (
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
)
from .state import Account, Field, LossReason, Pipeline, Status

IdKey = tuple[str, str, str]
"""(entity, parent key or ``""``, key): ``("pipeline", "", "b2b")``, ``("stage", "b2b",
"qualified")``, ``("field", "", "budget")``, ``("enum", "budget", "Да")``,
``("loss_reason", "", "no_budget")``."""
Ids = Mapping[IdKey, int]


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request of the API (``path`` without the account's base URL)."""

    method: str
    path: str
    body: Any
    operation: Operation


class MissingId(LookupError):
    """A request needs the id of an object that is neither in the lock file nor created yet
    (operations out of order)."""


def _id(ids: Ids, entity: str, parent: str | None, key: str) -> int:
    try:
        return ids[(entity, parent or "", key)]
    except KeyError:
        raise MissingId(f"no id for {entity} {parent or ''}/{key}") from None


def _status_id(ids: Ids, ref: Ref) -> int:
    if isinstance(ref.id, int):
        return ref.id
    assert ref.parent is not None
    return _id(ids, "stage", ref.parent, ref.key)


def _status_body(status: Status, *, embedded: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"name": status.name, "sort": status.sort}
    if status.color is not None:
        body["color"] = status.color
    if not embedded:
        body["request_id"] = status.key
        if status.descriptions:
            body["descriptions"] = _descriptions((), status)
    return body


def _descriptions(current: Sequence[Any], status: Status) -> list[dict[str, Any]]:
    """The descriptions to send: each desired level (with the id of the current description of
    that level, if any), and each current level that goes, with its id and no text."""
    by_level = {d.level: d for d in current}
    out: list[dict[str, Any]] = []
    for d in status.descriptions:
        item: dict[str, Any] = {"level": d.level, "description": d.text}
        old = by_level.get(d.level)
        if old is not None and old.id is not None:
            item["id"] = old.id
        out.append(item)
    wanted = {d.level for d in status.descriptions}
    out += [
        {"id": d.id, "level": d.level}
        for d in current
        if d.level not in wanted and d.id is not None
    ]
    return out


def _pipeline_create(op: Create, pipeline: Pipeline) -> list[Request]:
    first = pipeline.open[:1]
    system = [{"id": s.system_id, "name": s.name} for s in pipeline.statuses if s.system and s.name]
    body = [
        {
            "request_id": pipeline.key,
            "name": pipeline.name,
            "sort": pipeline.sort,
            "is_main": pipeline.is_main,
            "is_unsorted_on": pipeline.is_unsorted_on,
            "_embedded": {"statuses": [*(_status_body(s, embedded=True) for s in first), *system]},
        }
    ]
    return [Request("POST", "/api/v4/leads/pipelines", body, op)]


def after_pipeline_create(op: Create, pipeline_id: int, ids: Ids) -> list[Request]:
    """What follows a pipeline create once its id is bound: the other statuses (batches of
    50, with descriptions) and the descriptions of the first one."""
    pipeline = op.desired
    assert isinstance(pipeline, Pipeline)
    rest = list(pipeline.open[1:])
    path = f"/api/v4/leads/pipelines/{pipeline_id}/statuses"
    out = [
        Request("POST", path, [_status_body(s) for s in rest[i : i + 50]], op)
        for i in range(0, len(rest), 50)
    ]
    first = pipeline.open[:1]
    if first and first[0].descriptions:
        status_id = _id(ids, "stage", pipeline.key, first[0].key)
        body = {"descriptions": _descriptions((), first[0])}
        out.append(Request("PATCH", f"{path}/{status_id}", body, op))
    return out


def _field_body(f: Field, ids: Ids) -> dict[str, Any]:
    """A field create; its ``required_statuses`` name statuses that diff creates first."""
    body: dict[str, Any] = {"request_id": f.key, "name": f.name, "type": f.type, "sort": f.sort}
    if f.code:
        body["code"] = f.code
    if f.currency is not None:
        body["currency"] = f.currency
    if f.enums:
        body["enums"] = [{"value": e.value, "sort": e.sort} for e in f.enums]
    if f.required:
        body["required_statuses"] = _required(f, ids)
    return body


def _required(f: Field, ids: Ids) -> list[dict[str, int]]:
    return [
        {
            "pipeline_id": _id(ids, "pipeline", None, r.pipeline),
            "status_id": _id(ids, "stage", r.pipeline, r.status),
        }
        for r in f.required
    ]


def _field_edit(op: FieldChange, ids: Ids) -> Request:
    current, desired = op.current, op.desired
    assert isinstance(current, Field) and isinstance(desired, Field)
    field_id = current.id if current.id is not None else _id(ids, "field", None, desired.key)
    body: dict[str, Any] = {"name": desired.name}
    if desired.enums or current.enums:
        have = {e.value: e for e in current.enums}
        body["enums"] = [
            {"value": e.value, "sort": e.sort}
            | ({"id": have[e.value].id} if e.value in have and have[e.value].id else {})
            for e in desired.enums
        ]
    if desired.currency is not None:
        body["currency"] = desired.currency
    if any(c.attribute == "required_statuses" for c in op.changes):
        body["required_statuses"] = _required(desired, ids)
    return Request("PATCH", f"/api/v4/leads/custom_fields/{field_id}", body, op)


def requests_for(op: Operation, current: Account, desired: Account, ids: Ids) -> list[Request]:
    """The requests that make ``op`` (a conflict makes none).  For a pipeline create, send
    these, :func:`bind` the reply, then send :func:`after_pipeline_create`."""
    ref = op.ref
    if isinstance(op, Conflict):
        return []
    if isinstance(op, Create):
        thing = op.desired
        if isinstance(thing, Pipeline):
            return _pipeline_create(op, thing)
        if isinstance(thing, Status):
            assert ref.parent is not None
            pid = _id(ids, "pipeline", None, ref.parent)
            path = f"/api/v4/leads/pipelines/{pid}/statuses"
            return [Request("POST", path, [_status_body(thing)], op)]
        if isinstance(thing, Field):
            created = Request("POST", "/api/v4/leads/custom_fields", [_field_body(thing, ids)], op)
            return [created]
        if isinstance(thing, LossReason):
            body = [{"request_id": thing.key, "name": thing.name, "sort": thing.sort}]
            return [Request("POST", "/api/v4/leads/loss_reasons", body, op)]
        raise TypeError(type(thing))
    if isinstance(op, FieldChange):
        return [_field_edit(op, ids)]
    if ref.entity is Entity.PIPELINE:
        pid = ref.id if isinstance(ref.id, int) else _id(ids, "pipeline", None, ref.key)
        path = f"/api/v4/leads/pipelines/{pid}"
        if isinstance(op, Rename):
            return [Request("PATCH", path, {"name": op.after}, op)]
        if isinstance(op, Change) and op.attribute == "is_unsorted_on":
            return [Request("PATCH", path, {"is_unsorted_on": op.after}, op)]
        if isinstance(op, Delete):
            return [Request("DELETE", path, None, op)]
    if ref.entity is Entity.STAGE:
        assert ref.parent is not None
        pid = _id(ids, "pipeline", None, ref.parent)
        path = f"/api/v4/leads/pipelines/{pid}/statuses/{_status_id(ids, ref)}"
        if isinstance(op, Rename):
            return [Request("PATCH", path, {"name": op.after}, op)]
        if isinstance(op, Recolour):
            return [Request("PATCH", path, {"color": op.after}, op)]
        if isinstance(op, Reorder):
            return [Request("PATCH", path, {"sort": op.after}, op)]
        if isinstance(op, Change) and op.attribute == "descriptions":
            now = _find_status(current, ref)
            want = _find_status(desired, ref)
            edit = {"descriptions": _descriptions(now.descriptions if now else (), want)}
            return [Request("PATCH", path, edit, op)]
        if isinstance(op, Delete):
            return [Request("DELETE", path, None, op)]
    if ref.entity is Entity.FIELD and isinstance(op, Delete):
        fid = ref.id if isinstance(ref.id, int) else _id(ids, "field", None, ref.key)
        return [Request("DELETE", f"/api/v4/leads/custom_fields/{fid}", None, op)]
    if ref.entity is Entity.LOSS_REASON:
        rid = ref.id if isinstance(ref.id, int) else _id(ids, "loss_reason", None, ref.key)
        path = f"/api/v4/leads/loss_reasons/{rid}"
        if isinstance(op, Rename):
            return [Request("PATCH", path, {"name": op.after}, op)]
        if isinstance(op, Delete):
            return [Request("DELETE", path, None, op)]
    raise ValueError(f"no request for {op!r}")


def _find_status(account: Account, ref: Ref) -> Status:
    pipeline = account.pipeline(ref.parent or "")
    assert pipeline is not None
    return next(s for s in pipeline.statuses if s.key == ref.key)


def bind(request: Request, reply: Any) -> dict[IdKey, int]:
    """The ids a reply gives for what ``request`` created: a pipeline by position, its
    embedded status by name and order among the editable statuses (never by sort); statuses,
    fields (and their enums, by value) and loss reasons by ``request_id``."""
    op = request.operation
    if not isinstance(op, Create) or not isinstance(reply, Mapping):
        return {}
    out: dict[IdKey, int] = {}
    embedded = reply.get("_embedded", {})
    thing = op.desired
    if isinstance(thing, Pipeline) and request.path == "/api/v4/leads/pipelines":
        made = embedded["pipelines"][0]
        out[("pipeline", "", thing.key)] = made["id"]
        editable = [
            s
            for s in sorted(made["_embedded"]["statuses"], key=lambda s: (s["sort"], s["id"]))
            if s.get("type", 0) == 0 and s["id"] not in (142, 143)
        ]
        for want, have in zip(thing.open[:1], editable, strict=False):
            if have["name"] == want.name:
                out[("stage", thing.key, want.key)] = have["id"]
        return out
    parent = op.ref.parent or ""
    if isinstance(thing, Pipeline):
        parent = thing.key
    for rows in embedded.values():
        for row in rows:
            key = row.get("request_id")
            if not key:
                continue
            if isinstance(thing, Pipeline | Status):
                out[("stage", parent, str(key))] = row["id"]
            elif isinstance(thing, Field):
                out[("field", "", str(key))] = row["id"]
                for e in row.get("enums") or ():
                    out[("enum", str(key), e["value"])] = e["id"]
            elif isinstance(thing, LossReason):
                out[("loss_reason", "", str(key))] = row["id"]
    return out
