"""A choice / multichoice field that loses a value (issue 9: plan → apply → plan converges).

Removing an enum value is a delete, like removing a stage: only with ``--allow-delete``, and
never when deals hold the value (both CRMs can tell: amoCRM filters leads by enum id,
``filters-api.md``; Bitrix24 filters ``crm.deal.list`` by the user field).  Without
``--allow-delete`` the value is kept and shown as kept; it is not a pending change.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from funnelc.targets.crm_ops import Delete, Entity, FieldChange

from funnelc.fakes.amocrm import AmoCRM
from funnelc.fakes.bitrix24 import Bitrix24
from tests.sync_support import Crm, FakeServer, make_fake, writes

TARGETS = ["amocrm", "bitrix24"]

FUNNEL = """\
pipeline sales "Продажи" {{
  field source "Источник" {kind}({values})
  deal {{
    stage meeting "Встреча назначена" {{ exit "Дата встречи подтверждена" }}
    stage proposal "КП получено" {{ exit "Клиент получил КП" }}
    won paid "Оплата получена"
    lost failed "Не купили"
  }}
}}
"""


@pytest.fixture(params=[(t, k) for t in TARGETS for k in ("choice", "multichoice")])
def crm(request: pytest.FixtureRequest) -> Iterator[tuple[Crm, str]]:
    from tests.sync_support import environ

    target, kind = request.param
    fake = make_fake(target)
    with FakeServer(fake) as server:
        yield Crm(target, fake, server, environ(target, server, fake)), kind


def funnels(tmp_path: Path, kind: str, *values: str) -> list[Path]:
    (tmp_path / "funnels").mkdir(exist_ok=True)
    text = FUNNEL.format(kind=kind, values=", ".join(f'"{v}"' for v in values))
    (tmp_path / "funnels" / "sales.funnel").write_text(text, encoding="utf-8")
    return [tmp_path / "funnels"]


def values(crm: Crm) -> list[str]:
    """The field's values in the fake, in the CRM's order."""
    if isinstance(crm.fake, AmoCRM):
        (f,) = [f for f in crm.fake.fields.values() if f.name == "Источник"]
        return f.enums
    assert isinstance(crm.fake, Bitrix24)
    (uf,) = [f for f in crm.fake.fields["deal"].values() if f.label == "Источник"]
    return uf.values


def enum_id(crm: Crm, value: str) -> tuple[int, int]:
    """(field id, enum id) of a value in the fake."""
    if isinstance(crm.fake, AmoCRM):
        (f,) = [f for f in crm.fake.fields.values() if f.name == "Источник"]
        return f.id, next(e["id"] for e in f.enum_items if e["value"] == value)
    assert isinstance(crm.fake, Bitrix24)
    (uf,) = [f for f in crm.fake.fields["deal"].values() if f.label == "Источник"]
    return uf.id, next(int(i["ID"]) for i in uf.items if i["VALUE"] == value)


def put_deals(crm: Crm, value: str, count: int) -> None:
    field_id, item = enum_id(crm, value)
    if isinstance(crm.fake, AmoCRM):
        crm.fake.set_field_leads(field_id, item, count)
    else:
        assert isinstance(crm.fake, Bitrix24)
        (uf,) = [f for f in crm.fake.fields["deal"].values() if f.id == field_id]
        crm.fake.set_field_items("deal", uf.field_name, item, count)


def converges(crm: Crm, paths: list[Path], allow_delete: bool) -> None:
    """plan → apply → plan is exit 0, and a second apply makes no write."""
    applied = crm.apply(paths, allow_delete=allow_delete)
    assert applied.code == 0, applied.err
    again = crm.plan(paths, allow_delete=allow_delete)
    assert again.code == 0, [(type(op).__name__, op.ref.path) for op in again.plan.operations]
    before = writes(crm.fake)
    assert crm.apply(paths, allow_delete=allow_delete).code == 0
    assert writes(crm.fake) == before


def test_a_dropped_value_is_kept_without_allow_delete_and_plan_converges(
    crm: tuple[Crm, str], tmp_path: Path
) -> None:
    crm_, kind = crm
    assert crm_.apply(funnels(tmp_path, kind, "A", "B", "C")).code == 0
    assert values(crm_) == ["A", "B", "C"]
    paths = funnels(tmp_path, kind, "A", "B")
    plan = crm_.plan(paths)
    assert plan.code == 0, [(type(op).__name__, op.ref.path) for op in plan.plan.operations]
    (held,) = plan.plan.held
    assert held.why == "allow-delete"
    assert isinstance(held.operation, Delete) and held.operation.ref.entity is Entity.ENUM
    assert held.operation.name == "C"
    converges(crm_, paths, allow_delete=False)
    assert values(crm_) == ["A", "B", "C"]


def test_a_dropped_value_is_deleted_with_allow_delete(crm: tuple[Crm, str], tmp_path: Path) -> None:
    crm_, kind = crm
    assert crm_.apply(funnels(tmp_path, kind, "A", "B", "C"), allow_delete=True).code == 0
    paths = funnels(tmp_path, kind, "A", "B")
    plan = crm_.plan(paths, allow_delete=True)
    assert plan.code == 2
    assert [(type(op), op.ref.entity, op.ref.key) for op in plan.plan.operations] == [
        (Delete, Entity.ENUM, "C")
    ]
    kept = enum_id(crm_, "A")
    converges(crm_, paths, allow_delete=True)
    assert values(crm_) == ["A", "B"]
    assert enum_id(crm_, "A") == kept  # the kept values keep their ids


def test_a_renamed_value_adds_the_new_one_and_deletes_the_old_only_when_allowed(
    crm: tuple[Crm, str], tmp_path: Path
) -> None:
    crm_, kind = crm
    assert crm_.apply(funnels(tmp_path, kind, "A", "B", "C")).code == 0
    paths = funnels(tmp_path, kind, "A", "B2", "C")
    plan = crm_.plan(paths)
    assert plan.code == 2
    assert [type(op) for op in plan.plan.operations] == [FieldChange]
    assert [h.operation.name for h in plan.plan.held] == ["B"]
    converges(crm_, paths, allow_delete=False)
    assert set(values(crm_)) == {"A", "B", "B2", "C"}
    converges(crm_, paths, allow_delete=True)
    assert values(crm_) == ["A", "B2", "C"]


def test_a_value_that_deals_hold_is_never_deleted(crm: tuple[Crm, str], tmp_path: Path) -> None:
    crm_, kind = crm
    assert crm_.apply(funnels(tmp_path, kind, "A", "B", "C")).code == 0
    put_deals(crm_, "C", 3)
    paths = funnels(tmp_path, kind, "A", "B")
    plan = crm_.plan(paths, allow_delete=True)
    assert plan.code == 0
    (held,) = plan.plan.held
    assert (held.why, held.deals, held.operation.name) == ("deals", 3, "C")
    converges(crm_, paths, allow_delete=True)
    assert values(crm_) == ["A", "B", "C"]


def test_the_plan_of_a_dropped_value_is_deterministic(crm: tuple[Crm, str], tmp_path: Path) -> None:
    crm_, kind = crm
    assert crm_.apply(funnels(tmp_path, kind, "A", "B", "C", "D")).code == 0
    paths = funnels(tmp_path, kind, "D", "A")
    first = crm_.plan(paths).plan.dumps()
    assert crm_.plan(paths).plan.dumps() == first
    assert [h.operation.name for h in crm_.plan(paths).plan.held] == ["B", "C"]
    converges(crm_, paths, allow_delete=False)  # the kept values stay; D moves before A
    assert values(crm_) == ["D", "A", "B", "C"]
    converges(crm_, paths, allow_delete=True)
    assert values(crm_) == ["D", "A"]


def test_apply_rechecks_the_deals_of_a_value_right_before_deleting_it(
    crm: tuple[Crm, str], tmp_path: Path
) -> None:
    crm_, kind = crm
    assert crm_.apply(funnels(tmp_path, kind, "A", "B", "C"), allow_delete=True).code == 0
    paths = funnels(tmp_path, kind, "A", "B")
    run = crm_.plan(paths, allow_delete=True)
    assert [op.ref.key for op in run.plan.operations] == ["C"]
    put_deals(crm_, "C", 1)  # a deal takes the value after the plan
    from funnelc.sync.apply import apply_plan

    done = apply_plan(run.session, run.plan)
    path = "source/C" if crm_.target == "amocrm" else "deal/source/C"
    assert done.refused == [path]
    assert values(crm_) == ["A", "B", "C"]
