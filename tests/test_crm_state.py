"""The desired state of both CRM targets and ``diff(current, desired)``: every example maps to
a state; the diff against an empty account creates everything; an account equal to the
desired one (whatever sorts amoCRM renumbered) needs nothing; a rename, a re-key, a reorder, a
removal and an immutable change each give exactly the operation they should."""

from __future__ import annotations

import dataclasses
import importlib
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from funnelc.emit import EmitOptions
from tests.crm_sim.harness import amo_state, b24_state, examples, project_of

if TYPE_CHECKING:
    from targets import crm_ops as ops
    from targets.amocrm import desired as amo_desired
    from targets.amocrm import diff as amo_diff
    from targets.amocrm import state as amo
    from targets.bitrix24 import desired as b24_desired
    from targets.bitrix24 import diff as b24_diff
    from targets.bitrix24 import state as b24
else:
    ops = importlib.import_module("funnelc.targets.crm_ops")
    amo = importlib.import_module("funnelc.targets.amocrm.state")
    amo_desired = importlib.import_module("funnelc.targets.amocrm.desired")
    amo_diff = importlib.import_module("funnelc.targets.amocrm.diff")
    b24 = importlib.import_module("funnelc.targets.bitrix24.state")
    b24_desired = importlib.import_module("funnelc.targets.bitrix24.desired")
    b24_diff = importlib.import_module("funnelc.targets.bitrix24.diff")

replace = dataclasses.replace


def amo_as_read(account: amo.Account) -> amo.Account:
    """``account`` as amoCRM would hold it: ids given, sorts renumbered by the server."""
    ids = iter(range(1000, 10**6))
    pipelines = tuple(
        replace(
            p,
            id=next(ids),
            statuses=tuple(
                replace(s, id=s.system_id or next(ids), sort=s.sort * 3 + 7) for s in p.statuses
            ),
        )
        for p in account.pipelines
    )
    fields = tuple(
        replace(f, id=next(ids), enums=tuple(replace(e, id=next(ids)) for e in f.enums))
        for f in account.fields
    )
    reasons = tuple(replace(r, id=next(ids)) for r in account.loss_reasons)
    return replace(account, pipelines=pipelines, fields=fields, loss_reasons=reasons)


def b24_as_read(portal: b24.Portal) -> b24.Portal:
    ids = iter(range(1000, 10**6))
    return replace(
        portal,
        categories=tuple(
            replace(c, id=next(ids), stages=tuple(replace(s, id=next(ids)) for s in c.stages))
            for c in portal.categories
        ),
        lead_statuses=tuple(replace(s, id=next(ids)) for s in portal.lead_statuses or ()),
        fields=tuple(replace(f, id=next(ids)) for f in portal.fields),
    )


# ---- the desired states ----------------------------------------------------------------------


def test_amocrm_desired_state_covers_every_example() -> None:
    state = amo_state()
    project = project_of(examples())
    assert {p.key for p in state.pipelines} >= {p.id.name for p in project.pipelines}
    for p in state.pipelines:
        kinds = [s.kind for s in p.statuses]
        assert kinds.count(amo.StatusKind.WON) == 1 and kinds.count(amo.StatusKind.LOST) == 1
        assert len({s.key for s in p.statuses}) == len(p.statuses)
    assert len({f.key for f in state.fields}) == len(state.fields)
    assert len({r.name for r in state.loss_reasons}) == len(state.loss_reasons)


def test_amocrm_monetary_fields_carry_a_currency() -> None:
    state = amo_state({"money": "monetary", "currency": "RUB"})
    monetary = [f for f in state.fields if f.type == "monetary"]
    assert monetary and all(f.currency == "RUB" for f in monetary)
    assert all(f.currency is None for f in state.fields if f.type != "monetary")


