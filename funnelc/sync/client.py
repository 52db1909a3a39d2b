"""HTTP clients for ``plan`` / ``apply``, with the vendors' rate limits by construction.

- amoCRM: at most 7 requests in any second (:class:`Window`; crm-apis.md §1.1), 429 and
  timeouts retried with doubling backoff a bounded number of times, and a 403 (the account
  blocked after overruns, §1.1 amo-err) stops at once with an explanation.
- Bitrix24: the leaky bucket (:class:`Bucket`: drains 2 a second, holds 50; §2.1 limits.md),
  ``batch`` of at most 50 commands (one request against the bucket), the per-method time
  budget kept before the portal refuses (:class:`TimeBudget`: each reply's
  ``time.operating``), 503 ``QUERY_LIMIT_EXCEEDED`` / 429 ``OPERATION_TIME_LIMIT`` /
  timeouts retried with backoff.  Values are sent literally (never ``$result`` references,
  §0), and a command whose values contain ``$result`` is sent on its own, outside any batch,
  so the portal cannot substitute into user text.

Both take an injectable ``clock`` and ``sleep`` (the bench shares a simulated clock with the
fake) and an httpx ``transport``.  No secret reaches an exception, a trace line or a reply
kept for a message: everything goes through :func:`funnelc.sync.redact.redact`.
"""

from __future__ import annotations

import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from funnelc.crm.send import reply_detail
from funnelc.i18n import _
from funnelc.sync.redact import redact

if TYPE_CHECKING:
    import httpx

Clock = Callable[[], float]
Sleep = Callable[[float], None]
Trace = Callable[[str], None]

AMO_RATE = 7  # requests in any one second (§1.1)
B24_RATE = 2.0  # the bucket drains 2 a second (§2.1)
B24_BURST = 50  # and holds 50
B24_BATCH = 50  # commands in one batch (§2.1)
RETRIES = 5


