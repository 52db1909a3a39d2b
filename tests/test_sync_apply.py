"""``funnelc plan`` / ``apply`` against the local fakes (issue 9, Must show 2, 3 and 5).

Each test serves a fake CRM on 127.0.0.1 (``funnelc.fakes``) and runs plan / apply in-process
over real HTTP.  Accounts are compared by :func:`sync_support.shape` (names, order, kinds).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from funnelc.targets.crm_ops import Delete, Recolour, Rename, Reorder

from funnelc.fakes.amocrm import AmoCRM
from funnelc.fakes.bitrix24 import Bitrix24
from funnelc.sync.lock import LOCK_NAME
from tests.sync_support import EXAMPLES, Crm, FakeServer, Faults, make_fake, shape, writes

TARGETS = ["amocrm", "bitrix24"]

BASE = """\
pipeline sales "Продажи" {
  deal {
    stage meeting "Встреча назначена" { exit "Дата встречи подтверждена" }
    stage proposal "КП получено" { exit "Клиент получил КП" }
    stage contract "Договор подписан" { exit "Подписан договор" }
    won paid "Оплата получена"
    lost failed "Не купили"
  }
}
"""


def serve(target: str, tmp_path: Path, **kw: object) -> Iterator[Crm]:
    from tests.sync_support import environ

    fake = make_fake(target, **kw)
    with FakeServer(fake) as server:
        yield Crm(target, fake, server, environ(target, server, fake))


@pytest.fixture(params=TARGETS)
def crm(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Crm]:
    yield from serve(request.param, tmp_path)


def funnels(tmp_path: Path, text: str = BASE) -> list[Path]:
    (tmp_path / "funnels").mkdir(exist_ok=True)
    (tmp_path / "funnels" / "sales.funnel").write_text(text, encoding="utf-8")
    return [tmp_path / "funnels"]


def examples(tmp_path: Path) -> list[Path]:
    shutil.copytree(EXAMPLES, tmp_path / "funnels")
    return [tmp_path / "funnels"]


# ---- Must show 2 ----------------------------------------------------------------------------


def test_plan_apply_from_empty_then_unchanged_and_no_write(crm: Crm, tmp_path: Path) -> None:
    paths = examples(tmp_path)
    first = crm.plan(paths, allow_delete=True)
    assert first.code == 2, first.err
    applied = crm.apply(paths, allow_delete=True)
    assert applied.code == 0, applied.err
    again = crm.plan(paths, allow_delete=True)
    assert again.code == 0, [type(op).__name__ for op in again.plan.operations]
    before = writes(crm.fake)
    assert before > 0
    second = crm.apply(paths, allow_delete=True)
    assert second.code == 0, second.err
    assert writes(crm.fake) == before  # a second apply makes no write request
    lock = json.loads((paths[0] / LOCK_NAME).read_text(encoding="utf-8"))
    assert list(lock["targets"]) == [crm.target]


def test_the_lock_file_is_deterministic(crm: Crm, tmp_path: Path) -> None:
    paths = funnels(tmp_path)
    assert crm.apply(paths).code == 0
    lock = paths[0] / LOCK_NAME
    text = lock.read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    assert crm.apply(paths).code == 0
    assert lock.read_text(encoding="utf-8") == text


def test_plan_without_allow_delete_holds_deletes_and_reports_no_pending_writes(
    tmp_path: Path,
) -> None:
    # A new Bitrix24 portal has lead statuses IN_PROCESS / PROCESSED no funnel keeps.
    for crm in serve("bitrix24", tmp_path):
        paths = examples(tmp_path)
        assert crm.apply(paths).code == 0
        plan = crm.plan(paths)
        assert plan.code == 0
        held = plan.plan.held
        assert {h.why for h in held} == {"allow-delete"}
        assert {h.operation.ref.key for h in held} == {"IN_PROCESS", "PROCESSED"}


# ---- Must show 3 ----------------------------------------------------------------------------


def _ids(crm: Crm) -> dict[str, int]:
    """Stage name → CRM id in the funnel's pipeline."""
    if isinstance(crm.fake, AmoCRM):
        p = crm.fake.pipeline_named("Продажи")
        return {s.name: s.id for s in p.statuses.values()}
    assert isinstance(crm.fake, Bitrix24)
    cid = crm.fake.category_named("Продажи")
    return {r.name: r.id for r in crm.fake.directory(f"DEAL_STAGE_{cid}")}


def _order(crm: Crm) -> list[str]:
    if isinstance(crm.fake, AmoCRM):
        p = crm.fake.pipeline_named("Продажи")
        return [s.name for s in p.custom()]
    assert isinstance(crm.fake, Bitrix24)
    cid = crm.fake.category_named("Продажи")
    return [r.name for r in crm.fake.directory(f"DEAL_STAGE_{cid}") if not r.semantics]