def test_bitrix24_desired_state_covers_every_example() -> None:
    state = b24_state()
    project = project_of(examples())
    assert [c.key for c in state.categories] == [p.id.name for p in project.pipelines]
    for c in state.categories:
        semantics = [s.semantics for s in c.stages]
        assert semantics.count(b24.Semantics.SUCCESS) == 1
        # in progress < success < failure, by sort
        ordered = sorted(c.stages, key=lambda s: s.sort)
        rank = {b24.Semantics.PROCESS: 0, b24.Semantics.SUCCESS: 1, b24.Semantics.FAILURE: 2}
        assert [rank[s.semantics] for s in ordered] == sorted(rank[s.semantics] for s in ordered)
        for s in c.stages:
            assert len(s.name) <= b24.STAGE_NAME_MAX
            assert len(s.status_id) <= b24.status_id_limit(99999)
    for f in state.fields:
        assert len(b24.FIELD_PREFIX + f.field_name) <= b24.FIELD_NAME_MAX


def test_the_state_is_computed_once_per_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """check and every pipeline's emit share one analysis of the build (linear emit)."""
    from funnelc.build import emit_all

    module = importlib.import_module("funnelc.targets.bitrix24")
    calls = []
    original = module.Bitrix24Target.analyse

    def counting(self: Any, project: Any, options: Any) -> Any:
        calls.append(1)
        return original(self, project, options)

    monkeypatch.setattr(module.Bitrix24Target, "analyse", counting)
    project = project_of(examples())
    emit_all(project, ["bitrix24", "amocrm"], EmitOptions())
    assert len(project.pipelines) > 1
    assert len(calls) == 1


# ---- the diff: amoCRM --------------------------------------------------------------------------


def test_amocrm_diff_against_an_empty_account_creates_everything() -> None:
    state = amo_state()
    operations = amo_diff.diff(amo.EMPTY, state)
    assert all(isinstance(op, ops.Create) for op in operations)
    created = [op.ref for op in operations]
    assert [r.key for r in created if r.entity is ops.Entity.PIPELINE] == [
        p.key for p in state.pipelines
    ]
    assert {r.key for r in created if r.entity is ops.Entity.FIELD} == {f.key for f in state.fields}
    assert len([r for r in created if r.entity is ops.Entity.LOSS_REASON]) == len(
        state.loss_reasons
    )


def test_amocrm_an_account_as_desired_needs_nothing_whatever_its_sorts() -> None:
    state = amo_state()
    assert amo_diff.diff(amo_as_read(state), state) == []


def test_amocrm_rename_is_an_update_in_place() -> None:
    state = amo_state()
    current = amo_as_read(state)
    pipeline = state.pipelines[0]
    status = pipeline.open[1]
    renamed = replace(
        pipeline,
        statuses=tuple(
            replace(s, name="Новое имя") if s.key == status.key else s for s in pipeline.statuses
        ),
    )
    desired = replace(state, pipelines=(renamed, *state.pipelines[1:]))
    operations = amo_diff.diff(current, desired)
    assert len(operations) == 1
    op = operations[0]
    assert isinstance(op, ops.Rename)
    assert op.after == "Новое имя" and op.ref.key == status.key
    assert op.ref.id == next(s.id for s in current.pipelines[0].statuses if s.key == status.key)


def test_amocrm_one_stage_moved_is_one_reorder() -> None:
    state = amo_state()
    pipeline = next(p for p in state.pipelines if len(p.open) >= 4)
    first, *rest = pipeline.open
    moved_open = (*rest[:2], first, *rest[2:])
    resorted = tuple(replace(s, sort=10 * (i + 2)) for i, s in enumerate(moved_open))
    system = tuple(s for s in pipeline.statuses if s.system)
    desired = replace(
        state,
        pipelines=tuple(
            replace(p, statuses=resorted + system) if p.key == pipeline.key else p
            for p in state.pipelines
        ),
    )
    operations = amo_diff.diff(amo_as_read(state), desired)
    assert [type(op) for op in operations] == [ops.Reorder]
    assert operations[0].ref.key == first.key


