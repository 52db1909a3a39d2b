"""A plan's operations as requests; the lock file saved after every step the CRM confirmed.

Resumable and idempotent by construction: every step reads nothing it did not just get from
the CRM, writes the ids it learnt to the lock at once (atomically), and a run after a kill
re-reads the account, so ``diff`` finds what exists (by the lock's keys, by ``STATUS_ID`` on
Bitrix24, by name for a status amoCRM made before the lock heard of it) and plans only the
rest.  Nothing is deleted that holds deals: each delete asks the CRM again right before it.

amoCRM (crm-apis.md §0, §1): the steps of :func:`funnelc.targets.amocrm.requests.build`, the
one builder of amoCRM requests, which the import plan serialises too — new pipelines in one
``POST`` of up to 50, each with its first status and 142/143 renamed; the other statuses in one
``POST .../statuses`` per pipeline with ``request_id`` and descriptions (never mapped by
``sort``); edits of one status merged into one ``PATCH``; order by the fewest moves; a field
edit sends ``name`` and every enum with its id.  This module only resolves, sends and binds.

Bitrix24 (§0, §2): the batches of :func:`funnelc.targets.bitrix24.requests.build` (which also
writes the import plan), walked by :class:`_B24Driver`: literal values, never ``$result``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from funnelc.i18n import _
from funnelc.sync.client import AmoClient, B24Client, Command, SyncError
from funnelc.sync.plan import Plan, Session, full_id

Progress = Callable[[str], None]


@dataclass
class Applied:
    steps: int = 0
    refused: list[str] = field(default_factory=list)  # deletes refused at the last check


def apply_plan(session: Session, plan: Plan, progress: Progress | None = None) -> Applied:
    if plan.conflicts:
        raise SyncError(_("the plan has conflicts; resolve them first (see `funnelc plan`)"))
    say = progress or (lambda text: None)
    if remember(session) or session.moved:
        session.lock.save()
    if isinstance(session.client, AmoClient):
        return _Amo(session, say).run(plan.operations)
    return _B24Driver(session, say).run(plan.operations)


def remember(session: Session) -> bool:
    """Write to the lock every current pipeline and stage that has a key but no lock entry
    (adopted by name, or by Bitrix24 STATUS_ID): the requests below address them by key."""
    changed = False
    pipes = session.entry["pipelines"]
    groups: list[tuple[str, Any, tuple[Any, ...]]] = []
    if isinstance(session.client, AmoClient):
        groups = [(p.key, p.id, p.statuses) for p in session.current.pipelines if p.key]
    else:
        groups = [(c.key, c.id, c.stages) for c in session.current.categories if c.key]
    for key, ident, stages in groups:
        if key not in pipes:
            changed = True
        entry = pipes.setdefault(key, {"id": ident, "stages": {}})
        if entry.get("id") != ident:
            continue  # the lock knows another object under this key: leave it to diff
        table = entry.setdefault("stages", {})
        for s in stages:
            if s.key and s.key not in table and s.id is not None:
                table[s.key] = s.id
                changed = True
    return changed


def _by_type(ops: list[Any], *names: str) -> list[Any]:
    return [op for op in ops if type(op).__name__ in names]


# ---- amoCRM ---------------------------------------------------------------------------------


class _Amo:
    """A thin driver over :func:`funnelc.targets.amocrm.requests.build`, the one builder of
    amoCRM requests (the import plan is the same steps, serialised): each step's references
    resolved from the lock, sent, its ids bound into the lock, the lock saved."""

    def __init__(self, session: Session, say: Progress) -> None:
        self.s = session
        self.c: AmoClient = session.client  # type: ignore[assignment]
        self.say = say
        self.done = Applied()
        self.pipes = session.entry["pipelines"]

    def step(self, text: str) -> None:
        self.s.lock.save()
        self.done.steps += 1
        self.say(text)

    def run(self, ops: list[Any]) -> Applied:
        from funnelc.targets.amocrm.requests import bind, build

        raw = self.s.raw_fields or {}
        unmanaged = {fid: list(f.get("required_statuses") or ()) for fid, f in raw.items()}
        ops = self.recheck_enums(ops)
        for request in build(ops, self.s.current, self.s.desired, unmanaged_required=unmanaged):
            if request.guard is not None and self.holds_leads(request):
                self.done.refused.append(request.subject)
                self.say(self.kept(request))
                continue
            method, path, body = request.resolved(self.id_of)
            reply = self.c.call(method, path, body)
            for ref, ident in bind(request, reply).items():
                self.learn(ref, ident)
            if request.forget is not None:
                self.forget(request.forget)
            self.step(self.said(request))
        return self.done

    def recheck_enums(self, ops: list[Any]) -> list[Any]:
        """Enum deletes ride on a field edit (no request of their own to guard): ask again,
        right before applying, whether leads hold the values, and keep those that do."""
        from funnelc.sync.plan import count_deals
        from funnelc.targets.crm_ops import Delete, Entity

        enums = [op for op in ops if isinstance(op, Delete) and op.ref.entity is Entity.ENUM]
        if not enums:
            return ops
        deals = count_deals(self.s, enums)
        refused = {op.ref.path for op in enums if deals.get(op.ref.path)}
        for path in sorted(refused):
            self.done.refused.append(path)
            self.say(_("kept {path}: it holds deals now").format(path=path))
        return [op for op in ops if not (isinstance(op, Delete) and op.ref.path in refused)]

    def holds_leads(self, request: Any) -> bool:
        """Asked right before the delete: the API would move the leads to the first stage
        (crm-apis.md §0), so funnelc refuses itself."""
        pipeline, status = request.guard
        pid = self.id_of(pipeline) if not isinstance(pipeline, int) else pipeline
        sid = status if status is None or isinstance(status, int) else self.id_of(status)
        return bool(self.c.count_leads(pid, sid, pages=1))

    def id_of(self, ref: Any) -> int:
        """The CRM id of an object made earlier (this run or one before): from the lock."""
        try:
            if ref.entity == "pipeline":
                return int(self.pipes[ref.key]["id"])
            if ref.entity == "stage":
                stages = self.pipes[ref.parent].get("stages", {})
                default = {"won": 142, "lost": 143}.get(ref.key)
                return int(stages[ref.key] if ref.key in stages or default is None else default)
            if ref.entity == "field":
                return int(self.s.entry["fields"][ref.key]["id"])
            if ref.entity == "enum":
                return int(self.s.entry["fields"][ref.parent]["enums"][ref.key])
            return int(self.s.entry["loss_reasons"][ref.key])
        except KeyError:
            raise SyncError(
                _("no CRM id for {what}: the lock does not know it").format(what=ref.name)
            ) from None

    def learn(self, ref: Any, ident: int) -> None:
        entry = self.s.entry
        if ref.entity == "pipeline":
            known = self.pipes.get(ref.key)
            if known is None or known.get("id") != ident:
                self.pipes[ref.key] = {"id": ident, "stages": {"won": 142, "lost": 143}}
        elif ref.entity == "stage":
            self.pipes[ref.parent].setdefault("stages", {})[ref.key] = ident
        elif ref.entity == "field":
            entry["fields"][ref.key] = {"id": ident, "enums": {}}  # its enums follow
        elif ref.entity == "enum":
            entry["fields"][ref.parent]["enums"][ref.key] = ident
        else:
            entry["loss_reasons"][ref.key] = ident

    def forget(self, ref: Any) -> None:
        entry = self.s.entry
        if ref.entity == "pipeline":
            self.pipes.pop(ref.key, None)
        elif ref.entity == "stage":
            self.pipes.get(ref.parent, {}).get("stages", {}).pop(ref.key, None)
        elif ref.entity == "field":
            entry["fields"].pop(ref.key, None)
        else:
            entry["loss_reasons"].pop(ref.key, None)

    @staticmethod
    def kept(request: Any) -> str:
        if request.guard[1] is None:
            return _("kept pipeline {path}: it holds deals now").format(path=request.subject)
        return _("kept stage {path}: it holds deals now").format(path=request.subject)

    @staticmethod
    def said(request: Any) -> str:
        kind, n, what = request.kind, request.count, request.subject
        if kind == "pipelines":
            return _("created {n} pipeline(s)").format(n=n)
        if kind == "statuses":
            return _("created {n} stage(s) in {pipeline}").format(n=n, pipeline=what)
        if kind == "describe":
            return _("described stage {path}").format(path=what)
        if kind == "status" and "sort" in request.body:
            return _("moved stage {path}").format(path=what)
        if kind in ("status", "pipeline", "loss_reason"):
            return _("updated {entity} {id}").format(entity=kind, id=what)
        if kind == "fields":
            return _("created {n} field(s)").format(n=n)
        if kind == "field_edits":
            return _("updated {n} field(s)").format(n=n)
        if kind == "loss_reasons":
            return _("created {n} loss reason(s)").format(n=n)
        return _("deleted {what}").format(what=what)


# ---- Bitrix24 -------------------------------------------------------------------------------


class _B24Driver:
    """A thin driver over :func:`funnelc.targets.bitrix24.requests.build` (the one place that
    knows Bitrix24 command shapes, the import plan's too): every batch in order, each
    reference resolved to the literal id an earlier batch bound, the ids the replies give
    written to the lock after each batch the portal confirmed.  Deletes of existing objects
    are re-checked for deals right before the batch that holds them."""

    def __init__(self, session: Session, say: Progress) -> None:
        self.s = session
        self.c: B24Client = session.client  # type: ignore[assignment]
        self.say = say
        self.done = Applied()
        self.cats = session.entry["pipelines"]
        self.ids: dict[tuple[str, str, str], int] = {}

    def step(self, text: str) -> None:
        self.s.lock.save()
        self.done.steps += 1
        self.say(text)

    def run(self, ops: list[Any]) -> Applied:
        from funnelc.targets.bitrix24.requests import build

        for batch in build(ops, self.s.current, self.s.desired):
            self.send(batch)
        return self.done

    def send(self, batch: Any) -> None:
        from funnelc.targets.bitrix24.requests import MissingId
        from funnelc.targets.crm_ops import Delete

        commands = list(batch.commands)
        checked = [
            c.operation
            for c in commands
            if isinstance(c.operation, Delete) and c.operation.ref.id is not None
        ]
        if checked:
            # Ask again right before deleting (the portal refuses too, but say why).
            from funnelc.sync.plan import count_deals

            deals = count_deals(self.s, checked)
            refused = {op.ref.path for op in checked if deals.get(op.ref.path)}
            for path in sorted(refused):
                self.done.refused.append(path)
                self.say(_("kept {path}: it holds deals now").format(path=path))
            commands = [
                c
                for c in commands
                if not (isinstance(c.operation, Delete) and c.operation.ref.path in refused)
            ]
        wire: list[Command] = []
        sent = []
        for c in commands:
            try:
                wire.append(Command(c.key, c.method, c.resolved(self.ids)))
            except MissingId:
                if isinstance(c.operation, Delete):
                    continue  # its lookup found nothing: there is nothing to delete
                raise SyncError(f"{c.method}: a preset the portal should have is missing") from None
            sent.append(c)
        if not wire:
            return
        results, errors, _totals = self.c.batch(wire)
        for c in sent:
            if c.key not in results:
                continue
            for b in c.binds:
                # A lookup that found nothing binds nothing.
                with contextlib.suppress(LookupError, TypeError, ValueError):
                    self.learn(b.key, b.value(results[c.key]))
            if isinstance(c.operation, Delete):
                self.forget(c.operation.ref)
        if batch.phase == "categories":
            self.step(_("created {n} pipeline(s)").format(n=len(results)))
        else:
            self.step(_("sent {n} command(s)").format(n=len(wire)))
        if errors:
            key, error = next(iter(errors.items()))
            method = next(c.method for c in wire if c.key == key)
            raise SyncError(f"{method}: {error.get('error_description', error)}")

    def _desired_stages(self, parent: str) -> set[str]:
        if parent == "lead":
            return {s.key for s in self.s.desired.lead_statuses or ()}
        category = self.s.desired.category(parent)
        return {s.key for s in category.stages} if category is not None else set()

    def learn(self, key: tuple[str, str, str], value: int) -> None:
        """Remember an id: for the rest of this run, and in the lock when it names an object
        of the funnels (a preset looked up only to be deleted is not)."""
        self.ids[key] = value
        entity, parent, name = key
        if entity == "category":
            entry = self.cats.setdefault(name, {"id": value, "stages": {}})
            entry["id"] = value
            entry.setdefault("stages", {})
        elif entity == "stage" and name in self._desired_stages(parent):
            if parent == "lead":
                self.s.entry["lead_statuses"][name] = value
            else:
                self.cats[parent].setdefault("stages", {})[name] = value
        elif entity == "field":
            self.s.entry["fields"][f"{parent}/{name}"] = {"id": value, "enums": {}}

    def forget(self, ref: Any) -> None:
        from funnelc.targets.crm_ops import Entity

        if ref.entity is Entity.STAGE:
            table = (
                self.s.entry["lead_statuses"]
                if ref.parent == "lead"
                else self.cats.get(ref.parent, {}).get("stages", {})
            )
            for k in [k for k, v in table.items() if v == ref.id]:
                del table[k]
        elif ref.entity is Entity.PIPELINE:
            self.cats.pop(ref.key, None)
        elif ref.entity is Entity.FIELD:
            self.s.entry["fields"].pop(f"{ref.parent}/{ref.key}", None)


__all__ = ["Applied", "apply_plan", "full_id"]
