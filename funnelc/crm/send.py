"""Send an import plan (``funnelc build --target amocrm|bitrix24``) to a CRM, request by request.

This is the plan's pusher, as each plan's ``notes`` describe it: requests in order, references
resolved from earlier replies, ``expect`` checks, ``unless_exists`` / ``merge`` against what the
account already has.  It reads every page of a list (both CRMs page their lists, crm-apis.md
§0), takes amoCRM's empty-list 204, maps the statuses of a new amoCRM pipeline by name and
order rather than by ``request_id`` or ``sort`` (§0), and retries 429 / 503 / timeouts a bounded
number of times with backoff (a refused or timed-out request is assumed not applied).

httpx is imported lazily, so nothing that does not send pays for it.  Secrets (the token, the
webhook URL) never appear in a :class:`SendError`.
"""

from __future__ import annotations

import re
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx


class SendError(Exception):
    """The plan stopped: which request, and what the CRM (or a check) said."""

    def __init__(self, request_id: str, message: str) -> None:
        super().__init__(f"{request_id}: {message}")
        self.request_id = request_id


@dataclass
class Sent:
    """What sending a plan did: requests made, ids bound, errors a ``halt: 0`` batch tolerated."""

    requests: int = 0
    binds: dict[str, int] = field(default_factory=dict)
    tolerated: list[dict[str, Any]] = field(default_factory=list)


RETRY_STATUSES = frozenset((429, 503))


class Pacer:
    """At most ``rate`` requests a second, across every plan sent with the same pacer: each
    request waits until ``1/rate`` seconds (plus a 1 % margin for clock differences) after the
    previous one.  ``clock`` and ``sleep`` are injectable (tests pass a fake clock)."""

    MARGIN = 1.01

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = self.MARGIN / rate
        self.clock = clock
        self.sleep = sleep
        self._last: float | None = None

    def wait(self) -> None:
        if self._last is not None:
            delay = self._last + self.interval - self.clock()
            if delay > 0:
                self.sleep(delay)
        self._last = self.clock()


class _Http:
    def __init__(
        self,
        client: httpx.Client,
        retries: int,
        backoff: float,
        sleep: Callable[[float], None],
        pacer: Pacer | None = None,
    ) -> None:
        self.client = client
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep
        self.pacer = pacer
        self.count = 0

    def _pace(self) -> None:
        if self.pacer is not None:
            self.pacer.wait()

    def send(self, request_id: str, method: str, url: str, **kw: Any) -> httpx.Response:
        import httpx

        for attempt in range(self.retries + 1):
            self._pace()
            self.count += 1
            try:
                reply = self.client.request(method, url, **kw)
            except httpx.TimeoutException:
                if attempt == self.retries:
                    raise SendError(request_id, "timed out, retries exhausted") from None
            except httpx.TransportError as error:
                raise SendError(request_id, f"transport error {type(error).__name__}") from None
            else:
                if reply.status_code not in RETRY_STATUSES or attempt == self.retries:
                    return reply
            self.sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")


def _client(timeout: float) -> httpx.Client:
    import httpx

    return httpx.Client(timeout=timeout)


def send_plan(
    plan: dict[str, Any],
    *,
    base_url: str | None = None,
    token: str | None = None,
    webhook_url: str | None = None,
    client: httpx.Client | None = None,
    timeout: float = 30.0,
    retries: int = 5,
    backoff: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
    pacer: Pacer | None = None,
) -> Sent:
    """Send ``plan`` (a parsed plan file); raises :class:`SendError` when it stops.

    ``pacer`` spaces the requests (amoCRM: 7 a second; Bitrix24: 2 a second keeps its bucket
    from ever filling); ``sleep`` is how retries wait (tests pass a fake clock's ``advance``)."""
    own = client is None
    http = _Http(client or _client(timeout), retries, backoff, sleep, pacer)
    try:
        if plan.get("target") == "amocrm":
            if not base_url or not token:
                raise SendError("plan", "amoCRM needs a base URL and a token")
            return _AmoSender(http, base_url.rstrip("/"), token).run(plan)
        if plan.get("target") == "bitrix24":
            if not webhook_url:
                raise SendError("plan", "Bitrix24 needs a webhook URL")
            return _B24Sender(http, webhook_url.rstrip("/") + "/").run(plan)
        raise SendError("plan", f"unknown target {plan.get('target')!r}")
    finally:
        if own:
            http.client.close()


