"""An amoCRM (API v4) account in memory, and a pusher that replays an import plan on it.

Modelled rules (crm-apis.md §1): at most 50 pipelines per account; at most 100 statuses per
pipeline, the "Неразобранное" inbox (when ``is_unsorted_on``), 142 and 143 included; 142 and 143
exist in every pipeline and may only be renamed; a status colour must be one of the 21 palette
colours; ``descriptions`` hold at most one text per level (``newbie``, ``candidate``,
``master``) of at most 1000 characters; ``required_statuses`` must name statuses of the named
pipeline; ``request_id`` comes back with each created item (assumed for embedded statuses too,
which the plan notes as unconfirmed).  Conservative choices where the docs are silent: batches
of more than 50 items, duplicate loss-reason names and duplicate field codes are rejected,
``required_statuses`` may not name 142/143, and a new pipeline needs one custom status.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

PALETTE = frozenset(
    (
        *("#fffeb2", "#fffd7f", "#fff000", "#ffeab2", "#ffdc7f", "#ffce5a", "#ffdbdb"),
        *("#ffc8c8", "#ff8f92", "#d6eaff", "#c1e0ff", "#98cbff", "#ebffb1", "#deff81"),
        *("#87f2c0", "#f9deff", "#f3beff", "#ccc8f9", "#eb93ff", "#f2f3f4", "#e6e8ea"),
    )
)
LEVELS = ("newbie", "candidate", "master")
LEAD_FIELD_TYPES = frozenset(
    (
        *("text", "numeric", "checkbox", "select", "multiselect", "date", "url", "textarea"),
        *("radiobutton", "streetaddress", "smart_address", "birthday", "legal_entity"),
        *("date_time", "tracking_data", "file", "chained_list", "monetary"),
    )
)
MAX_PIPELINES = 50
MAX_STATUSES = 100
MAX_ITEMS = 50


class AmoError(Exception):
    """A request the account refuses (HTTP 400/422 in the real API)."""


@dataclass
class Status:
    id: int
    name: str
    sort: int
    color: str
    type: int = 0
    editable: bool = True
    descriptions: dict[str, str] = field(default_factory=dict)


@dataclass
class Pipeline:
    id: int
    name: str
    sort: int
    is_main: bool
    is_unsorted_on: bool
    statuses: dict[int, Status] = field(default_factory=dict)

    def ordered(self) -> list[Status]:
        return sorted(self.statuses.values(), key=lambda s: (s.sort, s.id))

    def by_name(self, name: str) -> Status:
        (found,) = [s for s in self.statuses.values() if s.name == name]
        return found


@dataclass
class CustomField:
    id: int
    name: str
    type: str
    code: str
    sort: int
    enums: list[str]
    required_statuses: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class LossReason:
    id: int
    name: str
    sort: int


_REF = re.compile(r"\{([A-Za-z0-9_.]+)\.id\}")


class Account:
    """The account, and :meth:`run_plan` (the pusher)."""

    def __init__(self) -> None:
        self._next = 1000
        self.pipelines: dict[int, Pipeline] = {}
        self.fields: dict[int, CustomField] = {}
        self.reasons: dict[int, LossReason] = {}
        # Every account has a main pipeline; the API refuses to delete the last one.
        main = self._new_pipeline("Воронка", 1, True, True)
        self._add_status(main, {"name": "Первичный контакт", "sort": 20, "color": "#99ccff"}, True)

    # ---- the API ------------------------------------------------------------------------
    def _id(self) -> int:
        self._next += 1
        return self._next

    def _new_pipeline(self, name: str, sort: int, is_main: bool, unsorted: bool) -> Pipeline:
        if len(self.pipelines) >= MAX_PIPELINES:
            raise AmoError("an account holds at most 50 pipelines")
        p = Pipeline(self._id(), name, sort, is_main, unsorted)
        p.statuses[142] = Status(142, "Успешно реализовано", 10000, "#CCFF66", editable=False)
        p.statuses[143] = Status(143, "Закрыто и не реализовано", 11000, "#D5D8DB", editable=False)
        if unsorted:
            sid = self._id()
            p.statuses[sid] = Status(sid, "Неразобранное", 10, "#c1c1c1", type=1, editable=False)
        self.pipelines[p.id] = p
        return p

    def _count(self, p: Pipeline) -> int:
        return len(p.statuses)

    def _add_status(self, p: Pipeline, item: dict[str, Any], legacy: bool = False) -> Status:
        allowed = {"name", "sort", "color", "descriptions", "request_id"}
        if set(item) - allowed:
            raise AmoError(f"unknown status fields {sorted(set(item) - allowed)}")
        if not isinstance(item.get("name"), str) or not item["name"]:
            raise AmoError("a status needs a name")
        if not isinstance(item.get("sort"), int):
            raise AmoError("a status needs a sort")
        color = item.get("color", "#fffeb2")
        if color not in PALETTE and not legacy:
            raise AmoError(f"colour {color} is not in the palette")
        descriptions = self._descriptions(item.get("descriptions", []))
        if self._count(p) + 1 > MAX_STATUSES:
            raise AmoError("a pipeline holds at most 100 statuses, system ones included")
        s = Status(self._id(), item["name"], item["sort"], color, descriptions=descriptions)
        p.statuses[s.id] = s
        return s

    def _descriptions(self, items: list[dict[str, Any]]) -> dict[str, str]:
        result: dict[str, str] = {}
        if len(items) > len(LEVELS):
            raise AmoError("at most three descriptions")
        for d in items:
            level, text = d.get("level"), d.get("description")
            if level not in LEVELS:
                raise AmoError(f"unknown description level {level!r}")
            if level in result:
                raise AmoError(f"two descriptions for level {level}")
            if not isinstance(text, str) or len(text) > 1000:
                raise AmoError("a description has at most 1000 characters")
            result[level] = text
        return result

    def post_pipelines(self, body: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self._batch(body)
        replies = []
        for item in body:
            for key in ("name", "sort", "is_main", "is_unsorted_on"):
                if key not in item:
                    raise AmoError(f"a pipeline needs `{key}`")
            if len(self.pipelines) >= MAX_PIPELINES:
                raise AmoError("an account holds at most 50 pipelines")
            statuses = item.get("_embedded", {}).get("statuses", [])
            if not any("id" not in s for s in statuses):
                raise AmoError("a new pipeline needs at least one custom status")
            p = self._new_pipeline(
                item["name"], item["sort"], item["is_main"], item["is_unsorted_on"]
            )
            reply_statuses = []
            for s in statuses:
                if "id" in s:
                    if s["id"] not in (142, 143) or set(s) != {"id", "name"}:
                        raise AmoError("only 142 and 143 can be given by id, and only renamed")
                    p.statuses[s["id"]].name = s["name"]
                    continue
                created = self._add_status(p, s)
                reply_statuses.append({"id": created.id, "request_id": s.get("request_id")})
            replies.append(
                {"id": p.id, "request_id": item.get("request_id"), "statuses": reply_statuses}
            )
        return replies

    def post_statuses(self, pipeline_id: int, body: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self._batch(body)
        p = self.pipelines.get(pipeline_id)
        if p is None:
            raise AmoError(f"no pipeline {pipeline_id}")
        return [{"id": self._add_status(p, s).id, "request_id": s.get("request_id")} for s in body]

    def post_loss_reasons(self, body: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self._batch(body)
        replies = []
        for item in body:
            if any(r.name == item["name"] for r in self.reasons.values()):
                raise AmoError(f"loss reason {item['name']!r} exists already")
            r = LossReason(self._id(), item["name"], item.get("sort", 0))
            self.reasons[r.id] = r
            replies.append({"id": r.id, "request_id": item.get("request_id")})
        return replies

    def post_custom_fields(self, body: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self._batch(body)
        replies = []
        for item in body:
            if item.get("type") not in LEAD_FIELD_TYPES or not item.get("name"):
                raise AmoError(f"bad lead field {item!r}")
            enums = [e["value"] for e in item.get("enums", [])]
            if item["type"] in ("select", "multiselect", "radiobutton") and not enums:
                raise AmoError("select fields need enums")
            code = item.get("code", "")
            if code and any(f.code == code for f in self.fields.values()):
                raise AmoError(f"field code {code} exists already")
            f = CustomField(
                self._id(), item["name"], item["type"], code, item.get("sort", 0), enums
            )
            self.fields[f.id] = f
            replies.append({"id": f.id, "request_id": item.get("request_id")})
        return replies

    def patch_custom_fields(self, body: list[dict[str, Any]]) -> None:
        self._batch(body)
        for item in body:
            f = self.fields.get(item["id"])
            if f is None:
                raise AmoError(f"no field {item['id']}")
            required = []
            for r in item.get("required_statuses", []):
                p = self.pipelines.get(r["pipeline_id"])
                if p is None or r["status_id"] not in p.statuses:
                    raise AmoError(f"required status {r} does not exist")
                if r["status_id"] in (142, 143):
                    raise AmoError("142/143 in required_statuses is not documented")
                required.append((r["pipeline_id"], r["status_id"]))
            f.required_statuses = required

    def _batch(self, body: list[Any]) -> None:
        if not isinstance(body, list) or not body or len(body) > MAX_ITEMS:
            raise AmoError("a batch is a list of 1 to 50 items")

    def get(self, path: str) -> list[dict[str, Any]]:
        if path == "/api/v4/leads/pipelines":
            return [{"id": p.id, "name": p.name} for p in self.pipelines.values()]
        if path == "/api/v4/leads/loss_reasons":
            return [{"id": r.id, "name": r.name} for r in self.reasons.values()]
        if path == "/api/v4/leads/custom_fields":
            return [
                {
                    "id": f.id,
                    "code": f.code,
                    "name": f.name,
                    "required_statuses": [
                        {"pipeline_id": p, "status_id": s} for p, s in f.required_statuses
                    ],
                }
                for f in self.fields.values()
            ]
        raise AmoError(f"no such path {path}")

    # ---- the pusher ---------------------------------------------------------------------
    def run_plan(self, plan: dict[str, Any]) -> dict[str, int]:
        """Send every request of ``plan`` in order; returns the ids bound to request_ids."""
        binds: dict[str, int] = {}
        replies: dict[str, list[dict[str, Any]]] = {}

        def resolve(value: Any) -> Any:
            if isinstance(value, dict):
                if set(value) == {"$ref"}:
                    name = value["$ref"].removesuffix(".id")
                    if name not in binds:
                        raise AmoError(f"unresolved reference {value['$ref']}")
                    return binds[name]
                return {k: resolve(v) for k, v in value.items()}
            if isinstance(value, list):
                return [resolve(v) for v in value]
            return value

        def path_of(path: str) -> str:
            def sub(match: re.Match[str]) -> str:
                if match.group(1) not in binds:
                    raise AmoError(f"unresolved reference in path {path}")
                return str(binds[match.group(1)])

            return _REF.sub(sub, path)

        for request in plan["requests"]:
            method, path = request["method"], path_of(request["path"])
            if method == "GET":
                reply = self.get(path)
                replies[request["id"]] = reply
                expect = request.get("expect", {})
                if "count_at_most" in expect and len(reply) > expect["count_at_most"]:
                    raise AmoError("too many pipelines for this plan")
                names = {r["name"] for r in reply}
                if set(expect.get("names_absent", [])) & names:
                    raise AmoError("a pipeline with this name exists")
                continue
            body = request["body"]
            if "unless_exists" in request:
                rule = request["unless_exists"]
                existing = {r[rule["match"]]: r["id"] for r in replies[rule["from"]]}
                kept = []
                for item in body:
                    if item[rule["match"]] in existing:
                        binds[item["request_id"]] = existing[item[rule["match"]]]
                    else:
                        kept.append(item)
                body = kept
                if not body:
                    continue
            body = resolve(body)
            if method == "PATCH":
                if request.get("merge") == "required_statuses":
                    for item in body:
                        current = self.fields[item["id"]].required_statuses
                        union = [{"pipeline_id": p, "status_id": s} for p, s in current]
                        for r in item["required_statuses"]:
                            if r not in union:
                                union.append(r)
                        item["required_statuses"] = union
                self.patch_custom_fields(body)
                continue
            if path == "/api/v4/leads/pipelines":
                created = self.post_pipelines(body)
                for p in created:
                    binds[p["request_id"]] = p["id"]
                    for s in p["statuses"]:
                        binds[s["request_id"]] = s["id"]
                continue
            match = re.fullmatch(r"/api/v4/leads/pipelines/(\d+)/statuses", path)
            if match:
                created = self.post_statuses(int(match.group(1)), body)
            elif path == "/api/v4/leads/loss_reasons":
                created = self.post_loss_reasons(body)
            elif path == "/api/v4/leads/custom_fields":
                created = self.post_custom_fields(body)
            else:
                raise AmoError(f"no such path {path}")
            for item in created:
                binds[item["request_id"]] = item["id"]
        return binds

    def pipeline_named(self, name: str) -> Pipeline:
        (found,) = [p for p in self.pipelines.values() if p.name == name]
        return found
