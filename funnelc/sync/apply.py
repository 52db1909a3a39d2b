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

Bitrix24 (§0, §2): categories in batches, their seeded presets read back, renamed, re-sorted or
deleted; every stage, field and delete command in full batches of 50 in an order the portal
accepts (success and failure stages placed before in-progress ones are added); literal values,
never ``$result``; ``crm.status.update`` always with ``NAME`` and ``SORT``.
"""

from __future__ import annotations

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
    return _B24(session, say).run(plan.operations)


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


class _B24:
    def __init__(self, session: Session, say: Progress) -> None:
        self.s = session
        self.c: B24Client = session.client  # type: ignore[assignment]
        self.say = say
        self.done = Applied()
        self.cats = session.entry["pipelines"]

    def step(self, text: str) -> None:
        self.s.lock.save()
        self.done.steps += 1
        self.say(text)

    def run(self, ops: list[Any]) -> Applied:
        from funnelc.targets.crm_ops import Entity

        creates = _by_type(ops, "Create")
        new_cats = [op for op in creates if op.ref.entity is Entity.PIPELINE]
        presets = self.create_categories(new_cats)
        commands: list[tuple[Command, Callable[[Any], None]]] = []
        for op in new_cats:
            commands += self.seeded_commands(op.desired, presets[op.desired.key])
        commands += self.category_edits(_by_type(ops, "Rename", "Reorder"))
        commands += self.stage_commands(ops)
        commands += self.field_commands(ops)
        self.send(commands)
        self.deletes(_by_type(ops, "Delete"))
        return self.done

    def send(self, commands: list[tuple[Command, Callable[[Any], None]]]) -> None:
        """Every command in full batches of 50, the lock saved after each batch."""
        for start in range(0, len(commands), 50):
            chunk = commands[start : start + 50]
            results, errors, _totals = self.c.batch([c for c, _ in chunk])
            for command, done in chunk:
                if command.key in results:
                    done(results[command.key])
            self.step(_("sent {n} command(s)").format(n=len(chunk)))
            if errors:
                key, error = next(iter(errors.items()))
                method = next(c.method for c, _ in chunk if c.key == key)
                raise SyncError(f"{method}: {error.get('error_description', error)}")

    def create_categories(self, ops: list[Any]) -> dict[str, list[dict[str, Any]]]:
        todo = [op.desired for op in ops if op.desired.key not in self.cats]
        commands = [
            Command(
                f"cat{i}",
                "crm.category.add",
                {"entityTypeId": 2, "fields": {"name": c.name, "sort": c.sort}},
            )
            for i, c in enumerate(todo)
        ]
        for start in range(0, len(commands), 50):
            chunk = commands[start : start + 50]
            results, errors, _t = self.c.batch(chunk)
            for i, command in enumerate(chunk):
                if command.key in results:
                    cat = todo[start + i]
                    self.cats[cat.key] = {
                        "id": int(results[command.key]["category"]["id"]),
                        "stages": {},
                    }
            self.step(_("created {n} pipeline(s)").format(n=len(results)))
            if errors:
                raise SyncError(f"crm.category.add: {next(iter(errors.values()))}")
        # The presets the portal seeded each new category with (§0), read back by id.
        lists = [
            Command(
                f"l{i}",
                "crm.status.list",
                {"filter": {"ENTITY_ID": f"DEAL_STAGE_{self.cats[op.desired.key]['id']}"}},
            )
            for i, op in enumerate(ops)
        ]
        results, errors, _t = self.c.batch(lists)
        if errors:
            raise SyncError(f"crm.status.list: {next(iter(errors.values()))}")
        return {op.desired.key: list(results.get(f"l{i}") or []) for i, op in enumerate(ops)}

    def _remember(self, parent: str, key: str) -> Callable[[Any], None]:
        def done(result: Any) -> None:
            if parent == "lead":
                self.s.entry["lead_statuses"][key] = int(result)
            else:
                self.cats[parent]["stages"][key] = int(result)

        return done

    def _known(self, parent: str, key: str, row_id: int) -> Callable[[Any], None]:
        return lambda result: self._remember(parent, key)(row_id)

    def seeded_commands(
        self, cat: Any, rows: list[dict[str, Any]]
    ) -> list[tuple[Command, Callable[[Any], None]]]:
        """A new category: rename / re-sort the presets the funnel keeps, delete the others
        (a fresh category holds no deals, and the portal refuses otherwise), add the rest."""
        cid = self.cats[cat.key]["id"]
        prefix = f"C{cid}:"
        by_code = {str(r["STATUS_ID"]).removeprefix(prefix): r for r in rows}
        locked = self.cats[cat.key]["stages"]
        first: list[tuple[Command, Callable[[Any], None]]] = []
        later: list[tuple[Command, Callable[[Any], None]]] = []
        adds: list[tuple[Command, Callable[[Any], None]]] = []
        kept = set()
        for s in cat.stages:
            row = by_code.get(s.status_id)
            if row is not None:
                kept.add(s.status_id)
                fields = {"NAME": s.name or row["NAME"], "SORT": s.sort}
                if s.color:
                    fields["COLOR"] = s.color
                cmd = Command(
                    f"u{cid}_{row['ID']}",
                    "crm.status.update",
                    {"id": int(row["ID"]), "fields": fields},
                )
                item = (cmd, self._known(cat.key, s.key, int(row["ID"])))
                (first if s.semantics.value else later).append(item)
            elif s.key not in locked:
                adds.append(self._add(cat.key, f"DEAL_STAGE_{cid}", s, cid))
        deletes = [
            (
                Command(f"d{cid}_{r['ID']}", "crm.status.delete", {"id": int(r["ID"])}),
                lambda result: None,
            )
            for code, r in by_code.items()
            if code not in kept and r.get("SYSTEM") != "Y"
        ]
        return [*deletes, *first, *later, *adds]

    def _add(
        self, parent: str, entity: str, s: Any, cid: int | None
    ) -> tuple[Command, Callable[[Any], None]]:
        fields: dict[str, Any] = {
            "ENTITY_ID": entity,
            "STATUS_ID": s.status_id,
            "NAME": s.name or s.status_id,
            "SORT": s.sort,
        }
        if s.semantics.value:
            fields["SEMANTICS"] = s.semantics.value
        if s.color:
            fields["COLOR"] = s.color
        key = f"a{cid if cid is not None else 'L'}_{s.key}"
        return Command(key, "crm.status.add", {"fields": fields}), self._remember(parent, s.key)

    def category_edits(self, ops: list[Any]) -> list[tuple[Command, Callable[[Any], None]]]:
        from funnelc.targets.crm_ops import Entity

        fields: dict[Any, dict[str, Any]] = {}
        for op in ops:
            if op.ref.entity is not Entity.PIPELINE:
                continue
            now = next(c for c in self.s.current.categories if c.id == op.ref.id)
            body = fields.setdefault(op.ref.id, {"name": now.name, "sort": now.sort})
            body["name" if type(op).__name__ == "Rename" else "sort"] = op.after
        return [
            (
                Command(
                    f"cu{cid}",
                    "crm.category.update",
                    {"entityTypeId": 2, "id": cid, "fields": body},
                ),
                lambda result: None,
            )
            for cid, body in fields.items()
        ]

    def stage_commands(self, ops: list[Any]) -> list[tuple[Command, Callable[[Any], None]]]:
        from funnelc.sync.plan import _b24_stage
        from funnelc.targets.crm_ops import Entity

        updates: dict[Any, dict[str, Any]] = {}
        semantics: dict[Any, str] = {}
        keys: dict[Any, tuple[str, str]] = {}
        for op in ops:
            kind = type(op).__name__
            if op.ref.entity is not Entity.STAGE or kind not in ("Rename", "Recolour", "Reorder"):
                continue
            now, _cid = _b24_stage(self.s.current, op.ref)
            if now is None:
                continue
            body = updates.setdefault(now.id, {"NAME": now.name, "SORT": now.sort})
            if now.color:
                body.setdefault("COLOR", now.color)
            semantics[now.id] = now.semantics.value
            keys[now.id] = (op.ref.parent or "", op.ref.key)
            if kind == "Rename":
                body["NAME"] = op.after
            elif kind == "Recolour":
                body["COLOR"] = op.after
            else:
                body["SORT"] = op.after
        # Success and failure stages first, so an in-progress stage never lands after one.
        order = sorted(updates, key=lambda i: (semantics[i] == "", i))
        out = [
            (
                Command(f"su{i}", "crm.status.update", {"id": i, "fields": updates[i]}),
                self._known(*keys[i], i),
            )
            for i in order
        ]
        for op in ops:
            if type(op).__name__ != "Create" or op.ref.entity is not Entity.STAGE:
                continue
            parent = op.ref.parent
            if parent == "lead":
                if op.ref.key in self.s.entry["lead_statuses"]:
                    continue
                out.append(self._add("lead", "STATUS", op.desired, None))
            else:
                cid = self.cats[parent]["id"]
                if op.ref.key in self.cats[parent]["stages"]:
                    continue
                entity = "DEAL_STAGE" if cid == 0 else f"DEAL_STAGE_{cid}"
                out.append(self._add(parent, entity, op.desired, cid))
        return out

    def field_commands(self, ops: list[Any]) -> list[tuple[Command, Callable[[Any], None]]]:
        from funnelc.targets.crm_ops import Entity

        locked = self.s.entry["fields"]
        out: list[tuple[Command, Callable[[Any], None]]] = []
        for op in ops:
            if op.ref.entity is not Entity.FIELD:
                continue
            kind = type(op).__name__
            if kind == "Create":
                f = op.desired
                path = f"{f.entity}/{f.key}"
                if path in locked:
                    continue
                fields: dict[str, Any] = {
                    "FIELD_NAME": f.field_name,
                    "USER_TYPE_ID": f.user_type,
                    "LABEL": f.label,
                    "EDIT_FORM_LABEL": f.label,
                    "MULTIPLE": "Y" if f.multiple else "N",
                    "MANDATORY": "Y" if f.mandatory else "N",
                    "SORT": f.sort,
                }
                if f.settings:
                    fields["SETTINGS"] = dict(f.settings)
                if f.values:
                    fields["LIST"] = [{"VALUE": v.value, "SORT": v.sort} for v in f.values]

                def done(result: Any, path: str = path) -> None:
                    locked[path] = {"id": int(result), "enums": {}}

                out.append(
                    (
                        Command(
                            f"f_{f.entity}_{f.key}",
                            f"crm.{f.entity}.userfield.add",
                            {"fields": fields},
                        ),
                        done,
                    )
                )
            elif kind == "FieldChange":
                now, want = op.current, op.desired
                have = {v.value for v in now.values}
                body: dict[str, Any] = {
                    "LABEL": want.label,
                    "MANDATORY": "Y" if want.mandatory else "N",
                }
                extra = [
                    {"VALUE": v.value, "SORT": v.sort} for v in want.values if v.value not in have
                ]
                if extra:
                    body["LIST"] = extra  # values the funnel dropped are kept (deals use them)
                out.append(
                    (
                        Command(
                            f"fu_{now.entity}_{now.id}",
                            f"crm.{now.entity}.userfield.update",
                            {"id": now.id, "fields": body},
                        ),
                        lambda result: None,
                    )
                )
        return out

    def deletes(self, ops: list[Any]) -> None:
        from funnelc.sync.plan import _b24_stage, count_deals
        from funnelc.targets.crm_ops import Entity

        if not ops:
            return
        # Ask again right before deleting (the portal refuses too, but say why).
        deals = count_deals(self.s, ops)
        commands: list[tuple[Command, Callable[[Any], None]]] = []
        for op in ops:
            ref = op.ref
            if deals.get(ref.path):
                self.done.refused.append(ref.path)
                self.say(_("kept {path}: it holds deals now").format(path=ref.path))
                continue
            if ref.entity is Entity.STAGE:
                stage, _cid = _b24_stage(self.s.current, ref)
                if stage is None or stage.system:
                    continue

                def forget(result: Any, ref: Any = ref) -> None:
                    table = (
                        self.s.entry["lead_statuses"]
                        if ref.parent == "lead"
                        else self.cats.get(ref.parent, {}).get("stages", {})
                    )
                    for k in [k for k, v in table.items() if v == ref.id]:
                        del table[k]

                commands.append(
                    (Command(f"del{ref.id}", "crm.status.delete", {"id": ref.id}), forget)
                )
            elif ref.entity is Entity.PIPELINE:
                commands.append(
                    (
                        Command(
                            f"delc{ref.id}",
                            "crm.category.delete",
                            {"entityTypeId": 2, "id": ref.id},
                        ),
                        self._forget_category(ref.key),
                    )
                )
            elif ref.entity is Entity.FIELD:
                commands.append(
                    (
                        Command(
                            f"delf{ref.parent}{ref.id}",
                            f"crm.{ref.parent}.userfield.delete",
                            {"id": ref.id},
                        ),
                        self._forget_field(f"{ref.parent}/{ref.key}"),
                    )
                )
        self.send(commands)

    def _forget_category(self, key: str) -> Callable[[Any], None]:
        return lambda result: self.cats.pop(key, None)

    def _forget_field(self, path: str) -> Callable[[Any], None]:
        return lambda result: self.s.entry["fields"].pop(path, None)


__all__ = ["Applied", "apply_plan", "full_id"]
