"""The pieces of ``funnelc.sync``: the pacers, the redaction layer, the lock file, batches."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from funnelc.fakes._server import ManualClock
from funnelc.sync import redact
from funnelc.sync.client import B24Client, Bucket, Command, Window, http_build_query
from funnelc.sync.lock import Lock, account_id, apply_moves


@given(st.lists(st.floats(min_value=0, max_value=0.5), min_size=1, max_size=60))
def test_window_never_lets_more_than_7_through_in_a_second(gaps: list[float]) -> None:
    clock = ManualClock()
    window = Window(7, clock, clock.advance)
    sent: list[float] = []
    for gap in gaps:
        clock.advance(gap)
        window.wait()
        sent.append(clock())
    for i, t in enumerate(sent):
        assert sum(t <= u < t + 1.0 for u in sent[i:]) <= 7


def test_window_is_as_fast_as_the_limit_allows() -> None:
    clock = ManualClock(0.0)
    window = Window(7, clock, clock.advance)
    for _ in range(71):
        window.wait()
    assert Window.minimum(71) == 10
    assert 10 <= clock() <= 10 * 1.011


@given(st.lists(st.floats(min_value=0, max_value=2), min_size=1, max_size=200))
def test_bucket_never_overflows(gaps: list[float]) -> None:
    clock = ManualClock()
    bucket = Bucket(clock, clock.advance)
    level, at = 0.0, clock()
    for gap in gaps:
        clock.advance(gap)
        bucket.wait()
        level = max(0.0, level - (clock() - at) * 2) + 1
        at = clock()
        assert level <= 50


def test_redaction_covers_quoted_forms_and_webhook_paths() -> None:
    redact.register_webhook("https://portal.example/rest/7/s3cr3tcode/")
    redact.register("tok/en+value")
    text = "GET https://portal.example/rest/7/s3cr3tcode/crm.status.list tok%2Fen%2Bvalue"
    out = redact.redact(text)
    assert "s3cr3tcode" not in out and "tok%2Fen%2Bvalue" not in out
    assert "crm.status.list" in out


def test_account_id_is_the_host_hash_never_the_secret() -> None:
    a = account_id("https://portal.example/rest/7/s3cr3tcode/")
    b = account_id("https://PORTAL.example/rest/9/other/")
    assert a == b and len(a) == 16 and "s3cr3t" not in a


def test_lock_is_written_atomically_and_deterministically(tmp_path: Path) -> None:
    lock = Lock(tmp_path / "funnel.lock.json")
    entry = lock.account("amocrm", "abc")
    entry["pipelines"]["b"] = {"id": 2, "stages": {"z": 1, "a": 3}}
    entry["pipelines"]["a"] = {"id": 1, "stages": {}}
    lock.save()
    text = lock.path.read_text(encoding="utf-8")
    assert text.endswith("}\n") and json.loads(text)["format"] == "funnelc-lock"
    assert text.index('"a"') < text.index('"b"')
    assert list(tmp_path.iterdir()) == [lock.path]  # no temporary file left
    again = Lock.load(lock.path)
    again.save()
    assert lock.path.read_text(encoding="utf-8") == text


def test_was_moves_take_over_the_old_key_once() -> None:
    entry: dict[str, Any] = {"pipelines": {"p": {"id": 1, "stages": {"old": 5}}}, "fields": {}}
    assert apply_moves(entry, {"p": {"new": "old"}})
    assert entry["pipelines"]["p"]["stages"] == {"new": 5}
    assert not apply_moves(entry, {"p": {"new": "old"}})  # idempotent


def test_http_build_query_is_phps() -> None:
    query = http_build_query({"fields": {"NAME": "Встреча & КП", "LIST": [{"VALUE": "a=b"}]}})
    assert query == (
        "fields[NAME]=%D0%92%D1%81%D1%82%D1%80%D0%B5%D1%87%D0%B0%20%26%20%D0%9A%D0%9F"
        "&fields[LIST][0][VALUE]=a%3Db"
    )


def test_a_value_with_result_is_never_sent_inside_a_batch() -> None:
    """A stage named ``$result[x]`` would be substituted by the portal inside a batch (§0):
    such a command goes alone, as JSON, where nothing is substituted."""
    import httpx

    from funnelc.fakes.bitrix24 import Bitrix24
    from tests.sync_support import SECRET

    fake = Bitrix24(secret=SECRET)
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        from funnelc.fakes._server import Request

        seen.append(request.url.path.rsplit("/", 1)[-1])
        reply = fake.handle(
            Request(request.method, request.url.path, "", dict(request.headers), request.read())
        )
        return httpx.Response(reply.status, content=reply.body, headers=reply.headers)

    client = B24Client(
        f"http://portal.invalid/rest/1/{SECRET}/", transport=httpx.MockTransport(handle)
    )
    name = "Цена $result[x] согласована"
    commands = [
        Command(
            "a",
            "crm.status.add",
            {"fields": {"ENTITY_ID": "STATUS", "STATUS_ID": "A1", "NAME": "Обычная", "SORT": 15}},
        ),
        Command(
            "b",
            "crm.status.add",
            {"fields": {"ENTITY_ID": "STATUS", "STATUS_ID": "B1", "NAME": name, "SORT": 16}},
        ),
    ]
    results, errors, _totals = client.batch(commands)
    assert not errors and set(results) == {"a", "b"}
    assert seen == ["batch.json", "crm.status.add.json"]
    assert any(r.name == name for r in fake.rows)


def test_the_simulated_clock_is_only_for_loopback_addresses() -> None:
    from funnelc.sync.run import SimulatedClock, simulated_clock_options

    on = {"FUNNELC_SYNC_SIMULATED_CLOCK": "1"}
    for url in ("http://127.0.0.1:8080", "http://localhost:1/rest/1/x/", "http://[::1]:9"):
        options = simulated_clock_options(url, on)
        clock = options["clock"]
        assert isinstance(clock, SimulatedClock)
        options["sleep"](2.5)
        assert clock() == 2.5
    for url in ("https://example.amocrm.ru", "https://127.0.0.1.example.com", "http://10.0.0.1"):
        assert simulated_clock_options(url, on) == {}
    assert simulated_clock_options("http://127.0.0.1:8080", {}) == {}