def test_amocrm_a_removed_stage_is_deleted_but_never_142_or_143() -> None:
    state = amo_state()
    pipeline = state.pipelines[0]
    gone = pipeline.open[-1]
    current = amo_as_read(state)
    # the current account also has a renamed 143 the funnel no longer renames
    desired = replace(
        state,
        pipelines=(
            replace(pipeline, statuses=tuple(s for s in pipeline.statuses if s.key != gone.key)),
            *state.pipelines[1:],
        ),
    )
    operations = amo_diff.diff(current, desired)
    assert [type(op) for op in operations] == [ops.Delete]
    assert operations[0].ref.key == gone.key and operations[0].ref.id is not None
    without_system = replace(
        desired,
        pipelines=(
            replace(desired.pipelines[0], statuses=desired.pipelines[0].open),
            *desired.pipelines[1:],
        ),
    )
    assert all(
        not (isinstance(op, ops.Delete) and op.ref.id in (142, 143))
        for op in amo_diff.diff(current, without_system)
    )


def test_amocrm_unmanaged_objects_are_adopted_by_name_or_left_alone() -> None:
    state = amo_state()
    current = amo_as_read(state)
    # the lock file is lost: nothing has a key; pipelines and fields are adopted by name/code
    anonymous = replace(
        current,
        pipelines=(
            *(replace(p, key="") for p in current.pipelines),
            amo.Pipeline("", "Someone else's", 5, id=1),
        ),
        fields=tuple(replace(f, key="") for f in current.fields),
        loss_reasons=tuple(replace(r, key="") for r in current.loss_reasons),
    )
    operations = amo_diff.diff(anonymous, state)
    assert not [op for op in operations if isinstance(op, ops.Create | ops.Delete)]


def test_amocrm_field_change_keeps_the_enum_ids_and_a_type_change_is_a_conflict() -> None:
    state = amo_state()
    field = next(f for f in state.fields if f.enums)
    current = amo_as_read(state)
    changed = replace(field, enums=(*field.enums, amo.Enum("new", "Новое", 999)))
    desired = replace(
        state, fields=tuple(changed if f.key == field.key else f for f in state.fields)
    )
    operations = amo_diff.diff(current, desired)
    assert len(operations) == 1 and isinstance(operations[0], ops.FieldChange)
    op = operations[0]
    assert [c.attribute for c in op.changes] == ["enums"]
    assert isinstance(op.current, amo.Field) and all(e.id for e in op.current.enums)
    retyped = replace(field, type="textarea")
    desired = replace(
        state, fields=tuple(retyped if f.key == field.key else f for f in state.fields)
    )
    operations = amo_diff.diff(current, desired)
    assert [type(op) for op in operations] == [ops.Conflict]


# ---- the diff: Bitrix24 ------------------------------------------------------------------------


def test_bitrix24_diff_against_an_empty_portal() -> None:
    state = b24_state()
    operations = b24_diff.diff(b24.EMPTY, state)
    creates = [op for op in operations if isinstance(op, ops.Create)]
    assert [op.ref.key for op in creates if op.ref.entity is ops.Entity.PIPELINE] == [
        c.key for c in state.categories
    ]
    lead = [op for op in operations if op.ref.parent == b24.LEAD]
    if state.lead_statuses is not None:
        # the presets NEW, CONVERTED, JUNK are renamed, IN_PROCESS and PROCESSED deleted
        deleted = {op.ref.key for op in lead if isinstance(op, ops.Delete)}
        assert deleted == {"IN_PROCESS", "PROCESSED"}
        assert not [op for op in operations if isinstance(op, ops.Conflict)]


def test_bitrix24_a_portal_as_desired_needs_nothing() -> None:
    state = b24_state()
    assert b24_diff.diff(b24_as_read(state), state) == []


