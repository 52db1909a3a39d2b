"""Operations → amoCRM API v4 requests: the one place that knows amoCRM's request shapes.

:func:`build` turns the operations of :func:`funnelc.targets.amocrm.diff.diff` (with the
current and the desired account) into an ordered list of :class:`Request` steps.  Both users
walk the same steps:

- the import plan (``funnelc build --target amocrm``) is ``build(diff(EMPTY, desired), EMPTY,
  desired)`` serialised, an :class:`IdRef` rendered as the plan's reference notation
  (``{"$ref": "<name>.id"}`` in a body, ``{<name>.id}`` in a path; see :func:`ref_name`);
- ``funnelc apply`` resolves each :class:`IdRef` from the lock file (and the ids learnt so
  far), sends the request, :func:`bind`\\ s the ids of the reply and saves the lock.

A request's body and path hold literal ids for what the current account has, and an
:class:`IdRef` for what an earlier step creates.  Batched where the API allows (≤ 50 items a
request): new pipelines in one ``POST``; the other statuses of a pipeline in one ``POST
…/statuses``; the edits of one status (name, colour, descriptions, sort) merged into one
``PATCH``; new fields, field edits and new loss reasons in batches.

What the vendor's documentation and code say (``../shared/crm-apis.md`` §0), and these
requests do:

- a pipeline create embeds 142, 143 and *one* custom status, with no descriptions;
  :func:`bind` maps that status by name and order among the editable statuses of the reply,
  never by ``sort`` (the server renumbers); the other statuses are created with ``POST
  …/statuses`` (``request_id``, descriptions included) and the first one is described by a
  ``PATCH``;
- the server renumbers the editable statuses 20, 30, … after every create or move: the order
  is simulated through the steps, and a status that must move gets a number between its new
  neighbours' numbers *at that point* (the fewest moves, :func:`funnelc.targets.crm_ops.moved`);
- a status edit sends only what changed (a ``sort`` sent along with a rename would move it);
- every field edit carries ``name`` and, for select fields, every enum — the existing ones
  with their ids, and the ones the funnel dropped too (deleting one would wipe it from the
  deals) — since enums sent without ids delete the old ones; ``currency`` goes with a
  monetary field; requirements on statuses funnelc does not manage are kept;
- a dropped enum is deleted only by its own :class:`Delete` (``Entity.ENUM``, let through by
  ``funnelc plan`` with ``--allow-delete`` when no lead holds it): the field's edit then
  leaves it out (an edit of its own when nothing else about the field changed);
- ``required_statuses`` never name 142 or 143 (undocumented);
- a delete of a status or pipeline carries a :attr:`Request.guard`: the sender asks the CRM
  right before whether it holds leads (amoCRM does not refuse; it moves them to the first
  stage) and skips it if so.

This module is the API's side only: no HTTP, no retries, no secrets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..crm_ops import (
    Change,
    Create,
    Delete,
    Entity,
    FieldChange,
    Operation,
    Recolour,
    Rename,
    Reorder,
    match,
    moved,
)
from .state import LOST_ID, WON_ID, Account, Field, LossReason, Pipeline, Status

MAX_BATCH = 50
"""Items a request carries at most (the cap documented for ``/leads/complex``; none is
documented for pipelines, statuses, fields or loss reasons [UNCONFIRMED])."""
BASE = "/api/v4/leads"


@dataclass(frozen=True, slots=True, order=True)
class IdRef:
    """The CRM id of an object an earlier step creates, not known when the steps are built:
    its ``entity`` (``pipeline``, ``stage``, ``field``, ``enum``, ``loss_reason``), the key of
    its ``parent`` (a stage's pipeline, an enum's field; ``""`` otherwise) and its ``key`` (the
    lock file's identity)."""

    entity: str
    parent: str
    key: str

    @property
    def name(self) -> str:
        return ref_name(self)


_WORDS = {"pipeline": "pipeline", "stage": "status", "field": "field", "enum": "enum"}


def ref_name(ref: IdRef) -> str:
    """The symbolic name of ``ref``: the ``request_id`` its create sends and, with ``.id``, the
    plan's reference to it — ``pipeline.b2b``, ``pipeline.b2b.lead``, ``status.b2b.new``,
    ``field.budget``, ``loss_reason.no_budget``, ``loss_reason.stage.pit``."""
    word = _WORDS.get(ref.entity, ref.entity)
    return ".".join(part for part in (word, ref.parent, ref.key) if part)


Id = int | IdRef
PathPart = str | int | IdRef


@dataclass(frozen=True, slots=True)
class Request:
    """One step: an HTTP request of the API (``path`` without the account's base URL, a tuple
    of text, literal ids and :class:`IdRef`\\ s; ``body`` JSON data that may hold
    :class:`IdRef`\\ s), the operations it carries out, and how to read its reply.

    ``kind`` says what it does (``pipelines``, ``statuses``, ``describe``, ``status``,
    ``pipeline``, ``loss_reason``, ``fields``, ``field_edits``, ``loss_reasons``, ``delete``).
    ``binds`` maps each ``request_id`` the body sends (for an edit, the id as text) to the
    object it makes; ``embedded`` lists, for a pipeline create, (pipeline request_id, status
    name, ref) of the status created with it, bound by name and order.  ``guard`` is
    (pipeline, status or ``None``) for a delete that must not happen while leads are there;
    ``forget`` the object a delete removes from the lock."""

    kind: str
    method: str
    path: tuple[PathPart, ...]
    body: Any
    operations: tuple[Operation, ...] = ()
    binds: tuple[tuple[str, IdRef], ...] = ()
    embedded: tuple[tuple[str, str, IdRef], ...] = ()
    guard: tuple[Id, Id | None] | None = None
    forget: IdRef | None = None
    subject: str = ""
    """What it is about, for progress lines: a pipeline key, a ``pipeline/status`` path…"""

    @property
    def count(self) -> int:
        return len(self.body) if isinstance(self.body, list) else 1

    def refs(self) -> Iterator[IdRef]:
        """Every :class:`IdRef` of the path, the body and the guard."""
        for part in self.path:
            if isinstance(part, IdRef):
                yield part
        yield from _refs(self.body)
        for item in self.guard or ():
            if isinstance(item, IdRef):
                yield item

    def resolved(self, ids: Callable[[IdRef], int]) -> tuple[str, str, Any]:
        """``(method, path, body)`` with every reference replaced by ``ids(ref)``."""
        path = "".join(str(ids(p)) if isinstance(p, IdRef) else str(p) for p in self.path)
        return self.method, path, _map(self.body, lambda ref: ids(ref))

    def rendered(self) -> tuple[str, Any]:
        """``(path, body)`` in the import plan's notation: ``{<name>.id}`` in a path,
        ``{"$ref": "<name>.id"}`` in a body."""
        path = "".join(f"{{{p.name}.id}}" if isinstance(p, IdRef) else str(p) for p in self.path)
        return path, _map(self.body, lambda ref: {"$ref": f"{ref.name}.id"})


def _refs(value: Any) -> Iterator[IdRef]:
    if isinstance(value, IdRef):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _refs(v)
    elif isinstance(value, list):
        for v in value:
            yield from _refs(v)


def _map(value: Any, f: Callable[[IdRef], Any]) -> Any:
    if isinstance(value, IdRef):
        return f(value)
    if isinstance(value, dict):
        return {k: _map(v, f) for k, v in value.items()}
    if isinstance(value, list):
        return [_map(v, f) for v in value]
    return value


def _chunks(items: Sequence[Any], size: int = MAX_BATCH) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


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


def _status_body(pipeline: str, status: Status, *, embedded: bool = False) -> dict[str, Any]:
    """A status to create: in a pipeline create (``embedded``: no descriptions) or with
    ``POST …/statuses``.  Its ``request_id`` is its :func:`ref_name`."""
    body: dict[str, Any] = {
        "request_id": ref_name(IdRef("stage", pipeline, status.key)),
        "name": status.name,
        "sort": status.sort,
    }
    if status.color is not None:
        body["color"] = status.color
    if status.descriptions and not embedded:
        body["descriptions"] = _descriptions((), status)
    return body


def build(
    operations: Sequence[Operation],
    current: Account,
    desired: Account,
    *,
    unmanaged_required: Mapping[int, Sequence[Mapping[str, int]]] | None = None,
) -> list[Request]:
    """The requests that carry out ``operations`` (in the order :func:`diff` gives them, a
    conflict makes none), in the order to send them.  ``unmanaged_required``: for a field of
    the current account (by id), its ``required_statuses`` on pipelines funnelc does not
    manage, which a field edit keeps."""
    return _Builder(current, desired, unmanaged_required or {}).run(list(operations))


class _Builder:
    def __init__(
        self,
        current: Account,
        desired: Account,
        unmanaged_required: Mapping[int, Sequence[Mapping[str, int]]],
    ) -> None:
        self.current = current
        self.desired = desired
        self.unmanaged_required = unmanaged_required
        self.out: list[Request] = []
        pairs = match(
            current.pipelines,
            desired.pipelines,
            [
                (lambda p: p.key, lambda p: p.key),
                (lambda p: p.name if not p.key else None, lambda p: p.name),
            ],
        )
        self.now: dict[str, Pipeline] = {want.key: now for now, want in pairs.pairs}
        self.status_now: dict[tuple[str, str], Status] = {}
        for now, want in pairs.pairs:
            statuses = match(
                now.statuses,
                want.statuses,
                [
                    (_system, _system),
                    (lambda s: s.key, lambda s: s.key),
                    (lambda s: s.name if not s.key and not s.system else None, lambda s: s.name),
                ],
            )
            for b, a in statuses.pairs:
                self.status_now[(want.key, a.key)] = b

    # ---- ids --------------------------------------------------------------------------------

    def pipeline_id(self, key: str) -> Id:
        now = self.now.get(key)
        if now is not None and now.id is not None:
            return now.id
        return IdRef("pipeline", "", key)

    def status_id(self, pipeline: str, key: str) -> Id:
        now = self.status_now.get((pipeline, key))
        if now is not None and now.id is not None:
            return now.id
        return IdRef("stage", pipeline, key)

    def required(self, f: Field) -> list[dict[str, Id]]:
        out: list[dict[str, Id]] = []
        for r in f.required:
            want = self.desired.pipeline(r.pipeline)
            status = next((s for s in want.statuses if s.key == r.status), None) if want else None
            if status is None or status.system:
                continue  # required_statuses never name 142/143 (undocumented)
            out.append(
                {
                    "pipeline_id": self.pipeline_id(r.pipeline),
                    "status_id": self.status_id(r.pipeline, r.status),
                }
            )
        return out

    # ---- the steps ----------------------------------------------------------------------------

    def run(self, ops: list[Operation]) -> list[Request]:
        new_pipelines = [
            op for op in ops if isinstance(op, Create) and isinstance(op.desired, Pipeline)
        ]
        for chunk in _chunks(new_pipelines):
            self.pipelines(chunk)
        for made in new_pipelines:
            self.rest_of(made)
        new_statuses: dict[str, list[Create]] = {}
        for op in ops:
            if isinstance(op, Create) and isinstance(op.desired, Status):
                new_statuses.setdefault(op.ref.parent or "", []).append(op)
        for parent, creates in new_statuses.items():
            self.statuses(parent, creates)
        self.edits(ops, new_statuses)
        fields_new = [op for op in ops if isinstance(op, Create) and isinstance(op.desired, Field)]
        for chunk in _chunks(fields_new):
            self.fields(chunk)
        # An enum is deleted by a field edit that leaves it out (enums sent without their ids
        # delete the old ones, §0): the deletes of a field's values ride on its edit, or on
        # an edit of their own when nothing else about the field changed.
        dropped: dict[str, list[Delete]] = {}
        for op in ops:
            if isinstance(op, Delete) and op.ref.entity is Entity.ENUM:
                dropped.setdefault(op.ref.parent or "", []).append(op)
        edits: list[tuple[tuple[Operation, ...], Field, Field]] = []
        for op in ops:
            if isinstance(op, FieldChange):
                assert isinstance(op.current, Field) and isinstance(op.desired, Field)
                edits.append(((op, *dropped.pop(op.ref.key, [])), op.current, op.desired))
        for key, deletes in dropped.items():
            want = next(f for f in self.desired.fields if f.key == key)
            ids = {d.ref.id for d in deletes}
            now = next(f for f in self.current.fields if ids & {e.id for e in f.enums})
            edits.append((tuple(deletes), now, want))
        for chunk in _chunks(edits):
            self.field_edits(chunk)
        reasons = [
            op for op in ops if isinstance(op, Create) and isinstance(op.desired, LossReason)
        ]
        for chunk in _chunks(reasons):
            self.loss_reasons(chunk)
        for op in ops:
            if isinstance(op, Rename) and op.ref.entity is Entity.LOSS_REASON:
                rid = self.known(op.ref.id, IdRef("loss_reason", "", op.ref.key))
                self.out.append(
                    Request(
                        "loss_reason",
                        "PATCH",
                        (f"{BASE}/loss_reasons/", rid),
                        {"name": op.after},
                        (op,),
                        subject=op.ref.path,
                    )
                )
        for op in ops:
            if isinstance(op, Delete) and op.ref.entity is not Entity.ENUM:
                self.delete(op)
        return self.out

    @staticmethod
    def known(ident: int | str | None, ref: IdRef) -> Id:
        return ident if isinstance(ident, int) else ref

    def pipelines(self, ops: Sequence[Create]) -> None:
        body: list[dict[str, Any]] = []
        binds: list[tuple[str, IdRef]] = []
        embedded: list[tuple[str, str, IdRef]] = []
        for op in ops:
            p = op.desired
            assert isinstance(p, Pipeline)
            ref = IdRef("pipeline", "", p.key)
            statuses = [_status_body(p.key, s, embedded=True) for s in p.open[:1]]
            statuses += [
                {"id": s.system_id, "name": s.name} for s in p.statuses if s.system and s.name
            ]
            body.append(
                {
                    "request_id": ref.name,
                    "name": p.name,
                    "sort": p.sort,
                    "is_main": p.is_main,
                    "is_unsorted_on": p.is_unsorted_on,
                    "_embedded": {"statuses": statuses},
                }
            )
            binds.append((ref.name, ref))
            embedded += [(ref.name, s.name, IdRef("stage", p.key, s.key)) for s in p.open[:1]]
        self.out.append(
            Request(
                "pipelines",
                "POST",
                (f"{BASE}/pipelines",),
                body,
                tuple(ops),
                tuple(binds),
                tuple(embedded),
                subject=", ".join(op.ref.key for op in ops),
            )
        )

    def rest_of(self, op: Create) -> None:
        """A new pipeline's other statuses, then the descriptions of the first one."""
        p = op.desired
        assert isinstance(p, Pipeline)
        pid = IdRef("pipeline", "", p.key)
        for chunk in _chunks(p.open[1:]):
            self.out.append(
                Request(
                    "statuses",
                    "POST",
                    (f"{BASE}/pipelines/", pid, "/statuses"),
                    [_status_body(p.key, s) for s in chunk],
                    (op,),
                    tuple(
                        (ref_name(IdRef("stage", p.key, s.key)), IdRef("stage", p.key, s.key))
                        for s in chunk
                    ),
                    subject=p.key,
                )
            )
        first = p.open[:1]
        if first and first[0].descriptions:
            sid = IdRef("stage", p.key, first[0].key)
            self.out.append(
                Request(
                    "describe",
                    "PATCH",
                    (f"{BASE}/pipelines/", pid, "/statuses/", sid),
                    {"descriptions": _descriptions((), first[0])},
                    (op,),
                    subject=f"{p.key}/{first[0].key}",
                )
            )

    def statuses(self, parent: str, ops: Sequence[Create]) -> None:
        """New statuses of an existing pipeline: one ``POST`` per 50, each with the sort diff
        placed it at (between its neighbours' current numbers)."""
        pid = self.pipeline_id(parent)
        for chunk in _chunks(ops):
            made = [op.desired for op in chunk]
            assert all(isinstance(s, Status) for s in made)
            self.out.append(
                Request(
                    "statuses",
                    "POST",
                    (f"{BASE}/pipelines/", pid, "/statuses"),
                    [_status_body(parent, s) for s in made if isinstance(s, Status)],
                    tuple(chunk),
                    tuple(
                        (
                            ref_name(IdRef("stage", parent, op.ref.key)),
                            IdRef("stage", parent, op.ref.key),
                        )
                        for op in chunk
                    ),
                    subject=parent,
                )
            )

    def moves(self, key: str, created: Sequence[Create]) -> list[tuple[str, int]]:
        """The sorts to send, in order, so that the open statuses of pipeline ``key`` end in the
        desired order: the fewest moves, each placed between its new neighbours' numbers as
        the server has them at that point (it renumbers 20, 30, … after a create or move)."""
        want = self.desired.pipeline(key)
        now = self.now.get(key)
        if want is None or now is None:
            return []
        key_of = {id(s): k for (p, k), s in self.status_now.items() if p == key}
        rows = [(s.sort, 0, s.id or 0, key_of.get(id(s), f"#{s.id}")) for s in now.open]
        rows += [
            (op.desired.sort, 1, n, op.ref.key)
            for n, op in enumerate(created)
            if isinstance(op.desired, Status)
        ]
        rows.sort()
        order = [row[3] for row in rows]
        numbers = (
            {k: 20 + 10 * n for n, k in enumerate(order)}
            if created
            else {row[3]: row[0] for row in rows}
        )
        desired = [s.key for s in want.open]
        wanted = set(desired)
        to_move = moved([k for k in order if k in wanted], desired)
        out: list[tuple[str, int]] = []
        for i, k in enumerate(desired):
            if k not in to_move or k not in order:
                continue
            before = desired[i - 1] if i else None
            rest = [x for x in order if x != k]
            at = rest.index(before) + 1 if before in rest else 0
            low = numbers[before] if before in rest else 10  # the inbox sorts at 10
            high = numbers[rest[at]] if at < len(rest) else low + 20
            sort = (low + high) // 2 if high - low > 1 else low + 1
            out.append((k, sort))
            rest.insert(at, k)
            order = rest
            numbers = {x: 20 + 10 * n for n, x in enumerate(order)}  # §0: renumbered
        return out

    def edits(self, ops: list[Operation], created: Mapping[str, Sequence[Create]]) -> None:
        """Pipeline edits (one ``PATCH`` each), then per pipeline its status moves (each merged
        with that status's other edits), then the other status edits (one ``PATCH`` each)."""
        pipeline_ops: dict[str, list[Operation]] = {}
        status_ops: dict[tuple[str, str], list[Operation]] = {}
        reordered: list[str] = []
        for op in ops:
            if not isinstance(op, Rename | Recolour | Change | Reorder):
                continue
            if op.ref.entity is Entity.PIPELINE:
                pipeline_ops.setdefault(op.ref.key, []).append(op)
            elif op.ref.entity is Entity.STAGE:
                parent = op.ref.parent or ""
                status_ops.setdefault((parent, op.ref.key), []).append(op)
                if isinstance(op, Reorder) and parent not in reordered:
                    reordered.append(parent)
        for key, items in pipeline_ops.items():
            body: dict[str, Any] = {}
            for op in items:
                if isinstance(op, Rename):
                    body["name"] = op.after
                elif isinstance(op, Change):
                    body[op.attribute] = op.after
            ident = self.known(items[0].ref.id, IdRef("pipeline", "", key))
            self.out.append(
                Request(
                    "pipeline",
                    "PATCH",
                    (f"{BASE}/pipelines/", ident),
                    body,
                    tuple(items),
                    subject=key,
                )
            )
        order = [*created, *(p for p in reordered if p not in created)]
        done: set[tuple[str, str]] = set()
        for parent in order:
            for key, sort in self.moves(parent, created.get(parent, ())):
                items = status_ops.get((parent, key), [])
                done.add((parent, key))
                self.status_edit(parent, key, items, sort)
        for (parent, key), items in status_ops.items():
            if (parent, key) in done:
                continue
            if all(isinstance(op, Reorder) for op in items):
                continue  # already in place once the others moved
            self.status_edit(parent, key, [op for op in items if not isinstance(op, Reorder)], None)

    def status_edit(self, parent: str, key: str, items: list[Operation], sort: int | None) -> None:
        body: dict[str, Any] = {}
        want = self.desired.pipeline(parent)
        status = next((s for s in want.statuses if s.key == key), None) if want else None
        now = self.status_now.get((parent, key))
        for op in items:
            if isinstance(op, Rename):
                body["name"] = op.after
            elif isinstance(op, Recolour):
                body["color"] = op.after
            elif isinstance(op, Change) and op.attribute == "descriptions" and status is not None:
                body["descriptions"] = _descriptions(now.descriptions if now else (), status)
        if sort is not None:
            body["sort"] = sort
        if not body:
            return
        sid = self.status_id(parent, key)
        self.out.append(
            Request(
                "status",
                "PATCH",
                (f"{BASE}/pipelines/", self.pipeline_id(parent), "/statuses/", sid),
                body,
                tuple(items),
                subject=f"{parent}/{key}",
            )
        )

    def field_body(self, f: Field) -> dict[str, Any]:
        ref = IdRef("field", "", f.key)
        body: dict[str, Any] = {"request_id": ref.name, "name": f.name, "type": f.type}
        if f.code:
            body["code"] = f.code
        body["sort"] = f.sort
        if f.currency is not None:
            body["currency"] = f.currency
        if f.enums:
            body["enums"] = [{"value": e.value, "sort": e.sort} for e in f.enums]
        required = self.required(f)
        if required:
            body["required_statuses"] = required
        return body

    def fields(self, ops: Sequence[Create]) -> None:
        made = [op.desired for op in ops if isinstance(op.desired, Field)]
        self.out.append(
            Request(
                "fields",
                "POST",
                (f"{BASE}/custom_fields",),
                [self.field_body(f) for f in made],
                tuple(ops),
                tuple(
                    (ref_name(IdRef("field", "", f.key)), IdRef("field", "", f.key)) for f in made
                ),
            )
        )

    def field_edits(self, edits: Sequence[tuple[tuple[Operation, ...], Field, Field]]) -> None:
        """One PATCH of fields: each edit is (its operations — a field change and the deletes
        of its enum values, or only the deletes —, the current field, the desired one)."""
        managed = {p.id for p in self.now.values() if p.id is not None}
        body: list[dict[str, Any]] = []
        binds: list[tuple[str, IdRef]] = []
        ops: list[Operation] = []
        for carried, now, want in edits:
            assert now.id is not None
            ops.extend(carried)
            deleted = {
                op.ref.id for op in carried if isinstance(op, Delete) and op.ref.id is not None
            }
            item: dict[str, Any] = {"id": now.id, "name": want.name, "sort": want.sort}
            if want.enums or now.enums:
                have = {e.value: e.id for e in now.enums}
                enums = [
                    {"id": have[e.value], "value": e.value, "sort": e.sort}
                    if have.get(e.value) is not None
                    else {"value": e.value, "sort": e.sort}
                    for e in want.enums
                ]
                wanted = {e.value for e in want.enums}
                # A value the funnel dropped is kept unless its delete is carried here (plan
                # let it through: --allow-delete and no lead holds it): leaving it out of the
                # list deletes it, and wipes it from the leads.
                enums += [
                    {"id": e.id, "value": e.value, "sort": e.sort}
                    for e in now.enums
                    if e.value not in wanted and e.id is not None and e.id not in deleted
                ]
                item["enums"] = enums
            if want.currency is not None:
                item["currency"] = want.currency
            keep = [
                {"pipeline_id": r["pipeline_id"], "status_id": r["status_id"]}
                for r in self.unmanaged_required.get(now.id, ())
                if r["pipeline_id"] not in managed
            ]
            item["required_statuses"] = [*self.required(want), *keep]
            body.append(item)
            binds.append((str(now.id), IdRef("field", "", want.key)))
        self.out.append(
            Request(
                "field_edits", "PATCH", (f"{BASE}/custom_fields",), body, tuple(ops), tuple(binds)
            )
        )

    def loss_reasons(self, ops: Sequence[Create]) -> None:
        made = [op.desired for op in ops if isinstance(op.desired, LossReason)]
        refs = [IdRef("loss_reason", "", r.key) for r in made]
        self.out.append(
            Request(
                "loss_reasons",
                "POST",
                (f"{BASE}/loss_reasons",),
                [
                    {"request_id": ref.name, "name": r.name, "sort": r.sort}
                    for ref, r in zip(refs, made, strict=True)
                ],
                tuple(ops),
                tuple((ref.name, ref) for ref in refs),
            )
        )

    def delete(self, op: Delete) -> None:
        ref = op.ref
        if ref.entity is Entity.STAGE:
            parent = ref.parent or ""
            pid = self.pipeline_id(parent)
            sid = self.known(ref.id, IdRef("stage", parent, ref.key))
            path: tuple[PathPart, ...] = (f"{BASE}/pipelines/", pid, "/statuses/", sid)
            self.out.append(
                Request(
                    "delete",
                    "DELETE",
                    path,
                    None,
                    (op,),
                    guard=(pid, sid),
                    forget=IdRef("stage", parent, ref.key),
                    subject=ref.path,
                )
            )
            return
        if ref.entity is Entity.PIPELINE:
            pid = self.known(ref.id, IdRef("pipeline", "", ref.key))
            self.out.append(
                Request(
                    "delete",
                    "DELETE",
                    (f"{BASE}/pipelines/", pid),
                    None,
                    (op,),
                    guard=(pid, None),
                    forget=IdRef("pipeline", "", ref.key),
                    subject=ref.path,
                )
            )
            return
        entity = "field" if ref.entity is Entity.FIELD else "loss_reason"
        where = "custom_fields" if ref.entity is Entity.FIELD else "loss_reasons"
        ident = self.known(ref.id, IdRef(entity, "", ref.key))
        self.out.append(
            Request(
                "delete",
                "DELETE",
                (f"{BASE}/{where}/", ident),
                None,
                (op,),
                forget=IdRef(entity, "", ref.key),
                subject=ref.path,
            )
        )


def _system(s: Status) -> str | None:
    return s.kind.value if s.system else None


def bind(request: Request, reply: Any) -> dict[IdRef, int]:
    """The ids a reply gives for what ``request`` made, in order: a new pipeline by
    ``request_id`` (else by position), its embedded status by name and order among the editable
    statuses (never by ``sort``, never by an embedded ``request_id``); statuses, fields (then
    their enums, by value) and loss reasons by ``request_id``; an edited field (then its enums)
    by id."""
    if not isinstance(reply, Mapping):
        return {}
    table = dict(request.binds)
    out: dict[IdRef, int] = {}
    rows_of = reply.get("_embedded", {})
    if request.kind == "pipelines":
        made = list(rows_of.get("pipelines", []))
        by_request = {p.get("request_id"): p for p in made}
        wanted: dict[str, list[tuple[str, IdRef]]] = {}
        for rid, name, ref in request.embedded:
            wanted.setdefault(rid, []).append((name, ref))
        for i, (rid, ref) in enumerate(request.binds):
            row = by_request.get(rid) or (made[i] if i < len(made) else None)
            if row is None:
                continue
            out[ref] = int(row["id"])
            editable = [
                s
                for s in sorted(row["_embedded"]["statuses"], key=lambda s: (s["sort"], s["id"]))
                if s.get("type", 0) == 0 and s["id"] not in (WON_ID, LOST_ID)
            ]
            for (name, status), have in zip(wanted.get(rid, []), editable, strict=False):
                if have["name"] == name:
                    out[status] = int(have["id"])
        return out
    for rows in rows_of.values():
        for row in rows if isinstance(rows, list) else ():
            found = table.get(str(row.get("request_id"))) or table.get(str(row.get("id")))
            if found is None:
                continue
            out[found] = int(row["id"])
            if found.entity == "field":
                for e in row.get("enums") or ():
                    out[IdRef("enum", found.key, str(e["value"]))] = int(e["id"])
    return out


__all__ = ["IdRef", "Request", "bind", "build", "ref_name"]
