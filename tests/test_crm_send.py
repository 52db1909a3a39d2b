"""``funnelc.crm.send`` against the fakes: bounded retries of 429 / 503 / timeouts, amoCRM's
403 explained, and no secret in any error."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from funnelc.crm.send import Pacer, SendError, send_plan
from funnelc.fakes._server import Faults, ManualClock
from funnelc.fakes.amocrm import AmoCRM
from funnelc.fakes.bitrix24 import Bitrix24
from tests.conftest import ROOT
from tests.crm_sim.harness import SWITCH

_LIST = {"id": "list", "method": "crm.category.list", "params": {"entityTypeId": 2}}


def _golden(target: str, name: str) -> dict[str, Any]:
    path = ROOT / "tests" / "golden" / target / f"{name}.json"
    plan: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return plan


def _send_b24(portal: Bitrix24, plan: dict[str, Any], **kw: Any) -> Any:
    url = SWITCH.serve(portal) + portal.webhook_path
    return send_plan(plan, webhook_url=url, client=SWITCH.http(), sleep=lambda s: None, **kw)


def _send_amo(account: AmoCRM, plan: dict[str, Any], **kw: Any) -> Any:
    origin = SWITCH.serve(account)
    kw.setdefault("client", SWITCH.http())
    kw.setdefault("sleep", lambda s: None)
    return send_plan(plan, base_url=origin, token=account.token, **kw)


def test_retries_are_bounded() -> None:
    portal = Bitrix24(secret="w3bh00k", faults=Faults(every=1, kind="503"))
    with pytest.raises(SendError, match="HTTP 503") as caught:
        _send_b24(portal, _golden("bitrix24", "service"), retries=3)
    assert portal.faults.calls == 4  # the first try and three retries
    assert "w3bh00k" not in str(caught.value)


def test_the_backoff_doubles() -> None:
    waits: list[float] = []
    account = AmoCRM(faults=Faults(every=1, kind="429"))
    with pytest.raises(SendError, match="HTTP 429"):
        _send_amo(account, _golden("amocrm", "service"), retries=3, sleep=waits.append)
    assert waits == [0.5, 1.0, 2.0]


def test_a_timeout_is_retried_and_the_request_made_once() -> None:
    # The fake holds an injected timeout until the client hangs up (timeout_delay is only a
    # cap), so a client timeout with ample margin for a loaded machine's normal replies still
    # times out on exactly the injected calls.
    portal = Bitrix24(faults=Faults(every=4, kind="timeout", timeout_delay=30))
    client = httpx.Client(timeout=0.5)
    try:
        url = SWITCH.serve(portal) + portal.webhook_path
        sent = send_plan(
            _golden("bitrix24", "service"), webhook_url=url, client=client, sleep=lambda s: None
        )
    finally:
        client.close()
    assert portal.faults.injected >= 1 and sent.tolerated == []
    assert len(portal.categories) == 2  # made once


def test_amocrm_403_stops_the_plan_with_an_explanation() -> None:
    """Retrying 429 without pacing gets the account blocked (§1.1): the sender says why."""
    account = AmoCRM(token="t0ken-s3cret", limits=True, clock=ManualClock(), block_after=2)
    with pytest.raises(SendError, match="7 requests per second") as caught:
        _send_amo(account, _golden("amocrm", "b2b_inbound"), retries=2)
    assert "t0ken-s3cret" not in str(caught.value)


def test_a_refused_request_names_the_plan_request_and_the_crm_reason() -> None:
    plan = _golden("bitrix24", "service")
    category = next(r for r in plan["requests"] if r["id"] == "category")
    category["params"]["fields"]["name"] = "я" * 256
    with pytest.raises(SendError, match=r"^category: HTTP 400: Category name must be 1 to 255"):
        _send_b24(Bitrix24(), plan)


def test_a_missing_credential_is_a_send_error() -> None:
    with pytest.raises(SendError, match="token"):
        send_plan(_golden("amocrm", "service"), base_url="http://127.0.0.1:9")
    with pytest.raises(SendError, match="webhook"):
        send_plan(_golden("bitrix24", "service"))


def test_paced_at_7_a_second_the_amocrm_plans_meet_the_rate_limit() -> None:
    """With the real limit on (§1.1) and one pacer at 7 a second across the plans, no request
    is refused, and the (fake-clock) time is within 2 % of the minimum the limit allows."""
    clock = ManualClock()
    account = AmoCRM(limits=True, clock=clock, block_after=1)
    pacer = Pacer(7, clock=clock, sleep=clock.advance)
    start, count = clock(), 0
    for name in ("b2b_inbound", "solution_sales", "buyers_local", "buyers_remote", "service"):
        count += _send_amo(account, _golden("amocrm", name), pacer=pacer).requests
    assert not account.blocked and account._refused == 0
    minimum = (count - 1) / 7
    assert minimum <= clock() - start <= 1.02 * minimum


def test_paced_at_2_a_second_bitrix24_never_fills_its_bucket() -> None:
    clock = ManualClock()
    portal = Bitrix24(limits=True, clock=clock)
    pacer = Pacer(2, clock=clock, sleep=clock.advance)
    for _ in range(3):  # 60 requests: more than the bucket holds
        for _ in range(20):
            _send_b24(portal, {"target": "bitrix24", "requests": [_LIST]}, pacer=pacer)
    assert portal.requests == 60 and portal._bucket <= 1.0