def reply_detail(reply: httpx.Response) -> str:
    """``HTTP <status>``, with the CRM's own error text when the reply carries one (amoCRM's
    ``detail``, Bitrix24's ``error_description`` or ``error``)."""
    try:
        data = reply.json()
    except ValueError:
        return f"HTTP {reply.status_code}"
    if isinstance(data, dict):
        text = data.get("error_description") or data.get("detail") or data.get("error")
        if text:
            return f"HTTP {reply.status_code}: {text}"
    return f"HTTP {reply.status_code}"


# ---- amoCRM ------------------------------------------------------------------------------------

_PATH_REF = re.compile(r"\{([A-Za-z0-9_.]+)\.id\}")


def _local(href: str) -> str:
    """The path and query of a ``_links`` href (which may be absolute)."""
    return urllib.parse.urlsplit(href)._replace(scheme="", netloc="").geturl()


class _AmoSender:
    def __init__(self, http: _Http, base: str, token: str) -> None:
        self.http = http
        self.base = base
        self.headers = {"Authorization": f"Bearer {token}"}
        self.sent = Sent()

    def _call(self, rid: str, method: str, path: str, body: Any = None) -> Any:
        kw: dict[str, Any] = {"headers": self.headers}
        if body is not None:
            kw["json"] = body
        reply = self.http.send(rid, method, self.base + path, **kw)
        if reply.status_code == 403:
            raise SendError(
                rid,
                "HTTP 403: the account refuses every call (blocked after going over 7 "
                "requests per second, or the token lacks admin rights)",
            )
        if reply.status_code >= 400:
            raise SendError(rid, reply_detail(reply))
        if reply.status_code == 204 or not reply.content:
            return None  # crm-apis.md §0: an empty list is 204 with no body
        return reply.json()

    def _list(self, rid: str, path: str) -> list[dict[str, Any]]:
        """Every item of a list, following ``_links.next`` (custom fields are paged, §0)."""
        items: list[dict[str, Any]] = []
        url: str | None = path + ("&" if "?" in path else "?") + "limit=250"
        while url is not None:
            data = self._call(rid, "GET", url)
            if data is None:
                break
            for value in data.get("_embedded", {}).values():
                items += value
            nxt = data.get("_links", {}).get("next", {}).get("href")
            url = (
                urllib.parse.urlsplit(nxt)._replace(scheme="", netloc="").geturl() if nxt else None
            )
        return items

    def _resolve(self, rid: str, value: Any) -> Any:
        binds = self.sent.binds
        if isinstance(value, dict):
            if set(value) == {"$ref"}:
                name = str(value["$ref"]).removesuffix(".id")
                if name not in binds:
                    raise SendError(rid, f"unresolved reference {value['$ref']}")
                return binds[name]
            return {k: self._resolve(rid, v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._resolve(rid, v) for v in value]
        return value

    def _path(self, rid: str, path: str) -> str:
        def sub(match: re.Match[str]) -> str:
            if match.group(1) not in self.sent.binds:
                raise SendError(rid, f"unresolved reference in path {path}")
            return str(self.sent.binds[match.group(1)])

        return _PATH_REF.sub(sub, path)

    def run(self, plan: dict[str, Any]) -> Sent:
        replies: dict[str, list[dict[str, Any]]] = {}
        for request in plan["requests"]:
            rid, method = request["id"], request["method"]
            path = self._path(rid, request["path"])
            if method == "GET":
                reply = self._list(rid, path)
                replies[rid] = reply
                expect = request.get("expect", {})
                if "count_at_most" in expect and len(reply) > expect["count_at_most"]:
                    raise SendError(rid, "too many pipelines for this plan")
                clash = set(expect.get("names_absent", [])) & {r["name"] for r in reply}
                if clash:
                    raise SendError(rid, f"a pipeline with this name exists: {sorted(clash)}")
                continue
            body = request["body"]
            rule = request.get("unless_exists")
            if rule is not None:
                existing = {r.get(rule["match"]): r["id"] for r in replies[rule["from"]]}
                kept = []
                for item in body:
                    if item[rule["match"]] in existing:
                        self.sent.binds[item["request_id"]] = existing[item[rule["match"]]]
                    else:
                        kept.append(item)
                body = kept
                if not body:
                    continue
            body = self._resolve(rid, body)
            if method == "PATCH" and request.get("merge") == "required_statuses":
                body = [self._merged(rid, item) for item in body]
            data = self._call(rid, method, path, body)
            if path == "/api/v4/leads/pipelines" and method == "POST":
                self._bind_pipelines(rid, request["body"], data)
                continue
            for item in (data or {}).get("_embedded", {}).values():
                for made in item:
                    if made.get("request_id") not in (None, "0"):
                        self.sent.binds[made["request_id"]] = made["id"]
        self.sent.requests = self.http.count
        return self.sent

    def _merged(self, rid: str, item: dict[str, Any]) -> dict[str, Any]:
        """``merge: "required_statuses"``: the union with what the field requires now.  A
        field edit must carry ``name`` and, for select fields, the current enums *with their
        ids* — enums without ids would delete the old ones (crm-apis.md §0)."""
        current = self._call(rid, "GET", f"/api/v4/leads/custom_fields/{item['id']}")
        union = list(current.get("required_statuses") or [])
        union = [{"pipeline_id": r["pipeline_id"], "status_id": r["status_id"]} for r in union]
        for r in item["required_statuses"]:
            if r not in union:
                union.append(r)
        merged: dict[str, Any] = {"id": item["id"], "name": current["name"]}
        if current.get("enums"):
            merged["enums"] = [
                {"id": e["id"], "value": e["value"], "sort": e["sort"]} for e in current["enums"]
            ]
        merged["required_statuses"] = union
        return merged

    def _bind_pipelines(self, rid: str, sent: list[dict[str, Any]], data: Any) -> None:
        """Bind each new pipeline by ``request_id`` and its statuses by name and order among the
        editable ones — never by ``sort`` (the server renumbers) nor by an embedded
        ``request_id`` (undocumented there), crm-apis.md §0."""
        made = data["_embedded"]["pipelines"]
        by_request = {p.get("request_id"): p for p in made}
        for i, item in enumerate(sent):
            pipeline = by_request.get(item.get("request_id")) or made[i]
            self.sent.binds[item["request_id"]] = pipeline["id"]
            wanted = [s for s in item.get("_embedded", {}).get("statuses", []) if "id" not in s]
            got = [
                s
                for s in sorted(pipeline["_embedded"]["statuses"], key=lambda s: s["sort"])
                if s.get("is_editable") and s.get("type") == 0
            ]
            if [s["name"] for s in wanted] != [s["name"] for s in got]:
                raise SendError(rid, "the new pipeline's statuses are not the ones sent")
            for want, have in zip(wanted, got, strict=True):
                if want.get("request_id"):
                    self.sent.binds[want["request_id"]] = have["id"]


# ---- Bitrix24 ----------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{\{([A-Za-z0-9_.]+):([A-Za-z0-9_.]+)\}\}")


class _B24Sender:
    def __init__(self, http: _Http, webhook: str) -> None:
        self.http = http
        self.webhook = webhook
        self.sent = Sent()

    def _call(self, rid: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
        reply = self.http.send(rid, "POST", f"{self.webhook}{method}.json", json=params)
        if reply.status_code >= 400:
            raise SendError(rid, reply_detail(reply))
        data: dict[str, Any] = reply.json()
        return data

    def _all(self, rid: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """A list method read to its end: every page (50 rows, ``start`` / ``next``, §0)."""
        first = self._call(rid, method, params)
        data = first
        while "next" in data:
            data = self._call(rid, method, {**params, "start": data["next"]})
            if isinstance(first["result"], dict):  # crm.category.list: {"categories": [...]}
                for key, rows in data["result"].items():
                    first["result"][key] += rows
            else:
                first["result"] += data["result"]
        first.pop("next", None)
        return first

    def run(self, plan: dict[str, Any]) -> Sent:
        replies: dict[str, Any] = {}
        for request in plan["requests"]:
            rid = request["id"]
            if request["method"] != "batch":
                method = request["method"]
                call = self._all if method.endswith(".list") else self._call
                data = call(rid, method, request["params"])
                replies[rid] = data
                result = data["result"]
                self._expect(rid, request, result)
                continue
            cmd = dict(request["body"]["cmd"])
            for command in request["commands"]:
                self._unless_exists(rid, command, cmd, replies)
            if not cmd:
                continue

            def placeholder(match: re.Match[str]) -> str:
                node: Any = replies[match.group(1)]["result"]
                for part in match.group(2).split("."):
                    node = node[int(part)] if isinstance(node, list) else node[part]
                return urllib.parse.quote(str(node), safe="")

            optional = {c["key"] for c in request["commands"] if c.get("optional")}
            resolved: dict[str, str] = {}
            for key, text in cmd.items():
                try:
                    resolved[key] = _PLACEHOLDER.sub(placeholder, text)
                except (LookupError, TypeError, ValueError):
                    # A lookup of an earlier request found nothing (format 3).
                    if key in optional:
                        continue  # a delete of what the portal does not have: nothing to do
                    raise SendError(rid, f"{key}: a reference finds nothing") from None
            cmd = resolved
            if not cmd:
                continue
            halt = request["body"]["halt"]
            data = self._call(rid, "batch", {"halt": halt, "cmd": cmd})
            replies[rid] = data
            errors = data["result"].get("result_error") or {}
            if errors:
                if halt and not set(errors) <= optional:
                    raise SendError(rid, f"batch stopped: {errors}")
                self.sent.tolerated.append(errors)
            self._expect(rid, request, data["result"]["result"])
        self.sent.requests = self.http.count
        return self.sent

    def _unless_exists(
        self, rid: str, command: dict[str, Any], cmd: dict[str, str], replies: dict[str, Any]
    ) -> None:
        rule = command.get("unless_exists")
        if rule is None:
            return
        name = rule["match"]["FIELD_NAME"]
        existing = [f for f in replies[rule["from"]]["result"] if f["FIELD_NAME"] == name]
        if not existing:
            return
        del cmd[command["key"]]
        if command.get("merge") != "LIST":
            return
        have = {item["VALUE"] for item in existing[0].get("LIST") or []}
        missing = [i for i in command["params"]["fields"]["LIST"] if i["VALUE"] not in have]
        if missing:
            entity = command["method"].split(".")[1]
            params = {"id": existing[0]["ID"], "fields": {"LIST": missing}}
            self._call(rid, f"crm.{entity}.userfield.update", params)

    @staticmethod
    def _expect(rid: str, request: dict[str, Any], result: Any) -> None:
        for path, rule in request.get("expect", {}).items():
            if path == "names_absent":
                names = {c["name"] for c in result.get("categories", [])}
                clash = set(rule) & names
                if clash:
                    raise SendError(rid, f"a category with this name exists: {sorted(clash)}")
                continue
            node = result
            for part in path.split("."):
                node = node[part]
            if node > rule["at_most"]:
                raise SendError(rid, f"{path} = {node} is above {rule['at_most']}")