def _put_deals(crm: Crm, stage_name: str, count: int) -> None:
    ident = _ids(crm)[stage_name]
    if isinstance(crm.fake, AmoCRM):
        crm.fake.set_leads(crm.fake.pipeline_named("Продажи").id, ident, count)
    else:
        assert isinstance(crm.fake, Bitrix24)
        cid = crm.fake.category_named("Продажи")
        row = next(r for r in crm.fake.rows if r.id == ident)
        crm.fake.set_items(f"DEAL_STAGE_{cid}", row.status_id, count)


def test_rename_is_an_update_with_the_same_id(crm: Crm, tmp_path: Path) -> None:
    paths = funnels(tmp_path)
    assert crm.apply(paths, allow_delete=True).code == 0
    before = _ids(crm)["КП получено"]
    funnels(tmp_path, BASE.replace("КП получено", "КП отправлено и получено"))
    plan = crm.plan(paths)
    assert [type(op) for op in plan.plan.operations] == [Rename]
    assert crm.apply(paths).code == 0
    assert _ids(crm)["КП отправлено и получено"] == before
    assert "КП получено" not in _ids(crm)


def test_was_rekeys_in_place(crm: Crm, tmp_path: Path) -> None:
    paths = funnels(tmp_path)
    assert crm.apply(paths, allow_delete=True).code == 0
    before = _ids(crm)["КП получено"]
    funnels(
        tmp_path,
        BASE.replace('stage proposal "КП получено"', 'stage offer "КП у клиента" was proposal'),
    )
    plan = crm.plan(paths, allow_delete=True)
    ops = plan.plan.operations
    assert [type(op) for op in ops] == [Rename], ops  # no delete, no create
    assert ops[0].ref.key == "offer" and ops[0].ref.id == before
    assert crm.apply(paths, allow_delete=True).code == 0
    assert _ids(crm)["КП у клиента"] == before
    lock = json.loads((paths[0] / LOCK_NAME).read_text(encoding="utf-8"))
    (entry,) = lock["targets"][crm.target].values()
    assert entry["pipelines"]["sales"]["stages"]["offer"] == before
    assert "proposal" not in entry["pipelines"]["sales"]["stages"]
    assert crm.plan(paths, allow_delete=True).code == 0


def test_reorder_reorders(crm: Crm, tmp_path: Path) -> None:
    paths = funnels(tmp_path)
    assert crm.apply(paths, allow_delete=True).code == 0
    ids = _ids(crm)
    lines = BASE.splitlines(keepends=True)
    meeting, proposal, contract = lines[2], lines[3], lines[4]
    # (Bitrix24's first stage is its system NEW stage, so the first stage stays first.)
    funnels(tmp_path, "".join([*lines[:2], meeting, contract, proposal, *lines[5:]]))
    plan = crm.plan(paths)
    assert plan.code == 2
    kinds = {type(op) for op in plan.plan.operations}
    # Default colours follow the position, so a move may also recolour.
    assert Reorder in kinds and kinds <= {Reorder, Recolour}
    run = crm.apply(paths)
    assert run.code == 0, run.err
    assert _order(crm)[-3:] == ["Встреча назначена", "Договор подписан", "КП получено"]
    assert _ids(crm) == ids  # the same objects, moved
    assert crm.plan(paths).code == 0


@pytest.mark.parametrize("allow_delete", [False, True])
def test_a_removed_stage_with_deals_is_never_deleted(
    crm: Crm, tmp_path: Path, allow_delete: bool
) -> None:
    paths = funnels(tmp_path)
    assert crm.apply(paths, allow_delete=True).code == 0
    _put_deals(crm, "КП получено", 3)
    funnels(
        tmp_path,
        BASE.replace('    stage proposal "КП получено" { exit "Клиент получил КП" }\n', ""),
    )
    plan = crm.plan(paths, allow_delete=allow_delete)
    (held,) = plan.plan.held
    assert held.why == "deals" and held.deals == 3
    assert isinstance(held.operation, Delete) and held.operation.name == "КП получено"
    assert not any(isinstance(op, Delete) for op in plan.plan.operations)
    from funnelc.sync.plan import summary_lines

    text = "\n".join(line for _style, line in summary_lines(plan.plan))
    assert "sales/proposal" in text and "3" in text
    assert crm.apply(paths, allow_delete=allow_delete).code == 0
    assert "КП получено" in _ids(crm)
    assert crm.plan(paths, allow_delete=allow_delete).code == 0


def test_an_empty_removed_stage_is_deleted_only_with_allow_delete(crm: Crm, tmp_path: Path) -> None:
    paths = funnels(tmp_path)
    assert crm.apply(paths, allow_delete=True).code == 0
    funnels(
        tmp_path,
        BASE.replace('    stage proposal "КП получено" { exit "Клиент получил КП" }\n', ""),
    )
    assert crm.apply(paths).code == 0
    assert "КП получено" in _ids(crm)
    assert crm.apply(paths, allow_delete=True).code == 0
    assert "КП получено" not in _ids(crm)


