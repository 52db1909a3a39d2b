"""Operations → requests (``targets/<crm>/requests.py``), sent over HTTP to the faithful fakes
(``funnelc.fakes``): from an empty account, applying ``diff(current, desired)`` gives an
account that diffs empty; a rename and a reorder then update in place (same CRM id); a field
edit keeps its enum ids."""

from __future__ import annotations

import dataclasses
import importlib
from typing import TYPE_CHECKING, Any

from tests.crm_sim.harness import SWITCH, AmoAccount, amo_state, b24_state

if TYPE_CHECKING:
    from targets import crm_ops as ops
    from targets.amocrm import diff as amo_diff
    from targets.amocrm import requests as amo_requests
    from targets.amocrm import state as amo
    from targets.bitrix24 import diff as b24_diff
    from targets.bitrix24 import requests as b24_requests
    from targets.bitrix24 import state as b24
else:
    ops = importlib.import_module("funnelc.targets.crm_ops")
    amo = importlib.import_module("funnelc.targets.amocrm.state")
    amo_diff = importlib.import_module("funnelc.targets.amocrm.diff")
    amo_requests = importlib.import_module("funnelc.targets.amocrm.requests")
    b24 = importlib.import_module("funnelc.targets.bitrix24.state")
    b24_diff = importlib.import_module("funnelc.targets.bitrix24.diff")
    b24_requests = importlib.import_module("funnelc.targets.bitrix24.requests")

replace = dataclasses.replace


class AmoApply:
    """The smallest apply loop over the interfaces: read, diff, send each operation's requests
    in order, bind the ids the replies give (the lock file)."""

    def __init__(self, account: AmoAccount) -> None:
        self.origin = SWITCH.serve(account)
        self.http = SWITCH.http()
        self.headers = {"Authorization": f"Bearer {account.token}"}
        self.ids: dict[tuple[str, str, str], int] = {}
        self.writes = 0

    def call(self, method: str, path: str, body: Any = None) -> Any:
        reply = self.http.request(
            method, self.origin + path, json=body, headers=self.headers, timeout=10
        )
        assert reply.status_code < 400, (method, path, reply.text)
        if method != "GET":
            self.writes += 1
        return None if reply.status_code == 204 or not reply.content else reply.json()

    def items(self, path: str, name: str) -> list[dict[str, Any]]:
        data = self.call("GET", path)
        return [] if data is None else list(data["_embedded"][name])

    def keys(self) -> dict[tuple[str, int], str]:
        out: dict[tuple[str, int], str] = {}
        pipelines = {key: i for (entity, _, key), i in self.ids.items() if entity == "pipeline"}
        for (entity, parent, key), i in self.ids.items():
            if entity in ("pipeline", "field", "loss_reason"):
                out[(entity, i)] = key
            elif entity == "stage":
                out[(f"status:{pipelines[parent]}", i)] = key
        return out

    def current(self) -> amo.Account:
        return amo.account_from_api(
            self.items("/api/v4/leads/pipelines?with=descriptions", "pipelines"),
            self.items("/api/v4/leads/custom_fields?limit=250", "custom_fields"),
            self.items("/api/v4/leads/loss_reasons", "loss_reasons"),
            keys=self.keys(),
        )

    def apply(self, desired: amo.Account) -> list[Any]:
        current = self.current()
        operations = amo_diff.diff(current, desired)
        for request in amo_requests.build(operations, current, desired):
            method, path, body = request.resolved(
                lambda ref: self.ids[(ref.entity, ref.parent, ref.key)]
            )
            for ref, made in amo_requests.bind(request, self.call(method, path, body)).items():
                self.ids[(ref.entity, ref.parent, ref.key)] = made
        return operations


def test_amocrm_apply_from_empty_then_nothing_to_do() -> None:
    account = AmoAccount()
    run = AmoApply(account)
    desired = amo_state()
    first = run.apply(desired)
    assert first and all(isinstance(op, ops.Create) for op in first)
    writes = run.writes
    assert amo_diff.diff(run.current(), desired) == []
    assert run.apply(desired) == [] and run.writes == writes  # a second apply writes nothing


def test_amocrm_rename_reorder_and_field_edit_in_place() -> None:
    account = AmoAccount()
    run = AmoApply(account)
    desired = amo_state()
    run.apply(desired)
    pipeline = next(p for p in desired.pipelines if len(p.open) >= 3)
    a, b, *rest = pipeline.open
    ids_before = dict(run.ids)
    field = next(f for f in desired.fields if f.enums)
    enums_before = {
        e.value: e.id for e in next(f for f in run.current().fields if f.key == field.key).enums
    }
    moved = (b, a, *rest)
    statuses = (
        *(
            replace(s, sort=10 * (i + 2), name=s.name + " (новое)" if s is a else s.name)
            for i, s in enumerate(moved)
        ),
        *(s for s in pipeline.statuses if s.system),
    )
    changed = replace(
        desired,
        pipelines=tuple(
            replace(p, statuses=statuses) if p.key == pipeline.key else p for p in desired.pipelines
        ),
        fields=tuple(
            replace(f, enums=(*f.enums, amo.Enum("new", "Новое значение", 999)))
            if f.key == field.key
            else f
            for f in desired.fields
        ),
    )
    operations = run.apply(changed)
    kinds = sorted(ops.kind(op) for op in operations)
    assert kinds == ["field-change", "rename", "reorder"], kinds
    assert {k: run.ids[k] for k in ids_before} == ids_before  # nothing was re-created
    assert {k for k in run.ids if k[0] != "enum"} == {k for k in ids_before if k[0] != "enum"}
    assert amo_diff.diff(run.current(), changed) == []
    enums_now = next(f for f in run.current().fields if f.key == field.key).enums
    kept = {e.value: e.id for e in enums_now if e.value != "Новое значение"}
    assert kept == enums_before  # the edit kept every enum id (none deleted and re-made)