class SyncError(Exception):
    """``plan`` / ``apply`` stopped; the message is redacted and in the user's language."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))


class Window:
    """At most ``rate`` requests in any ``period`` seconds: a request waits until the oldest
    of the last ``rate`` is ``period`` (plus ``margin``) old.  This is the sliding window
    amoCRM counts, so bursts of ``rate`` go out at once — the fastest the limit allows."""

    def __init__(
        self, rate: int, clock: Clock, sleep: Sleep, period: float = 1.0, margin: float = 0.01
    ) -> None:
        self.rate, self.period, self.margin = rate, period, margin
        self.clock, self.sleep = clock, sleep
        self.sent: deque[float] = deque()

    def wait(self) -> None:
        now = self.clock()
        while self.sent and self.sent[0] <= now - self.period - self.margin:
            self.sent.popleft()
        if len(self.sent) >= self.rate:
            delay = self.sent[0] + self.period + self.margin - now
            if delay > 0:
                self.sleep(delay)
            self.sent.popleft()
        self.sent.append(self.clock())

    @staticmethod
    def minimum(requests: int, rate: int = AMO_RATE, period: float = 1.0) -> float:
        """The least time ``requests`` can take under the limit (the first ``rate`` at once)."""
        return max(0, (requests - 1) // rate) * period


class Bucket:
    """Bitrix24's leaky bucket as the client sees it: ``level`` drains ``rate`` a second; a
    request waits while it would overflow ``size - headroom``."""

    def __init__(
        self,
        clock: Clock,
        sleep: Sleep,
        rate: float = B24_RATE,
        size: int = B24_BURST,
        headroom: float = 1.0,
    ) -> None:
        self.rate, self.size, self.headroom = rate, size, headroom
        self.clock, self.sleep = clock, sleep
        self.level = 0.0
        self.at: float | None = None

    def _drain(self) -> None:
        now = self.clock()
        if self.at is not None:
            self.level = max(0.0, self.level - (now - self.at) * self.rate)
        self.at = now

    def wait(self) -> None:
        self._drain()
        over = self.level + 1 - (self.size - self.headroom)
        if over > 0:
            self.sleep(over / self.rate)
            self._drain()
        self.level += 1

    def full(self) -> None:
        """The portal said the bucket is full (503): believe it."""
        self._drain()
        self.level = float(self.size)

    @staticmethod
    def minimum(requests: int, rate: float = B24_RATE, size: int = B24_BURST) -> float:
        return max(0.0, (requests - size) / rate)


B24_METHOD_BUDGET = 480.0  # seconds of execution one method may use in a window (§0, §2.1)


class TimeBudget:
    """Bitrix24's per-method time budget, kept by the client before the portal refuses.

    Source: crm-apis.md §0 and §2.1 (Bitrix24 ``limits.md``): a method whose execution time on
    a portal adds up to more than 480 s in 10 minutes is blocked (429 ``OPERATION_TIME_LIMIT``),
    and every reply carries ``time.operating`` (the seconds that method has used in the
    window, this call included) and ``time.operating_reset_at`` (when that count resets), in
    the portal's clock — so the wait is measured from the reply's own ``time.finish`` and
    converted to ours; ``fast_bitrix24`` (``srh.py``) keeps the same count.  Before a call,
    if the method's last reported ``operating`` plus the most one call of it has cost so far
    would reach the budget, the client sleeps until the reported reset; the fake
    (``funnelc.fakes.bitrix24``, ``_limit``) refuses a call once the sum reaches 480 s."""

    def __init__(self, clock: Clock, sleep: Sleep, budget: float = B24_METHOD_BUDGET) -> None:
        self.clock, self.sleep, self.budget = clock, sleep, budget
        self.operating: dict[str, tuple[float, float]] = {}  # method → (used, reset on our clock)
        self.cost: dict[str, float] = {}  # method → the most one call of it added
        self.waited = 0.0

    def wait(self, method: str) -> None:
        seen = self.operating.get(method)
        if seen is None:
            return
        spent, reset = seen
        now = self.clock()
        if now >= reset:
            del self.operating[method]
            return
        if spent + self.cost.get(method, 0.0) >= self.budget:
            self.sleep(reset - now)
            self.waited += reset - now
            del self.operating[method]

    def seen(self, method: str, block: Any) -> None:
        """Take the ``time`` block of a reply to ``method``."""
        if not isinstance(block, dict) or "operating" not in block:
            return
        try:
            spent = float(block["operating"])
            reset_at = float(block["operating_reset_at"])
            finish = float(block.get("finish", reset_at))
            own = float(block.get("duration") or 0.0)
        except (KeyError, TypeError, ValueError):
            return
        before = self.operating.get(method)
        grew = spent - before[0] if before is not None else spent
        self.cost[method] = max(self.cost.get(method, 0.0), own, grew)
        self.operating[method] = (spent, self.clock() + max(0.0, reset_at - finish))


@dataclass
class Stats:
    requests: int = 0  # HTTP requests sent, retries included
    writes: int = 0  # of which changed something (amoCRM POST/PATCH/DELETE; Bitrix24 commands)
    retries: int = 0
    commands: int = 0  # Bitrix24: commands, in batches or not
    batches: list[int] = field(default_factory=list)  # Bitrix24: commands per batch sent


class _Http:
    def __init__(
        self,
        limiter: Window | Bucket,
        *,
        transport: httpx.BaseTransport | None,
        timeout: float,
        retries: int,
        backoff: float,
        sleep: Sleep,
        trace: Trace | None,
        headers: dict[str, str] | None = None,
    ) -> None:
        import httpx

        self.client = httpx.Client(transport=transport, timeout=timeout, headers=headers)
        self.limiter = limiter
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep
        self.trace = trace
        self.stats = Stats()

    def close(self) -> None:
        self.client.close()

    def _say(self, text: str) -> None:
        if self.trace is not None:
            self.trace(redact(text))

    def send(
        self, method: str, url: str, what: str, *, write: bool = False, **kw: Any
    ) -> httpx.Response:
        """Send, paced, retrying 429 / 503 / timeouts; ``what`` names the request in messages
        (a path without secrets)."""
        import httpx

        for attempt in range(self.retries + 1):
            self.limiter.wait()
            self.stats.requests += 1
            if attempt:
                self.stats.retries += 1
            self._say(f"→ {method} {what}")
            try:
                reply = self.client.request(method, url, **kw)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError):
                # No reply: the request is taken as not applied (the fakes' timeouts are not;
                # a real one may be, and the next run's diff finds what exists).
                self._say(f"← no reply ({what})")
                if attempt == self.retries:
                    raise SyncError(
                        _("{what}: no reply after {n} tries; run apply again to resume").format(
                            what=what, n=attempt + 1
                        )
                    ) from None
            except httpx.HTTPError as error:
                raise SyncError(
                    _("{what}: cannot reach the CRM ({error})").format(
                        what=what, error=type(error).__name__
                    )
                ) from None
            else:
                self._say(f"← {reply.status_code} ({what})")
                if reply.status_code not in (429, 503):
                    if write and reply.status_code < 400:
                        self.stats.writes += 1
                    return reply
                if isinstance(self.limiter, Bucket) and reply.status_code == 503:
                    self.limiter.full()
                if attempt == self.retries:
                    return reply
            self.sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")


def _detail(reply: httpx.Response) -> str:
    return redact(reply_detail(reply))


class AmoClient:
    """amoCRM API v4 at ``base_url`` with a long-lived ``token``."""

    target = "amocrm"

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        timeout: float = 30.0,
        retries: int = RETRIES,
        backoff: float = 0.5,
        trace: Trace | None = None,
    ) -> None:
        self.base = base_url.rstrip("/")
        self.http = _Http(
            Window(AMO_RATE, clock, sleep),
            transport=transport,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            sleep=sleep,
            trace=trace,
            headers={"Authorization": f"Bearer {token}"},
        )

    @property
    def stats(self) -> Stats:
        return self.http.stats

    def close(self) -> None:
        self.http.close()

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, Any] | None = None,
        *,
        allow: Iterable[int] = (),
    ) -> Any:
        """The reply's JSON (``None`` for 204); an error status raises :class:`SyncError`
        unless listed in ``allow`` (then ``None``)."""
        write = method != "GET"
        reply = self.http.send(
            method, self.base + path, path, write=write, json=body, params=params
        )
        if reply.status_code == 403:
            raise SyncError(
                _(
                    "amoCRM answered 403 to {path}: the account is blocked after too many "
                    "requests over 7 a second (another client may share it), or the token "
                    "lacks admin rights; wait for the block to lift and run again"
                ).format(path=path)
            )
        if reply.status_code in allow:
            return None
        if reply.status_code >= 400:
            raise SyncError(f"{method} {path}: {_detail(reply)}")
        if reply.status_code == 204 or not reply.content:
            return None  # §0: an empty list answers 204 with no body
        return reply.json()

    def list_all(self, path: str, name: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Every page of a list (``_links.next``; 204 = empty)."""
        rows: list[dict[str, Any]] = []
        page = 1
        while True:
            params: dict[str, Any] = {"page": page}
            if limit:
                params["limit"] = limit
            data = self.call("GET", path, params=params)
            if not data:
                return rows
            rows += data.get("_embedded", {}).get(name, [])
            if "next" not in data.get("_links", {}):
                return rows
            page += 1

    def count_leads(self, pipeline_id: int, status_id: int | None = None, pages: int = 4) -> int:
        """How many leads sit in a status (or a pipeline): §0 "Is a stage empty?"; counted up
        to ``pages`` × 250 (more is reported as that many)."""
        params: dict[str, Any] = {"filter[statuses][0][pipeline_id]": pipeline_id}
        if status_id is not None:
            params["filter[statuses][0][status_id]"] = status_id
        return self._count_leads(params, pages)

    def count_enum_leads(self, field_id: int, enum_id: int, pages: int = 4) -> int:
        """How many leads hold the value ``enum_id`` of the select field ``field_id``:
        ``filter[custom_fields_values][F][]=E`` (``filters-api.md``: select, multiselect and
        radiobutton fields are filtered by enum id); counted up to ``pages`` × 250."""
        return self._count_leads({f"filter[custom_fields_values][{field_id}][]": enum_id}, pages)

    def _count_leads(self, params: dict[str, Any], pages: int) -> int:
        """The leads ``params`` filter, read a page of 250 at a time, at most ``pages`` pages."""
        total = 0
        for page in range(1, pages + 1):
            data = self.call("GET", "/api/v4/leads", params={**params, "limit": 250, "page": page})
            rows = (data or {}).get("_embedded", {}).get("leads", [])
            total += len(rows)
            if len(rows) < 250:
                break
        return total


