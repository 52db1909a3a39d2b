"""A plan's operations as requests; the lock file saved after every step the CRM confirmed.

Resumable and idempotent by construction: every step reads nothing it did not just get from
the CRM, writes the ids it learnt to the lock at once (atomically), and a run after a kill
re-reads the account, so ``diff`` finds what exists (by the lock's keys, by ``STATUS_ID`` on
Bitrix24, by name for a status amoCRM made before the lock heard of it) and plans only the
rest.  Nothing is deleted that holds deals: each delete asks the CRM again right before it.

amoCRM (crm-apis.md §0, §1): new pipelines in one ``POST`` of up to 50, each with its first
status and 142/143 renamed; the other statuses in one ``POST .../statuses`` per pipeline with
``request_id`` and descriptions (never mapped by ``sort``); edits of one status merged into one
``PATCH``; order by the fewest moves; a field edit sends ``name`` and every enum with its id.

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

    def pid(self, key: str) -> int:
        return int(self.pipes[key]["id"])

    def run(self, ops: list[Any]) -> Applied:
        from funnelc.targets.crm_ops import Entity

        creates = _by_type(ops, "Create")
        self.create_pipelines([op for op in creates if op.ref.entity is Entity.PIPELINE])
        stage_creates = [op for op in creates if op.ref.entity is Entity.STAGE]
        self.create_statuses(stage_creates)
        self.edits(_by_type(ops, "Rename", "Recolour", "Change"))
        reorder = {op.ref.parent for op in ops if type(op).__name__ == "Reorder"}
        reorder |= {op.ref.parent for op in stage_creates}
        for parent in sorted(p for p in reorder if p):
            self.order(parent)
        self.fields(
            [op for op in creates if op.ref.entity is Entity.FIELD],
            _by_type(ops, "FieldChange"),
        )
        self.reasons([op for op in creates if op.ref.entity is Entity.LOSS_REASON])
        self.deletes(_by_type(ops, "Delete"))
        return self.done

    @staticmethod
    def _status_body(status: Any, sort: int) -> dict[str, Any]:
        body: dict[str, Any] = {"name": status.name, "sort": sort}
        if status.color:
            body["color"] = status.color
        return body

    def create_pipelines(self, ops: list[Any]) -> None:
        for start in range(0, len(ops), 50):
            chunk = ops[start : start + 50]
            body = []
            for i, op in enumerate(chunk):
                p = op.desired
                first = p.open[0]
                embedded = [self._status_body(first, 10)]
                embedded += [{"id": s.system_id, "name": s.name} for s in p.statuses if s.system]
                body.append(
                    {
                        "name": p.name,
                        "sort": p.sort,
                        "is_main": False,
                        "is_unsorted_on": p.is_unsorted_on,
                        "request_id": str(i + 1),
                        "_embedded": {"statuses": embedded},
                    }
                )
            data = self.c.call("POST", "/api/v4/leads/pipelines", body)
            replies = {r.get("request_id"): r for r in data["_embedded"]["pipelines"]}
            for i, op in enumerate(chunk):
                reply = replies.get(str(i + 1)) or data["_embedded"]["pipelines"][i]
                p = op.desired
                editable = [
                    s
                    for s in reply["_embedded"]["statuses"]
                    if s.get("type", 0) == 0 and s["id"] not in (142, 143)
                ]
                # §0: the one editable status is the first one sent (by name and order).
                stages = {"won": 142, "lost": 143, p.open[0].key: editable[0]["id"]}
                self.pipes[p.key] = {"id": reply["id"], "stages": stages}
            self.step(_("created {n} pipeline(s)").format(n=len(chunk)))
        for op in ops:
            p = op.desired
            rest = list(p.open[1:])
            self._post_statuses(p.key, rest, base=30)
            first = p.open[0]
            if first.descriptions:
                sid = self.pipes[p.key]["stages"][first.key]
                self.c.call(
                    "PATCH",
                    f"/api/v4/leads/pipelines/{self.pid(p.key)}/statuses/{sid}",
                    {"descriptions": _descriptions(first)},
                )
                self.step(_("described stage {path}").format(path=f"{p.key}/{first.key}"))

    def _post_statuses(self, pkey: str, statuses: list[Any], base: int) -> None:
        stages = self.pipes[pkey].setdefault("stages", {})
        todo = [s for s in statuses if s.key not in stages]
        for start in range(0, len(todo), 50):
            chunk = todo[start : start + 50]
            body = []
            for i, s in enumerate(chunk):
                item = self._status_body(s, base + 10 * (start + i))
                item["request_id"] = s.key
                if s.descriptions:
                    item["descriptions"] = _descriptions(s)
                body.append(item)
            data = self.c.call("POST", f"/api/v4/leads/pipelines/{self.pid(pkey)}/statuses", body)
            for reply in data["_embedded"]["statuses"]:
                stages[reply["request_id"]] = reply["id"]
            self.step(_("created {n} stage(s) in {pipeline}").format(n=len(chunk), pipeline=pkey))

    def create_statuses(self, ops: list[Any]) -> None:
        by_pipe: dict[str, list[Any]] = {}
        for op in ops:
            by_pipe.setdefault(op.ref.parent, []).append(op.desired)
        for pkey, statuses in by_pipe.items():
            self._post_statuses(pkey, statuses, base=9000)  # placed by order() below

    def edits(self, ops: list[Any]) -> None:
        from funnelc.targets.crm_ops import Entity

        bodies: dict[tuple[str, Any, str | None], dict[str, Any]] = {}
        for op in ops:
            kind = type(op).__name__
            target = (op.ref.entity.value, op.ref.id, op.ref.parent)
            body = bodies.setdefault(target, {})
            if kind == "Rename":
                body["name"] = op.after
            elif kind == "Recolour":
                body["color"] = op.after
            elif op.attribute == "descriptions":
                body["descriptions"] = [
                    {"level": lv, "description": t}
                    for lv, t in sorted(op.after, key=lambda d: _LEVELS.index(d[0]))
                ]
            else:
                body[op.attribute] = op.after
        for (entity, ident, parent), body in bodies.items():
            if entity == Entity.PIPELINE.value:
                self.c.call("PATCH", f"/api/v4/leads/pipelines/{ident}", body)
            elif entity == Entity.STAGE.value:
                pid = self.pid(parent or "")
                self.c.call("PATCH", f"/api/v4/leads/pipelines/{pid}/statuses/{ident}", body)
            elif entity == Entity.LOSS_REASON.value:
                self.c.call("PATCH", f"/api/v4/leads/loss_reasons/{ident}", body)
            self.step(_("updated {entity} {id}").format(entity=entity, id=ident))

    def order(self, pkey: str) -> None:
        """Put the open statuses of ``pkey`` in the desired order with the fewest moves: the
        server renumbers 20, 30, … after every change (§0), so a status moved after ``x``
        gets ``x``'s number + 5 and lands between ``x`` and the next."""
        from funnelc.targets.crm_ops import moved

        want = self.s.desired.pipeline(pkey)
        if want is None:
            return
        pid = self.pid(pkey)
        key_of = {v: k for k, v in self.pipes[pkey]["stages"].items()}
        data = self.c.call("GET", f"/api/v4/leads/pipelines/{pid}/statuses") or {}
        rows = [
            s
            for s in data.get("_embedded", {}).get("statuses", [])
            if s.get("type", 0) == 0 and s["id"] not in (142, 143)
        ]
        rows.sort(key=lambda s: (s["sort"], s["id"]))
        order = [key_of.get(s["id"], f"#{s['id']}") for s in rows]
        desired = [s.key for s in want.open]
        to_move = moved([k for k in order if k in set(desired)], desired)
        if not to_move:
            return
        sorts = {key: int(s["sort"]) for key, s in zip(order, rows, strict=True)}
        current = list(order)
        for i, key in enumerate(desired):
            if key not in to_move:
                continue
            before = desired[i - 1] if i else None
            sort = sorts[before] + 5 if before in current else sorts[current[0]] - 5
            current.remove(key)
            at = current.index(before) + 1 if before in current else 0
            current.insert(at, key)
            sid = self.pipes[pkey]["stages"][key]
            self.c.call("PATCH", f"/api/v4/leads/pipelines/{pid}/statuses/{sid}", {"sort": sort})
            # §0: the server renumbers the editable statuses 20, 30, … after a change.
            sorts = {k: 20 + 10 * n for n, k in enumerate(current)}
            self.step(_("moved stage {path}").format(path=f"{pkey}/{key}"))

    def _required(self, f: Any) -> list[dict[str, int]]:
        out = []
        for r in f.required:
            p = self.pipes.get(r.pipeline)
            sid = (p or {}).get("stages", {}).get(r.status)
            if p is not None and sid is not None and sid not in (142, 143):
                out.append({"pipeline_id": p["id"], "status_id": sid})
        return out

    def fields(self, creates: list[Any], changes: list[Any]) -> None:
        locked = self.s.entry["fields"]
        todo = [op for op in creates if op.ref.key not in locked]
        for start in range(0, len(todo), 50):
            chunk = todo[start : start + 50]
            body = []
            for op in chunk:
                f = op.desired
                item: dict[str, Any] = {
                    "name": f.name,
                    "type": f.type,
                    "sort": f.sort,
                    "request_id": f.key,
                    "required_statuses": self._required(f),
                }
                if f.code:
                    item["code"] = f.code
                if f.enums:
                    item["enums"] = [{"value": e.value, "sort": e.sort} for e in f.enums]
                if f.currency:
                    item["currency"] = f.currency
                body.append(item)
            data = self.c.call("POST", "/api/v4/leads/custom_fields", body)
            for reply in data["_embedded"]["custom_fields"]:
                locked[reply["request_id"]] = {
                    "id": reply["id"],
                    "enums": {str(e["value"]): e["id"] for e in reply.get("enums") or ()},
                }
            self.step(_("created {n} field(s)").format(n=len(chunk)))
        body = []
        for op in changes:
            now, want = op.current, op.desired
            current_ids = {e.value: e.id for e in now.enums}
            item = {"id": now.id, "name": want.name, "sort": want.sort}
            if want.enums or now.enums:
                enums = [
                    {"id": current_ids[e.value], "value": e.value, "sort": e.sort}
                    if e.value in current_ids
                    else {"value": e.value, "sort": e.sort}
                    for e in want.enums
                ]
                wanted = {e.value for e in want.enums}
                # A value the funnel dropped is kept: deleting it would wipe it from deals.
                enums += [
                    {"id": e.id, "value": e.value, "sort": e.sort}
                    for e in now.enums
                    if e.value not in wanted
                ]
                item["enums"] = enums
            raw = (self.s.raw_fields or {}).get(now.id, {})
            managed = self._required(want)
            keep = [
                {"pipeline_id": r["pipeline_id"], "status_id": r["status_id"]}
                for r in raw.get("required_statuses") or ()
                if r["pipeline_id"] not in {p["id"] for p in self.pipes.values()}
            ]
            item["required_statuses"] = managed + keep
            body.append(item)
        for start in range(0, len(body), 50):
            data = self.c.call("PATCH", "/api/v4/leads/custom_fields", body[start : start + 50])
            for reply in data["_embedded"]["custom_fields"]:
                key = next((k for k, v in locked.items() if v["id"] == reply["id"]), None)
                if key is not None:
                    locked[key]["enums"] = {
                        str(e["value"]): e["id"] for e in reply.get("enums") or ()
                    }
            self.step(_("updated {n} field(s)").format(n=len(body[start : start + 50])))

    def reasons(self, creates: list[Any]) -> None:
        locked = self.s.entry["loss_reasons"]
        todo = [op.desired for op in creates if op.ref.key not in locked]
        for start in range(0, len(todo), 50):
            chunk = todo[start : start + 50]
            body = [
                {"name": r.name, "sort": r.sort, "request_id": str(start + i + 1)}
                for i, r in enumerate(chunk)
            ]
            data = self.c.call("POST", "/api/v4/leads/loss_reasons", body)
            by_rid = {r["request_id"]: r["id"] for r in data["_embedded"]["loss_reasons"]}
            for i, r in enumerate(chunk):
                locked[r.key] = by_rid[str(start + i + 1)]
            self.step(_("created {n} loss reason(s)").format(n=len(chunk)))

    def deletes(self, ops: list[Any]) -> None:
        from funnelc.targets.crm_ops import Entity

        for op in ops:
            ref = op.ref
            if ref.entity is Entity.STAGE:
                pid = self.pid(ref.parent)
                # The API would move the leads to the first stage (§0): ask right before.
                if self.c.count_leads(pid, int(ref.id), pages=1):
                    self.done.refused.append(ref.path)
                    self.say(_("kept stage {path}: it holds deals now").format(path=ref.path))
                    continue
                self.c.call("DELETE", f"/api/v4/leads/pipelines/{pid}/statuses/{ref.id}")
                stages = self.pipes[ref.parent].get("stages", {})
                for k in [k for k, v in stages.items() if v == ref.id]:
                    del stages[k]
            elif ref.entity is Entity.PIPELINE:
                if self.c.count_leads(int(ref.id), pages=1):
                    self.done.refused.append(ref.path)
                    self.say(_("kept pipeline {path}: it holds deals now").format(path=ref.path))
                    continue
                self.c.call("DELETE", f"/api/v4/leads/pipelines/{ref.id}")
                self.pipes.pop(ref.key, None)
            elif ref.entity is Entity.FIELD:
                self.c.call("DELETE", f"/api/v4/leads/custom_fields/{ref.id}")
                self.s.entry["fields"].pop(ref.key, None)
            else:
                self.c.call("DELETE", f"/api/v4/leads/loss_reasons/{ref.id}")
                self.s.entry["loss_reasons"].pop(ref.key, None)
            self.step(_("deleted {what}").format(what=ref.path))


_LEVELS = ("newbie", "candidate", "master")  # §1.3: one description per level, this order


def _descriptions(status: Any) -> list[dict[str, str]]:
    return [
        {"level": d.level, "description": d.text}
        for d in sorted(status.descriptions, key=lambda d: _LEVELS.index(d.level))
    ]


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