def test_amocrm_many_moves_and_inserts_in_one_pipeline_follow_the_renumbering() -> None:
    """The server renumbers 20, 30, … after every create or move (crm-apis.md §0): the builder
    follows that through its steps, so reversing a pipeline and inserting statuses between the
    moved ones ends in the desired order, with one POST for the new statuses and one PATCH per
    moved status, each status edit merged into its move."""
    account = AmoAccount()
    run = AmoApply(account)
    desired = amo_state()
    run.apply(desired)
    pipeline = max(desired.pipelines, key=lambda p: len(p.open))
    assert len(pipeline.open) >= 4
    reversed_open = list(reversed(pipeline.open))
    new = [amo.Status(f"new{i}", f"Новый этап {i}", 0, "#fffeb2") for i in range(2)]
    wanted = [reversed_open[0], new[0], *reversed_open[1:3], new[1], *reversed_open[3:]]
    wanted[1 + 1] = replace(wanted[2], name=wanted[2].name + " (переименован)")
    statuses = (
        *(replace(s, sort=20 + 10 * i) for i, s in enumerate(wanted)),
        *(s for s in pipeline.statuses if s.system),
    )
    changed = replace(
        desired,
        pipelines=tuple(
            replace(p, statuses=statuses) if p.key == pipeline.key else p for p in desired.pipelines
        ),
    )
    current = run.current()
    steps = amo_requests.build(amo_diff.diff(current, changed), current, changed)
    posts = [r for r in steps if r.method == "POST"]
    assert len(posts) == 1 and len(posts[0].body) == 2
    patches = [r for r in steps if r.method == "PATCH"]
    assert all("sort" in r.body for r in patches)  # the rename rode along with a move
    assert len(patches) < len(pipeline.open)
    run.apply(changed)
    assert amo_diff.diff(run.current(), changed) == []
    now = next(p for p in run.current().pipelines if p.key == pipeline.key)
    assert [s.key for s in now.open] == [s.key for s in wanted]


# ---- Bitrix24 --------------------------------------------------------------------------------


class B24Apply:
    """The smallest apply loop for Bitrix24: read every page, diff, build, call, bind (the
    builder reads a new category's presets back itself)."""

    def __init__(self, portal: Any) -> None:
        self.url = SWITCH.serve(portal) + portal.webhook_path
        self.http = SWITCH.http()
        self.ids: dict[tuple[str, str, str], int] = {}
        self.writes = 0

    def call(self, method: str, params: dict[str, Any]) -> Any:
        reply = self.http.post(f"{self.url}{method}.json", json=params, timeout=10)
        assert reply.status_code < 400, (method, params, reply.text)
        if not method.endswith(".list"):
            self.writes += 1
        return reply.json()

    def every(self, method: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        start = 0
        while True:
            data = self.call(method, {**params, "start": start})
            result = data["result"]
            rows += result["categories"] if isinstance(result, dict) else result
            if "next" not in data:
                return rows
            start = data["next"]

    def keys(self) -> dict[tuple[str, int], str]:
        out: dict[tuple[str, int], str] = {}
        for (entity, parent, key), i in self.ids.items():
            out[(entity if entity != "field" else f"field:{parent}", i)] = key
        return out

    def current(self) -> b24.Portal:
        return b24.portal_from_api(
            self.every("crm.category.list", {"entityTypeId": 2}),
            self.every("crm.status.list", {}),
            self.every("crm.deal.userfield.list", {}),
            self.every("crm.lead.userfield.list", {}),
            keys=self.keys(),
        )

    def apply(self, desired: b24.Portal) -> list[Any]:
        """One pass: the builder's batches in order (each command sent on its own here),
        references resolved to the ids earlier replies bound."""
        current = self.current()
        operations = b24_diff.diff(current, desired)
        for batch in b24_requests.build(operations, current, desired):
            assert len(batch.commands) <= 50
            for command in batch.commands:
                params = command.resolved(self.ids)
                result = self.call(command.method, params)["result"]
                for bind in command.binds:
                    self.ids[bind.key] = bind.value(result)
        return operations


def test_bitrix24_apply_from_empty_then_nothing_to_do() -> None:
    from tests.crm_sim.harness import B24Portal

    run = B24Apply(B24Portal())
    desired = b24_state()
    first = run.apply(desired)
    assert first
    writes = run.writes
    assert run.apply(desired) == [] and run.writes == writes
    portal_rows = run.every("crm.status.list", {"filter": {"ENTITY_ID": "STATUS"}})
    assert {r["STATUS_ID"] for r in portal_rows}.isdisjoint({"IN_PROCESS", "PROCESSED"})


def test_bitrix24_rename_and_reorder_send_name_and_sort_together() -> None:
    from tests.crm_sim.harness import B24Portal

    run = B24Apply(B24Portal())
    desired = b24_state()
    run.apply(desired)
    category = desired.categories[0]
    stage = next(s for s in category.stages if not s.system and not s.semantics.value)
    changed = replace(
        desired,
        categories=(
            replace(
                category,
                stages=tuple(
                    replace(s, name="Новое имя") if s.key == stage.key else s
                    for s in category.stages
                ),
            ),
            *desired.categories[1:],
        ),
    )
    before = next(s for s in run.current().categories[0].stages if s.status_id == stage.status_id)
    operations = run.apply(changed)
    assert [ops.kind(op) for op in operations] == ["rename"]
    after = next(s for s in run.current().categories[0].stages if s.status_id == stage.status_id)
    assert (after.id, after.name, after.sort) == (before.id, "Новое имя", before.sort)