def http_build_query(params: dict[str, Any]) -> str:
    """PHP's ``http_build_query``: nested keys in brackets, values percent-encoded."""
    pairs: list[tuple[str, str]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}[{k}]" if prefix else str(k), v)
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                walk(f"{prefix}[{i}]", v)
        elif value is None:
            pairs.append((prefix, ""))
        elif isinstance(value, bool):
            pairs.append((prefix, "Y" if value else "N"))
        else:
            pairs.append((prefix, str(value)))

    walk("", params)
    return "&".join(
        urllib.parse.quote(k, safe="[]") + "=" + urllib.parse.quote(v, safe="") for k, v in pairs
    )


@dataclass(frozen=True)
class Command:
    """One Bitrix24 call inside a batch: ``key`` names its result."""

    key: str
    method: str
    params: dict[str, Any]


class B24Client:
    """Bitrix24 REST behind an inbound webhook ``https://portal/rest/USER/SECRET/``."""

    target = "bitrix24"

    def __init__(
        self,
        webhook_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        timeout: float = 60.0,
        retries: int = RETRIES,
        backoff: float = 0.5,
        trace: Trace | None = None,
    ) -> None:
        self.webhook = webhook_url.rstrip("/") + "/"
        self.http = _Http(
            Bucket(clock, sleep),
            transport=transport,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            sleep=sleep,
            trace=trace,
        )
        self.budget = TimeBudget(clock, sleep)

    @property
    def stats(self) -> Stats:
        return self.http.stats

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """One method (JSON body, no ``$result`` substitution); the whole reply.  Waits first
        when the method's time budget would run out (:class:`TimeBudget`)."""
        write = not method.endswith((".list", ".get", ".fields"))
        self.budget.wait(method)
        reply = self.http.send(
            "POST", f"{self.webhook}{method}.json", method, write=write, json=params
        )
        if reply.status_code == 429:
            raise SyncError(
                _(
                    "Bitrix24 blocked {method}: its time budget (480 s of work in 10 minutes) "
                    "is spent; run again in 10 minutes"
                ).format(method=method)
            )
        if reply.status_code >= 400:
            raise SyncError(f"{method}: {_detail(reply)}")
        if write:
            self.stats.commands += 1
        data: dict[str, Any] = reply.json()
        self.budget.seen(method, data.get("time"))
        return data

    def list_all(self, method: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Every page (50 rows; ``start`` / ``next``, §0).  ``crm.category.list`` nests its
        rows under ``categories``."""
        rows: list[dict[str, Any]] = []
        start: Any = None
        while True:
            data = self.call(method, params if start is None else {**params, "start": start})
            result = data.get("result")
            rows += result.get("categories", []) if isinstance(result, dict) else (result or [])
            if "next" not in data:
                return rows
            start = data["next"]

    def batch(
        self, commands: list[Command], *, halt: bool = True
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """Run ``commands`` (any number: ``batch`` of ≤ 50 at a time, in order); the results,
        errors and totals by key.  With ``halt``, stops at the first error."""
        results: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        totals: dict[str, Any] = {}
        chunk: list[Command] = []

        def flush() -> bool:
            if not chunk:
                return True
            cmd = {c.key: f"{c.method}?{http_build_query(c.params)}" for c in chunk}
            self.stats.batches.append(len(chunk))
            writes = sum(not c.method.endswith((".list", ".get", ".fields")) for c in chunk)
            data = self.call("batch", {"halt": 1 if halt else 0, "cmd": cmd})
            self.stats.commands += writes - 1  # call() counted the batch as one command
            if not writes:
                self.stats.writes -= 1  # a batch of reads changes nothing
            reply = data.get("result") or {}
            results.update(reply.get("result") or {})
            errors.update(reply.get("result_error") or {})
            totals.update(reply.get("result_total") or {})
            chunk.clear()
            return not (halt and errors)

        for command in commands:
            if "$result" in http_build_query(command.params) or "%24result" in http_build_query(
                command.params
            ):
                if not flush():
                    break
                try:
                    data = self.call(command.method, command.params)
                except SyncError as error:
                    errors[command.key] = {"error_description": str(error)}
                    if halt:
                        break
                    continue
                results[command.key] = data.get("result")
                if "total" in data:
                    totals[command.key] = data["total"]
                continue
            chunk.append(command)
            if len(chunk) == B24_BATCH and not flush():
                break
        else:
            flush()
        return results, errors, totals
