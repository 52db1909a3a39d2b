"""Bitrix24's per-method time budget (crm-apis.md §0 / §2.1 limits.md: 480 s of execution per
method in 10 minutes, reported in every reply's ``time.operating`` / ``operating_reset_at``):
the client waits for the reset *before* the portal refuses.

The fake models the budget (``limits=True``, a cost per call); the client and the fake share a
simulated clock, as in ``bench/apply_bench.py``, so waiting ten minutes takes no time.
"""

from __future__ import annotations

import pytest

from funnelc.fakes._server import ManualClock, in_process
from funnelc.fakes.bitrix24 import METHOD_BUDGET, METHOD_WINDOW, Bitrix24
from funnelc.sync.client import B24Client, Command, TimeBudget

SECRET = "budgetSECRET"


def _client(cost: float, retries: int = 0) -> tuple[B24Client, Bitrix24, ManualClock]:
    clock = ManualClock()
    fake = Bitrix24(secret=SECRET, limits=True, clock=clock, method_cost=lambda m: cost)
    client = B24Client(
        f"http://portal.invalid{fake.webhook_path}",
        transport=in_process(fake),
        clock=clock,
        sleep=clock.advance,
        retries=retries,
    )
    return client, fake, clock


def test_the_fake_reports_what_the_client_counts() -> None:
    client, _fake, _clock = _client(100.0)
    reply = client.call("crm.status.list", {})
    assert reply["time"]["operating"] == 100.0
    assert reply["time"]["operating_reset_at"] - reply["time"]["finish"] == METHOD_WINDOW


@pytest.mark.parametrize("cost", [7.0, 100.0, 230.0])
def test_the_client_waits_for_the_reset_instead_of_being_refused(cost: float) -> None:
    """No retries: a single 429 would fail the call.  Enough calls to spend the budget three
    times over all succeed, and the client waited about one window per budget spent."""
    client, fake, clock = _client(cost)
    start = clock()
    calls = int(3 * METHOD_BUDGET // cost) + 1
    for _ in range(calls):
        client.call("crm.status.list", {})
    assert client.stats.retries == 0 and client.stats.requests == calls
    assert fake.calls.count("crm.status.list") == calls
    per_window = int(METHOD_BUDGET // cost)  # calls that fit before the sum reaches 480 s
    windows = (calls - 1) // per_window
    assert client.budget.waited >= (windows - 1) * METHOD_WINDOW
    assert clock() - start <= windows * METHOD_WINDOW + calls  # no wait it did not need


def test_batches_count_against_the_batch_method() -> None:
    """A batch is the method ``batch`` to the budget (the fake counts it so): the budget of
    ``batch`` is kept across many batches."""
    client, _fake, _clock = _client(200.0)
    for i in range(6):
        results, errors, _totals = client.batch([Command(f"c{i}", "crm.status.list", {})])
        assert not errors and f"c{i}" in results
    assert client.budget.waited >= METHOD_WINDOW


def test_without_the_wait_the_fake_refuses() -> None:
    """The check of the test above can fail: with the wait turned off, the fake answers 429."""
    client, _fake, _clock = _client(100.0)
    client.budget.wait = lambda method: None  # type: ignore[method-assign]
    with pytest.raises(Exception, match="time budget"):
        for _ in range(10):
            client.call("crm.status.list", {})


def test_the_reset_is_read_on_the_portals_clock() -> None:
    """``operating_reset_at`` is the portal's time: the wait is the reply's remaining window
    (reset − finish) on the client's own clock, whatever the two clocks say."""
    clock = ManualClock(5.0)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds)

    budget = TimeBudget(clock, sleep, budget=480.0)
    portal_now = 1_700_000_000.0
    block = {"finish": portal_now, "duration": 0.1, "operating": 470.0}
    budget.seen("m", {**block, "operating_reset_at": portal_now + 300.0})
    budget.wait("m")  # 470 + 470 (the most one call was seen to add) ≥ 480
    assert slept == [300.0] and clock() == 305.0
    budget.wait("m")  # reset: nothing to wait for
    assert slept == [300.0]