def test_bitrix24_rename_reorder_and_the_immutable_properties() -> None:
    state = b24_state()
    current = b24_as_read(state)
    category = state.categories[0]
    stage = next(s for s in category.stages if not s.system)

    def with_stage(new: b24.Stage) -> b24.Portal:
        stages = tuple(new if s.key == stage.key else s for s in category.stages)
        return replace(state, categories=(replace(category, stages=stages), *state.categories[1:]))

    operations = b24_diff.diff(current, with_stage(replace(stage, name="Другое")))
    assert [type(op) for op in operations] == [ops.Rename]
    operations = b24_diff.diff(current, with_stage(replace(stage, sort=stage.sort + 5)))
    assert [type(op) for op in operations] == [ops.Reorder]
    operations = b24_diff.diff(current, with_stage(replace(stage, status_id="OTHER")))
    conflict = operations[0]
    assert isinstance(conflict, ops.Conflict) and conflict.attribute == "STATUS_ID"
    operations = b24_diff.diff(current, with_stage(replace(stage, semantics=b24.Semantics.FAILURE)))
    assert [type(op) for op in operations] == [ops.Conflict]


def test_bitrix24_system_stages_are_never_deleted() -> None:
    state = b24_state()
    current = b24_as_read(state)
    category = state.categories[0]
    desired = replace(
        state,
        categories=(
            replace(category, stages=tuple(s for s in category.stages if not s.system)),
            *state.categories[1:],
        ),
    )
    operations = b24_diff.diff(current, desired)
    assert not [op for op in operations if isinstance(op, ops.Delete)]


def test_status_id_limit_is_the_formula_of_the_server() -> None:
    assert b24.status_id_limit(None) == 21
    assert b24.status_id_limit(0) == 22
    assert b24.status_id_limit(1) == 19  # "C1:" is 3 characters
    assert b24.status_id_limit(12345) == 15  # "C12345:" is 7
    assert b24.full_status_id("X", 7) == "C7:X" and b24.full_status_id("X", None) == "X"


# ---- the helpers -------------------------------------------------------------------------------


@given(st.permutations(list("abcdefghij")))
def test_moved_is_the_fewest_moves(order: list[str]) -> None:
    desired = list("abcdefghij")
    to_move = ops.moved(order, desired)
    kept = [k for k in order if k not in to_move]
    assert kept == sorted(kept)  # what stays is in the desired order already
    # no smaller set works: the kept run is a longest increasing subsequence
    best = [0] * len(order)
    for i, k in enumerate(order):
        best[i] = 1 + max((best[j] for j in range(i) if order[j] < k), default=0)
    assert len(kept) == max(best)


def test_match_tries_keys_in_turn_and_never_matches_empty_keys() -> None:
    current = [("a", "x"), ("", "y"), ("", "")]
    desired = [("b", "y"), ("a", "q"), ("c", "")]
    result = ops.match(
        current,
        desired,
        [(lambda c: c[0], lambda d: d[0]), (lambda c: c[1], lambda d: d[1])],
    )
    assert result.pairs == ((("", "y"), ("b", "y")), (("a", "x"), ("a", "q")))
    assert result.created == (("c", ""),)
    assert result.removed == (("", ""),)


# ---- the import plan, sent to the fake, gives the desired state ----------------------------------


def _amo_keys_by_name(api: dict[str, Any], desired: amo.Account) -> dict[tuple[str, int], str]:
    """The lock file a first apply would write: the keys of what the plans created, found by
    name (pipelines, statuses, reasons) and code (fields)."""
    keys: dict[tuple[str, int], str] = {}
    wanted = {p.name: p for p in desired.pipelines}
    for p in api["pipelines"]:
        if p["name"] in wanted:
            keys[("pipeline", p["id"])] = wanted[p["name"]].key
            names = {s.name: s.key for s in wanted[p["name"]].open}
            for s in p["statuses"]:
                if s["name"] in names:
                    keys[(f"status:{p['id']}", s["id"])] = names[s["name"]]
    codes = {f.code: f.key for f in desired.fields}
    keys.update({("field", f["id"]): codes[f["code"]] for f in api["custom_fields"]})
    reasons = {r.name: r.key for r in desired.loss_reasons}
    keys.update({("loss_reason", r["id"]): reasons[r["name"]] for r in api["loss_reasons"]})
    return keys


