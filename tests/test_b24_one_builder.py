"""Bitrix24 has one request builder (issue 9 §1): the import plan and ``funnelc apply`` send the
same commands.

Two fresh fakes with the same ids to give: one gets the pipeline's import plan (``funnelc
build``, sent by the plan pusher), the other ``funnelc apply`` of the same funnels.  Every
command each fake runs (batch commands included, after the pusher or apply substituted the
ids) is recorded; the writes must be the same sequence, method and parameters, ids and all.
The only difference allowed is in the reads: the plan also looks up the rows of the portal's
lead statuses (it cannot know their ids), which apply has read already.
"""

from __future__ import annotations

import contextlib
import copy
import shutil
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from funnelc.cli import app
from funnelc.fakes.bitrix24 import Bitrix24
from tests.crm_sim.harness import B24Portal
from tests.sync_support import EXAMPLES, Crm, FakeServer, environ, make_fake


def _record(fake: Bitrix24) -> list[tuple[str, Any]]:
    """Every method ``fake`` runs, with its decoded parameters, in order."""
    log: list[tuple[str, Any]] = []
    run = fake.call

    def call(method: str, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        log.append((method, copy.deepcopy(params)))
        return run(method, params)

    fake.call = call  # type: ignore[method-assign]
    return log


def _writes(log: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [(m, p) for m, p in log if not m.endswith(".list")]


def _lookups(log: list[tuple[str, Any]]) -> list[Any]:
    return [
        p["filter"]
        for m, p in log
        if m == "crm.status.list" and "STATUS_ID" in (p.get("filter") or {})
    ]


def _normalised(params: Any) -> Any:
    """Parameters as the fake compares them: every scalar a string (the plan's query strings
    are decoded into strings, apply's JSON-free query strings too)."""
    if isinstance(params, dict):
        return {k: _normalised(v) for k, v in params.items() if k != "start"}
    if isinstance(params, list):
        return [_normalised(v) for v in params]
    return str(params)


def test_the_import_plan_and_apply_send_the_same_commands(tmp_path: Path) -> None:
    funnels = tmp_path / "funnels"
    funnels.mkdir()
    shutil.copy(EXAMPLES / "b2b_inbound.funnel", funnels)
    shutil.copytree(EXAMPLES / "shared", funnels / "shared")
    out = tmp_path / "out"
    with contextlib.chdir(tmp_path):
        built = CliRunner().invoke(app, ["build", "funnels", "--target", "bitrix24", "-o", "out"])
    assert built.exit_code == 0, built.output
    plan = (out / "bitrix24" / "b2b_inbound.json").read_text("utf-8")

    import json

    by_plan = B24Portal(first_category_id=7)
    plan_log = _record(by_plan)
    by_plan.run_plan(json.loads(plan))

    fake = make_fake("bitrix24", first_category_id=7)
    assert isinstance(fake, Bitrix24)
    apply_log = _record(fake)
    with FakeServer(fake) as server:
        crm = Crm("bitrix24", fake, server, environ("bitrix24", server, fake))
        run = crm.apply([funnels], allow_delete=True)
        assert run.code == 0, run.err
        batches = run.session.client.stats.batches

    planned = [(m, _normalised(p)) for m, p in _writes(plan_log)]
    applied = [(m, _normalised(p)) for m, p in _writes(apply_log)]
    assert len(planned) > 40
    assert applied == planned
    # The reads: apply looks up the new category's presets, as the plan does; the plan also
    # looks up the portal's lead statuses, which apply has read.
    apply_lookups = [_normalised(f) for f in _lookups(apply_log)]
    plan_lookups = [_normalised(f) for f in _lookups(plan_log)]
    assert apply_lookups == [f for f in plan_lookups if f["ENTITY_ID"] != "STATUS"]
    assert {f["ENTITY_ID"] for f in apply_lookups} == {"DEAL_STAGE_7"}
    # One batch per phase here: the category, its presets' lookups, every change; before the
    # changes (they delete the lead statuses IN_PROCESS and PROCESSED), the deals of those two
    # are counted again, as `plan` counted them.
    assert batches == [2, 1, len(apply_lookups), 2, len(applied) - 1]
    assert by_plan.state() == fake.state()