def test_apply_rechecks_deals_right_before_deleting(tmp_path: Path) -> None:
    """amoCRM's API does not refuse (it moves the leads to the first stage): the deals that
    arrive between plan and delete are found by the check right before the delete."""
    for crm in serve("amocrm", tmp_path):
        paths = funnels(tmp_path)
        assert crm.apply(paths, allow_delete=True).code == 0
        funnels(
            tmp_path,
            BASE.replace('    stage proposal "КП получено" { exit "Клиент получил КП" }\n', ""),
        )
        run = crm.plan(paths, allow_delete=True)
        assert any(isinstance(op, Delete) for op in run.plan.operations)
        _put_deals(crm, "КП получено", 1)  # a deal arrives after the plan
        from funnelc.sync.apply import apply_plan

        done = apply_plan(run.session, run.plan)
        assert done.refused == ["sales/proposal"]
        assert "КП получено" in _ids(crm)
        assert isinstance(crm.fake, AmoCRM)
        assert sum(crm.fake.leads.values()) == 1


def test_system_stages_are_renamed_never_deleted(crm: Crm, tmp_path: Path) -> None:
    paths = funnels(tmp_path)
    assert crm.apply(paths, allow_delete=True).code == 0
    funnels(tmp_path, BASE.replace("Оплата получена", "Деньги на счёте"))
    plan = crm.plan(paths, allow_delete=True)
    assert [type(op) for op in plan.plan.operations] == [Rename]
    assert crm.apply(paths, allow_delete=True).code == 0
    names = _ids(crm)
    assert "Деньги на счёте" in names
    if crm.target == "amocrm":
        assert names["Деньги на счёте"] == 142


# ---- Must show 5 ----------------------------------------------------------------------------


# The client's timeout in the fault tests: ample for a normal call on a loaded 2-core machine
# (loopback replies take milliseconds), and what each injected timeout costs — the fake never
# answers one (it holds the connection until the client gives up, at most TIMEOUT_CAP), so the
# client times out on exactly the injected calls, however slow the machine.
CLIENT_TIMEOUT = 0.5
TIMEOUT_CAP = 60 * CLIENT_TIMEOUT


@pytest.mark.parametrize("kind", ["429", "503", "timeout"])
def test_apply_completes_when_every_third_call_fails(tmp_path: Path, kind: str) -> None:
    target_of = {"429": "amocrm", "503": "bitrix24", "timeout": "amocrm"}
    results = {}
    for target in (target_of[kind], "bitrix24" if target_of[kind] == "amocrm" else "amocrm"):
        clean_dir, faulty_dir = tmp_path / f"{target}-clean", tmp_path / f"{target}-faulty"
        for crm in serve(target, clean_dir):
            assert crm.apply(examples(clean_dir), allow_delete=True).code == 0
            clean = shape(crm.fake)
        faults = Faults(every=3, kind=kind, timeout_delay=TIMEOUT_CAP)  # type: ignore[arg-type]
        for crm in serve(target, faulty_dir, faults=faults):
            paths = examples(faulty_dir)
            run = crm.apply(paths, allow_delete=True, timeout=CLIENT_TIMEOUT, retries=6)
            assert run.code == 0, run.err
            assert faults.injected > 0
            # Every injected fault was retried, and nothing else was (no normal call timed out).
            assert run.session.client.stats.retries == faults.injected
            assert shape(crm.fake) == clean
            again = crm.plan(paths, allow_delete=True, timeout=CLIENT_TIMEOUT, retries=6)
            assert again.code == 0, again.err
            results[target] = faults.injected
    assert len(results) == 2


def test_rate_limits_on_are_never_exceeded(tmp_path: Path) -> None:
    """With the vendors' limits on, on a clock the client and the fake share, apply never
    gets a 429 / 503 (rate limits by construction)."""
    from funnelc.fakes._server import ManualClock

    for target in TARGETS:
        clock = ManualClock()
        for crm in serve(target, tmp_path / target, limits=True, clock=clock):
            run = crm.apply(
                examples(tmp_path / target), allow_delete=True, clock=clock, sleep=clock.advance
            )
            assert run.code == 0, run.err
            stats = run.session.client.stats
            assert stats.retries == 0
            if isinstance(crm.fake, AmoCRM):
                assert not crm.fake.blocked


def test_amocrm_403_stops_with_an_explanation(tmp_path: Path) -> None:
    for crm in serve("amocrm", tmp_path, limits=True):
        assert isinstance(crm.fake, AmoCRM)
        crm.fake.blocked = True
        from funnelc.sync.client import SyncError

        with pytest.raises(SyncError, match=r"403.*7 a second"):
            crm.plan(funnels(tmp_path))
        assert len(crm.fake.requests) == 0  # refused before anything was served