def test_amocrm_import_plans_sent_to_the_fake_give_the_desired_state(tmp_path: Any) -> None:
    """The import plans are the diff against an empty account: once sent (to the faithful
    fake), the account read back needs no operation — names, order, colours, descriptions,
    the inbox, fields with their enums and required statuses, loss reasons."""
    from tests.crm_sim.harness import AmoAccount, build_target, plans

    project = project_of(examples())
    files, _ = build_target("amocrm", project, {}, "warn")
    account = AmoAccount()
    for pipeline in project.pipelines:
        account.run_plan(plans(files)[pipeline.id.name])
    api = account.state()
    desired = amo_state()
    current = amo.account_from_api(
        api["pipelines"],
        api["custom_fields"],
        api["loss_reasons"],
        keys=_amo_keys_by_name(api, desired),
    )
    assert amo_diff.diff(current, desired) == []
    # and without a lock file, everything is adopted by name: still nothing to create
    anonymous = amo.account_from_api(api["pipelines"], api["custom_fields"], api["loss_reasons"])
    assert not [
        op
        for op in amo_diff.diff(anonymous, desired)
        if isinstance(op, ops.Create | ops.Delete | ops.Conflict)
    ]


def _b24_keys(api: dict[str, Any], desired: b24.Portal) -> dict[tuple[str, int], str]:
    keys: dict[tuple[str, int], str] = {}
    wanted = {c.name: c for c in desired.categories}
    for c in api["categories"]:
        if c["name"] in wanted:
            category = wanted[c["name"]]
            keys[("category", int(c["id"]))] = category.key
            codes = {s.status_id: s.key for s in category.stages}
            for row in api["statuses"].get(f"DEAL_STAGE_{c['id']}", []):
                code = row["STATUS_ID"].removeprefix(f"C{c['id']}:")
                if code in codes:
                    keys[("stage", int(row["ID"]))] = codes[code]
    lead_codes = {s.status_id: s.key for s in desired.lead_statuses or ()}
    for row in api["statuses"].get("STATUS", []):
        if row["STATUS_ID"] in lead_codes:
            keys[("stage", int(row["ID"]))] = lead_codes[row["STATUS_ID"]]
    names = {(f.entity, f.field_name): f.key for f in desired.fields}
    for entity in ("deal", "lead"):
        for row in api["userfields"].get(entity, []):
            name = row["FIELD_NAME"].removeprefix(b24.FIELD_PREFIX)
            keys[(f"field:{entity}", int(row["ID"]))] = names[(entity, name)]
    return keys


def test_bitrix24_import_plans_sent_to_the_fake_give_the_desired_state() -> None:
    """The Bitrix24 import plans, sent in order to the faithful fake: the portal read back
    needs no operation — categories, stage codes, names, sorts, colours and semantics, the
    lead statuses (the presets IN_PROCESS, PROCESSED gone), user fields and their lists."""
    from tests.crm_sim.harness import B24Portal, build_target, plans

    project = project_of(examples())
    files, _ = build_target("bitrix24", project, {}, "warn")
    portal = B24Portal()
    for pipeline in project.pipelines:
        portal.run_plan(plans(files)[pipeline.id.name])
    api = portal.state()
    desired = b24_state()
    rows = [row for entity_rows in api["statuses"].values() for row in entity_rows]
    current = b24.portal_from_api(
        api["categories"],
        rows,
        api["userfields"].get("deal", []),
        api["userfields"].get("lead", []),
        keys=_b24_keys(api, desired),
    )
    assert b24_diff.diff(current, desired) == []


def test_bitrix24_plans_find_shared_fields_beyond_the_first_page() -> None:
    """crm.deal.userfield.list answers 50 rows a page: a field another plan created, listed
    after 60 others, is still found (`paged`), so a second pipeline's plan reuses it instead
    of failing on "exists already"."""
    from tests.crm_sim.harness import B24Portal, build_target, plans

    project = project_of(examples())
    files, _ = build_target("bitrix24", project, {}, "warn")
    by_id = plans(files)
    first = by_id[project.pipelines[0].id.name]
    assert all(r.get("paged") for r in first["requests"] if r["method"].endswith(".list"))
    portal = B24Portal()
    for i in range(60):
        portal.call(
            "crm.deal.userfield.add",
            {"fields": {"FIELD_NAME": f"OTHER_{i}", "USER_TYPE_ID": "string", "LABEL": f"x{i}"}},
        )
    for pipeline in project.pipelines:
        portal.run_plan(by_id[pipeline.id.name])
    names = [f["FIELD_NAME"] for f in portal.state()["userfields"]["deal"]]
    assert len(names) == len(set(names)) > 60


def test_amocrm_notices_loss_reasons_switched_off() -> None:
    state = amo_state()
    assert state.loss_reasons
    off = amo.account_from_api([], [], [], account={"is_loss_reason_enabled": False})
    on = amo.account_from_api([], [], [], account={"is_loss_reason_enabled": True})
    assert off.loss_reasons_enabled is False and on.loss_reasons_enabled is True
    assert len(amo_diff.notices(off, state)) == 1
    assert amo_diff.notices(on, state) == [] and amo_diff.notices(amo.EMPTY, state) == []


# ---- the import plans are the diff against an empty account ------------------------------------


def test_amocrm_import_plans_create_exactly_what_the_diff_against_empty_creates() -> None:
    from tests.crm_sim.harness import build_target, plans

    project = project_of(examples())
    files, _ = build_target("amocrm", project, {}, "warn")
    made: dict[str, set[Any]] = {"pipeline": set(), "stage": set(), "field": set(), "reason": set()}
    for funnel_id, plan in plans(files).items():
        for request in plan["requests"]:
            if request["method"] != "POST":
                continue
            for item in request["body"]:
                # request_ids are the builder's names: pipeline.<key>, status.<pipeline>.<key>
                if request["path"] == "/api/v4/leads/pipelines":
                    key = item["request_id"].removeprefix("pipeline.")
                    assert key.split(".")[0] == funnel_id
                    made["pipeline"].add(key)
                    for s in item["_embedded"]["statuses"]:
                        if "request_id" in s:
                            made["stage"].add((key, s["request_id"].removeprefix(f"status.{key}.")))
                elif request["path"].endswith("/statuses"):
                    ref = request["path"].split("{")[1].split(".id}")[0]
                    key = ref.removeprefix("pipeline.")
                    made["stage"].add((key, item["request_id"].removeprefix(f"status.{key}.")))
                elif request["path"] == "/api/v4/leads/custom_fields":
                    made["field"].add(item["request_id"].removeprefix("field."))
                elif request["path"] == "/api/v4/leads/loss_reasons":
                    made["reason"].add(item["name"])
    state = amo_state()
    creates = [op for op in amo_diff.diff(amo.EMPTY, state) if isinstance(op, ops.Create)]
    want: dict[str, set[Any]] = {
        "pipeline": {op.ref.key for op in creates if op.ref.entity is ops.Entity.PIPELINE},
        "stage": {
            (p.key, s.key)
            for op in creates
            if isinstance(p := op.desired, amo.Pipeline)
            for s in p.open
        },
        "field": {op.ref.key for op in creates if op.ref.entity is ops.Entity.FIELD},
        "reason": {r.name for op in creates if isinstance(r := op.desired, amo.LossReason)},
    }
    assert made == want


def test_bitrix24_import_plans_add_exactly_the_desired_stages() -> None:
    from tests.crm_sim.harness import build_target, plans

    project = project_of(examples())
    files, _ = build_target("bitrix24", project, {}, "warn")
    state = b24_state()
    for funnel_id, plan in plans(files).items():
        added = {
            c["params"]["fields"]["STATUS_ID"]
            for r in plan["requests"]
            if r["method"] == "batch"
            for c in r["commands"]
            if c["method"] == "crm.status.add" and c["params"]["fields"]["ENTITY_ID"] != "STATUS"
        }
        category = state.category(funnel_id)
        assert category is not None
        operations = b24_diff.diff(b24.Portal((b24.seeded(funnel_id, category.name, 0),)), state)
        created = {
            op.desired.status_id
            for op in operations
            if isinstance(op, ops.Create)
            and isinstance(op.desired, b24.Stage)
            and op.ref.parent == funnel_id
        }
        assert added == created, funnel_id
