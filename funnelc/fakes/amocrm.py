"""A local amoCRM (Kommo) account, API v4, faithful to the vendor's documented behaviour.

Every rule cites its source: ``§0`` is section 0 of ``../shared/crm-apis.md`` (checked against
the vendor's docs and the official PHP SDK ``amocrm/amocrm-api-php``), ``§1.x`` the other
sections (``amo-pipes`` = ``crm_platform/leads_pipelines.md``, ``amo-cf`` =
``custom-fields.md``, ``amo-err`` = ``error-codes.md``).  Where the sources are silent the fake
is conservative and says so.

Base URL ``http://127.0.0.1:PORT``; every request needs ``Authorization: Bearer TOKEN`` (a
long-lived token).  Replies are ``application/hal+json``; errors ``application/problem+json``
(§1.1).  State is plain data: :meth:`AmoCRM.state`.  Tests set lead counts per status
(:meth:`AmoCRM.set_leads`), inject faults, and turn the rate limit on (``limits=True``, with an
injectable clock).
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from funnelc.fakes._server import Clock, Faults, Reply, Request

# §1.3 (amo-pipes; amo-php StatusModel::COLORS): the 21 status colours.
PALETTE = frozenset(
    (
        *("#fffeb2", "#fffd7f", "#fff000", "#ffeab2", "#ffdc7f", "#ffce5a", "#ffdbdb"),
        *("#ffc8c8", "#ff8f92", "#d6eaff", "#c1e0ff", "#98cbff", "#ebffb1", "#deff81"),
        *("#87f2c0", "#f9deff", "#f3beff", "#ccc8f9", "#eb93ff", "#f2f3f4", "#e6e8ea"),
    )
)
LEVELS = ("newbie", "candidate", "master")  # §1.3 descriptions
DESCRIPTION_MAX = 1000  # §1.3
WON, LOST = 142, 143  # §1.3: the same ids in every pipeline
# §1.5: field types usable on leads.
LEAD_FIELD_TYPES = frozenset(
    (
        *("text", "numeric", "checkbox", "select", "multiselect", "date", "url", "textarea"),
        *("radiobutton", "streetaddress", "smart_address", "birthday", "legal_entity"),
        *("date_time", "tracking_data", "file", "chained_list", "monetary"),
    )
)
ENUM_TYPES = frozenset(("select", "multiselect", "radiobutton"))  # §1.5: enums required
MAX_PIPELINES = 50  # §1.2
MAX_STATUSES = 100  # §1.2, system statuses included
MAX_ITEMS = 50  # §1.1: no documented cap; the fake refuses more than 50 (conservative)
RATE = 7  # §1.1 kommo-lim: 7 requests per second, 429 above
BLOCK_AFTER = 10  # §1.1 amo-err: repeated excess blocks the account (403); how many is not
# documented — the fake blocks after this many refused requests (settable).
FIELDS_PAGE, FIELDS_PAGE_MAX = 50, 250  # §0: custom fields 50 a page, limit up to 250
LEADS_PAGE_MAX = 250  # §0 / §1.1


class AmoError(Exception):
    """A refused request: HTTP ``status`` with a problem+json body."""

    def __init__(
        self, detail: str, status: int = 400, errors: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.errors = errors or []


@dataclass
class Status:
    id: int
    pipeline_id: int
    name: str
    sort: int
    color: str
    type: int = 0  # §1.3: 1 = the inbox (Неразобранное), 0 = every other status
    editable: bool = True  # §1.3: false for the inbox, 142 and 143
    descriptions: dict[str, str] = field(default_factory=dict)

    def public(self, account_id: int, with_descriptions: bool = True) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "sort": self.sort,
            "is_editable": self.editable,
            "pipeline_id": self.pipeline_id,
            "color": self.color,
            "type": self.type,
            "account_id": account_id,
        }
        if with_descriptions:
            item["descriptions"] = [
                {"level": level, "description": text} for level, text in self.descriptions.items()
            ]
        return item


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

    def custom(self) -> list[Status]:
        return [s for s in self.ordered() if s.editable]


@dataclass
class CustomField:
    id: int
    name: str
    type: str
    code: str
    sort: int
    enum_items: list[dict[str, Any]] = field(default_factory=list)  # {id, value, sort}
    required_statuses: list[tuple[int, int]] = field(default_factory=list)
    currency: str | None = None

    @property
    def enums(self) -> list[str]:
        return [
            str(e["value"]) for e in sorted(self.enum_items, key=lambda e: (e["sort"], e["id"]))
        ]

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "code": self.code or None,
            "sort": self.sort,
            "is_api_only": False,
            "enums": (
                [dict(e) for e in sorted(self.enum_items, key=lambda e: (e["sort"], e["id"]))]
                if self.type in ENUM_TYPES
                else None
            ),
            "required_statuses": [
                {"pipeline_id": p, "status_id": s} for p, s in self.required_statuses
            ],
            "currency": self.currency,
            "entity_type": "leads",
        }


@dataclass
class LossReason:
    id: int
    name: str
    sort: int

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "sort": self.sort, "created_at": 0}


class AmoCRM:
    """The account.  ``token`` is the long-lived token it accepts; ``echo_embedded_request_id``
    makes a pipeline create echo ``request_id`` on its embedded statuses (§0: undocumented,
    off by default, so a client must map them by name and order); ``limits`` turns on the
    7 requests/s limit (429, then 403 after ``block_after`` refusals) on ``clock``;
    ``refuse_field_code`` refuses ``code`` on field create, as reported (§0, unconfirmed)."""

    def __init__(
        self,
        token: str = "faketoken",
        *,
        account_id: int = 30000001,
        echo_embedded_request_id: bool = False,
        refuse_field_code: bool = False,
        is_loss_reason_enabled: bool = True,
        limits: bool = False,
        block_after: int = BLOCK_AFTER,
        clock: Clock | None = None,
        faults: Faults | None = None,
    ) -> None:
        self.token = token
        self.account_id = account_id
        self.echo_embedded_request_id = echo_embedded_request_id
        self.refuse_field_code = refuse_field_code
        self.is_loss_reason_enabled = is_loss_reason_enabled
        self.limits = limits
        self.block_after = block_after
        self.clock = clock or Clock()
        self.faults = faults or Faults()
        self.lock = threading.Lock()
        self.requests: list[str] = []  # "METHOD path" of every request that was served
        self._next = 1000
        self.pipelines: dict[int, Pipeline] = {}
        self.fields: dict[int, CustomField] = {}
        self.reasons: dict[int, LossReason] = {}
        self.leads: defaultdict[tuple[int, int], int] = defaultdict(int)
        # Leads holding an enum value of a select field: (field id, enum id) → count.  They
        # are separate from ``leads`` (the fake keeps counts, not lead records).
        self.enum_leads: defaultdict[tuple[int, int], int] = defaultdict(int)
        self._window: deque[float] = deque()
        self._refused = 0
        self.blocked = False
        # Every account has a main pipeline; the API refuses to delete the last one (§0).
        main = self._new_pipeline("Воронка", 1, True, True)
        for i, name in enumerate(("Первичный контакт", "Переговоры", "Принимают решение")):
            self._add_status(main, {"name": name, "sort": 20 + 10 * i}, check_color=False)
        self._renumber(main)

    # ---- plain data for tests -----------------------------------------------------------------
    def set_field_leads(self, field_id: int, enum_id: int, count: int) -> None:
        """Say that ``count`` leads hold the value ``enum_id`` of the select field ``field_id``."""
        with self.lock:
            self.enum_leads[(field_id, enum_id)] = count

    def set_leads(self, pipeline_id: int, status_id: int, count: int) -> None:
        with self.lock:
            self.leads[(pipeline_id, status_id)] = count

    def pipeline_named(self, name: str) -> Pipeline:
        (found,) = [p for p in self.pipelines.values() if p.name == name]
        return found

    def state(self) -> dict[str, Any]:
        """The whole account as plain data: pipelines with their statuses in order, custom
        fields, loss reasons, lead counts."""
        with self.lock:
            return {
                "pipelines": [
                    {
                        "id": p.id,
                        "name": p.name,
                        "sort": p.sort,
                        "is_main": p.is_main,
                        "is_unsorted_on": p.is_unsorted_on,
                        "statuses": [s.public(self.account_id) for s in p.ordered()],
                    }
                    for p in sorted(self.pipelines.values(), key=lambda p: (p.sort, p.id))
                ],
                "custom_fields": [f.public() for f in self.fields.values()],
                "loss_reasons": [r.public() for r in self.reasons.values()],
                "leads": {f"{p} {s}": n for (p, s), n in sorted(self.leads.items()) if n},
                "enum_leads": {f"{f} {e}": n for (f, e), n in sorted(self.enum_leads.items()) if n},
            }

    # ---- the model ----------------------------------------------------------------------------
    def _id(self) -> int:
        self._next += 1
        return self._next

    def _new_pipeline(self, name: str, sort: int, is_main: bool, unsorted: bool) -> Pipeline:
        if len(self.pipelines) >= MAX_PIPELINES:
            raise AmoError(f"An account holds at most {MAX_PIPELINES} pipelines.")  # §1.2
        p = Pipeline(self._id(), name, sort, is_main, unsorted)
        # §1.3: 142 / 143 in every pipeline, not editable.
        p.statuses[WON] = Status(WON, p.id, "Успешно реализовано", 10000, "#CCFF66", 0, False)
        p.statuses[LOST] = Status(
            LOST, p.id, "Закрыто и не реализовано", 11000, "#D5D8DB", 0, False
        )
        if unsorted:
            self._inbox(p)
        self.pipelines[p.id] = p
        return p

    def _inbox(self, p: Pipeline) -> None:
        # §1.3: Неразобранное, type 1, sort 10, #c1c1c1, only while is_unsorted_on.
        sid = self._id()
        p.statuses[sid] = Status(sid, p.id, "Неразобранное", 10, "#c1c1c1", 1, False)

    def _renumber(self, p: Pipeline) -> None:
        """§0: the server renumbers ``sort`` (the create example in leads_pipelines.md sends
        10 and the reply shows 20).  The fake keeps the requested order and renumbers the
        editable statuses 20, 30, 40… (the inbox is 10, 142/143 10000/11000)."""
        for i, s in enumerate(p.custom()):
            s.sort = 20 + 10 * i

    def _descriptions(self, items: Any) -> dict[str, str]:
        # §1.3: at most one per level (newbie, candidate, master), ≤ 1000 characters.
        if not isinstance(items, list):
            raise AmoError("descriptions must be a list.")
        result: dict[str, str] = {}
        for d in items:
            level, text = d.get("level"), d.get("description")
            if level not in LEVELS:
                raise AmoError(f"Unknown description level {level!r}.")
            if level in result:
                raise AmoError(f"A status has two descriptions for level {level}.")
            if not isinstance(text, str) or len(text) > DESCRIPTION_MAX:
                raise AmoError(f"A description has at most {DESCRIPTION_MAX} characters.")
            result[level] = text
        return result

    def _add_status(self, p: Pipeline, item: dict[str, Any], check_color: bool = True) -> Status:
        allowed = {"name", "sort", "color", "descriptions", "request_id"}
        if not isinstance(item, dict) or set(item) - allowed:
            raise AmoError(f"Unknown status fields {sorted(set(item) - allowed)}.")
        # §1.3: name and sort are required on create.
        if not isinstance(item.get("name"), str) or not item["name"]:
            raise AmoError("A status needs a name.")
        if not isinstance(item.get("sort"), int):
            raise AmoError("A status needs a sort.")
        color = item.get("color", "#fffeb2")
        if check_color and color not in PALETTE:
            raise AmoError(f"Colour {color} is not in the palette.")  # §1.3
        descriptions = self._descriptions(item.get("descriptions", []))
        if len(p.statuses) + 1 > MAX_STATUSES:
            raise AmoError(
                f"A pipeline holds at most {MAX_STATUSES} statuses, system ones included."
            )
        s = Status(self._id(), p.id, item["name"], item["sort"], color, 0, True, descriptions)
        p.statuses[s.id] = s
        return s

    def _pipeline(self, pid: int) -> Pipeline:
        p = self.pipelines.get(pid)
        if p is None:
            raise AmoError(f"No pipeline {pid}.", 404)
        return p

    @staticmethod
    def _batch(body: Any) -> list[dict[str, Any]]:
        if not isinstance(body, list) or not body or len(body) > MAX_ITEMS:
            raise AmoError(f"The body must be a list of 1 to {MAX_ITEMS} objects.")
        if not all(isinstance(item, dict) for item in body):
            raise AmoError("The body must be a list of objects.")
        return body

    def _pipeline_public(self, p: Pipeline) -> dict[str, Any]:
        return {
            "id": p.id,
            "name": p.name,
            "sort": p.sort,
            "is_main": p.is_main,
            "is_unsorted_on": p.is_unsorted_on,
            "is_archive": False,
            "account_id": self.account_id,
            "_embedded": {"statuses": [s.public(self.account_id) for s in p.ordered()]},
        }

    def post_pipelines(self, body: Any) -> list[dict[str, Any]]:
        replies = []
        for item in self._batch(body):
            # §1.2: name, sort, is_main, is_unsorted_on are required on create.
            for key in ("name", "sort", "is_main", "is_unsorted_on"):
                if key not in item:
                    raise AmoError(f"A pipeline needs `{key}`.")
            if not isinstance(item["name"], str) or not item["name"].strip():
                raise AmoError("A pipeline needs a name.")
            statuses = item.get("_embedded", {}).get("statuses", [])
            # §1.2: v2 required a custom status on create; unconfirmed for v4, so the fake
            # requires one (conservative).
            if not any("id" not in s for s in statuses):
                raise AmoError("A new pipeline needs at least one custom status.")
            p = self._new_pipeline(
                item["name"], item["sort"], bool(item["is_main"]), bool(item["is_unsorted_on"])
            )
            try:
                echoed = []
                for s in statuses:
                    if "id" in s:
                        # §1.2: on create 142/143 may be renamed here, nothing else.
                        if s["id"] not in (WON, LOST) or set(s) != {"id", "name"}:
                            raise AmoError(
                                "By id, only 142 and 143 can be given (and only renamed)."
                            )
                        p.statuses[s["id"]].name = s["name"]
                        continue
                    created = self._add_status(p, s)
                    echoed.append((created.id, s.get("request_id")))
            except AmoError:
                del self.pipelines[p.id]
                raise
            self._renumber(p)
            reply = self._pipeline_public(p)
            reply["request_id"] = item.get("request_id", "0")
            if self.echo_embedded_request_id:
                ids = dict(echoed)
                for status in reply["_embedded"]["statuses"]:
                    if ids.get(status["id"]) is not None:
                        status["request_id"] = ids[status["id"]]
            replies.append(reply)
        return replies

    def patch_pipeline(self, pid: int, body: Any) -> dict[str, Any]:
        p = self._pipeline(pid)
        if not isinstance(body, dict) or not set(body) & {
            "name",
            "sort",
            "is_main",
            "is_unsorted_on",
        }:
            raise AmoError("Send at least one of name, sort, is_main, is_unsorted_on.")  # §1.2
        if "name" in body:
            p.name = str(body["name"])
        if "sort" in body:
            p.sort = int(body["sort"])
        if "is_main" in body:
            p.is_main = bool(body["is_main"])
        if "is_unsorted_on" in body and bool(body["is_unsorted_on"]) != p.is_unsorted_on:
            p.is_unsorted_on = bool(body["is_unsorted_on"])
            if p.is_unsorted_on:
                self._inbox(p)
            else:
                p.statuses = {k: s for k, s in p.statuses.items() if s.type != 1}
        return self._pipeline_public(p)

    def delete_pipeline(self, pid: int) -> None:
        p = self._pipeline(pid)
        # §0: DELETE of a pipeline refuses the last pipeline and a pipeline with leads.
        if len(self.pipelines) == 1:
            raise AmoError("The last pipeline cannot be deleted.")
        if any(n for (q, _), n in self.leads.items() if q == pid):
            raise AmoError("A pipeline that holds leads cannot be deleted.")
        del self.pipelines[p.id]

    def post_statuses(self, pid: int, body: Any) -> list[dict[str, Any]]:
        p = self._pipeline(pid)
        made = [(self._add_status(p, s), s.get("request_id", "0")) for s in self._batch(body)]
        self._renumber(p)
        # §1.1 / §0: request_id comes back unchanged for POST .../statuses.
        return [{**s.public(self.account_id), "request_id": r} for s, r in made]

    def _status(self, pid: int, sid: int) -> tuple[Pipeline, Status]:
        p = self._pipeline(pid)
        s = p.statuses.get(sid)
        if s is None:
            raise AmoError(f"No status {sid} in pipeline {pid}.", 404)
        return p, s

    def patch_status(self, pid: int, sid: int, body: Any) -> dict[str, Any]:
        p, s = self._status(pid, sid)
        if not isinstance(body, dict):
            raise AmoError("The body must be an object.")
        extra = set(body) - {"name", "sort", "color", "descriptions"}
        if extra:
            raise AmoError(
                f"A status edit takes name, sort, color, descriptions, not {sorted(extra)}."
            )
        if s.type == 1:
            raise AmoError("The inbox (Неразобранное) cannot be edited.")
        if not s.editable and set(body) - {"name"}:
            raise AmoError("Statuses 142 and 143 can only be renamed.")
        if "name" in body:
            if not isinstance(body["name"], str) or not body["name"]:
                raise AmoError("A status needs a name.")
            s.name = body["name"]
        if "color" in body:
            if body["color"] not in PALETTE:
                raise AmoError(f"Colour {body['color']} is not in the palette.")
            s.color = body["color"]
        if "descriptions" in body:
            s.descriptions = self._descriptions(body["descriptions"])
        if "sort" in body:
            s.sort = int(body["sort"])
            self._renumber(p)
        return s.public(self.account_id)

    def delete_status(self, pid: int, sid: int) -> None:
        p, s = self._status(pid, sid)
        if not s.editable:
            raise AmoError("System statuses (the inbox, 142, 143) cannot be deleted.")
        # §0: deleting a status succeeds and moves its leads to the first stage; the API does
        # NOT refuse.  "First stage" = the first editable status left.
        moved = self.leads.pop((pid, sid), 0)
        del p.statuses[sid]
        if moved:
            first = p.custom()[0] if p.custom() else p.statuses[LOST]
            self.leads[(pid, first.id)] += moved

    # custom fields (§1.5, §0)
    def _required(self, items: Any) -> list[tuple[int, int]]:
        result = []
        for r in items or []:
            pid, sid = r.get("pipeline_id"), r.get("status_id")
            p = self.pipelines.get(pid) if isinstance(pid, int) else None
            if p is None or sid not in p.statuses:
                raise AmoError(f"Required status {r} does not exist.")
            # [UNCONFIRMED] in §1.5 whether 142/143 are accepted: the fake refuses them.
            if sid in (WON, LOST) or p.statuses[sid].type == 1:
                raise AmoError("142, 143 and the inbox cannot be required statuses (unconfirmed).")
            result.append((pid, sid))
        return result

    def _enums(self, f: CustomField | None, items: Any) -> list[dict[str, Any]]:
        """§0 (custom-fields.md): enums sent with their ids keep (and update) those ids; enums
        without ids are new, and every existing id not sent is deleted."""
        if not isinstance(items, list) or not items:
            raise AmoError("Select fields need enums.")
        old = {e["id"]: e for e in (f.enum_items if f else [])}
        result = []
        for i, e in enumerate(items):
            if not isinstance(e, dict) or not str(e.get("value", "")).strip():
                raise AmoError("An enum needs a value.")
            if "id" in e:
                if e["id"] not in old:
                    raise AmoError(f"No enum {e['id']} in this field.")
                result.append(
                    {
                        **old[e["id"]],
                        "value": e["value"],
                        "sort": e.get("sort", old[e["id"]]["sort"]),
                    }
                )
            else:
                result.append(
                    {"id": self._id(), "value": e["value"], "sort": e.get("sort", (i + 1) * 10)}
                )
        return result

    def post_custom_fields(self, body: Any) -> list[dict[str, Any]]:
        replies = []
        for item in self._batch(body):
            # §1.5: type and name required.
            if item.get("type") not in LEAD_FIELD_TYPES:
                raise AmoError(f"Type {item.get('type')!r} is not a lead field type.")
            if not isinstance(item.get("name"), str) or not item["name"].strip():
                raise AmoError("A field needs a name.")
            # §0: currency is required for a monetary field.
            if item["type"] == "monetary" and not item.get("currency"):
                raise AmoError("A monetary field needs a currency.")
            code = str(item.get("code") or "")
            # §0: creating a field with `code` has been reported to answer 400 (amocrm-api-php
            # issue #604); unconfirmed, so only with refuse_field_code.
            if code and self.refuse_field_code:
                raise AmoError("`code` cannot be set when a field is created.")
            # Conservative: a code used twice is refused (the docs are silent).
            if code and any(f.code == code for f in self.fields.values()):
                raise AmoError(f"Field code {code} exists already.")
            f = CustomField(self._id(), item["name"], item["type"], code, int(item.get("sort", 0)))
            f.currency = item.get("currency")
            if item["type"] in ENUM_TYPES:
                f.enum_items = self._enums(None, item.get("enums"))
            f.required_statuses = self._required(item.get("required_statuses"))
            self.fields[f.id] = f
            replies.append({**f.public(), "request_id": item.get("request_id", "0")})
        return replies

    def patch_custom_field(self, item: Any) -> dict[str, Any]:
        if not isinstance(item, dict) or not isinstance(item.get("id"), int):
            raise AmoError("A field edit needs the field's id.")
        f = self.fields.get(item["id"])
        if f is None:
            raise AmoError(f"No field {item['id']}.", 404)
        # §0: name is required in an edit, and enums for select fields.
        if not isinstance(item.get("name"), str) or not item["name"].strip():
            raise AmoError("A field edit needs `name`.")
        if f.type in ENUM_TYPES and "enums" not in item:
            raise AmoError("A select field edit needs `enums`.")
        enums = self._enums(f, item["enums"]) if f.type in ENUM_TYPES else f.enum_items
        required = (
            self._required(item["required_statuses"])
            if "required_statuses" in item
            else f.required_statuses
        )
        # An enum deleted by the edit is gone from the leads that held it (the value, not the
        # lead: custom-fields.md, "предыдущие ID будут удалены"); the API does not refuse.
        kept = {e["id"] for e in enums}
        for gone in [k for k in self.enum_leads if k[0] == f.id and k[1] not in kept]:
            del self.enum_leads[gone]
        f.name, f.enum_items, f.required_statuses = item["name"], enums, required
        if "sort" in item:
            f.sort = int(item["sort"])
        return f.public()

    def delete_custom_field(self, fid: int) -> None:
        if self.fields.pop(fid, None) is None:
            raise AmoError(f"No field {fid}.", 404)

    # loss reasons (§0, §1.4: GET documented; add / updateOne / deleteOne in the SDK)
    def post_loss_reasons(self, body: Any) -> list[dict[str, Any]]:
        replies = []
        for item in self._batch(body):
            name = item.get("name")
            if not isinstance(name, str) or not name.strip():
                raise AmoError("A loss reason needs a name.")
            # Conservative: the docs are silent about duplicates; the fake refuses them.
            if any(r.name == name for r in self.reasons.values()):
                raise AmoError(f"Loss reason {name!r} exists already.")
            r = LossReason(self._id(), name, int(item.get("sort", 0)))
            self.reasons[r.id] = r
            replies.append({**r.public(), "request_id": item.get("request_id", "0")})
        return replies

    # ---- transport ----------------------------------------------------------------------------
    def _rate(self) -> Reply | None:
        """§1.1 (kommo-lim, amo-err): over 7 requests per second → 429; repeated excess
        blocks the account → 403 on every call."""
        if self.blocked:
            return _problem(403, "Account is blocked for exceeding the request limit.")
        now = self.clock()
        while self._window and self._window[0] <= now - 1.0:
            self._window.popleft()
        if len(self._window) >= RATE:
            self._refused += 1
            if self._refused >= self.block_after:
                self.blocked = True
            return _problem(429, "Too Many Requests")
        self._window.append(now)
        return None

    def handle(self, request: Request) -> Reply:
        with self.lock:
            return self._handle(request)

    def _handle(self, request: Request) -> Reply:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _problem(401, "Unauthorized")
        fault = self.faults.next_fault()
        if fault == "timeout":
            return Reply(0, drop_after=self.faults.timeout_delay)
        if fault is not None:
            return _problem(int(fault), "Too Many Requests" if fault == "429" else "Unavailable")
        if self.limits:
            limited = self._rate()
            if limited is not None:
                return limited
        try:
            body = json.loads(request.body) if request.body else None
        except ValueError:
            return _problem(400, "The body is not JSON.")
        self.requests.append(f"{request.method} {request.path}")
        query = urllib.parse.parse_qs(request.query)
        try:
            return self._route(request.method, request.path, query, body)
        except AmoError as error:
            return _problem(error.status, error.detail, error.errors)
        except (KeyError, TypeError, ValueError) as error:
            return _problem(400, f"Bad request: {error}")

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> Reply:
        parts = path.rstrip("/").split("/")
        if parts[:3] != ["", "api", "v4"]:
            return _problem(404, "Not found")
        rest = parts[3:]
        with_descriptions = "descriptions" in ",".join(query.get("with", []))
        match method, rest:
            case "GET", ["account"]:
                return _hal(
                    200,
                    {
                        "id": self.account_id,
                        "name": "Fake account",
                        "subdomain": "fake",
                        # §0: read-only; no API switches it on.
                        "is_loss_reason_enabled": self.is_loss_reason_enabled,
                    },
                )
            case "GET", ["leads", "pipelines"]:
                items = [
                    self._pipeline_public(p)
                    for p in sorted(self.pipelines.values(), key=lambda p: (p.sort, p.id))
                ]
                return _list("pipelines", items)
            case "POST", ["leads", "pipelines"]:
                return _hal(200, {"_embedded": {"pipelines": self.post_pipelines(body)}})
            case "GET", ["leads", "pipelines", pid]:
                return _hal(200, self._pipeline_public(self._pipeline(int(pid))))
            case "PATCH", ["leads", "pipelines", pid]:
                return _hal(200, self.patch_pipeline(int(pid), body))
            case "DELETE", ["leads", "pipelines", pid]:
                self.delete_pipeline(int(pid))
                return Reply(204)
            case "GET", ["leads", "pipelines", pid, "statuses"]:
                p = self._pipeline(int(pid))
                items = [s.public(self.account_id, with_descriptions) for s in p.ordered()]
                return _list("statuses", items)
            case "POST", ["leads", "pipelines", pid, "statuses"]:
                return _hal(200, {"_embedded": {"statuses": self.post_statuses(int(pid), body)}})
            case "GET", ["leads", "pipelines", pid, "statuses", sid]:
                _, s = self._status(int(pid), int(sid))
                return _hal(200, s.public(self.account_id, with_descriptions))
            case "PATCH", ["leads", "pipelines", pid, "statuses", sid]:
                return _hal(200, self.patch_status(int(pid), int(sid), body))
            case "DELETE", ["leads", "pipelines", pid, "statuses", sid]:
                self.delete_status(int(pid), int(sid))
                return Reply(204)
            case "GET", ["leads", "custom_fields"]:
                return self._fields_page(query)
            case "POST", ["leads", "custom_fields"]:
                # §1.5: POST returns 201.
                return _hal(201, {"_embedded": {"custom_fields": self.post_custom_fields(body)}})
            case "PATCH", ["leads", "custom_fields"]:
                edited = [self.patch_custom_field(item) for item in self._batch(body)]
                return _hal(200, {"_embedded": {"custom_fields": edited}})
            case "GET", ["leads", "custom_fields", fid]:
                f = self.fields.get(int(fid))
                if f is None:
                    return _problem(404, f"No field {fid}.")
                return _hal(200, f.public())
            case "PATCH", ["leads", "custom_fields", fid]:
                return _hal(200, self.patch_custom_field({**(body or {}), "id": int(fid)}))
            case "DELETE", ["leads", "custom_fields", fid]:
                self.delete_custom_field(int(fid))
                return Reply(204)
            case "GET", ["leads", "loss_reasons"]:
                return _list("loss_reasons", [r.public() for r in self.reasons.values()])
            case "POST", ["leads", "loss_reasons"]:
                return _hal(200, {"_embedded": {"loss_reasons": self.post_loss_reasons(body)}})
            case "GET", ["leads", "loss_reasons", rid]:
                reason = self.reasons.get(int(rid))
                if reason is None:
                    return _problem(404, f"No loss reason {rid}.")
                return _hal(200, reason.public())
            case "PATCH", ["leads", "loss_reasons", rid]:
                reason = self.reasons.get(int(rid))
                if reason is None:
                    return _problem(404, f"No loss reason {rid}.")
                reason.name = str(body.get("name", reason.name))
                reason.sort = int(body.get("sort", reason.sort))
                return _hal(200, reason.public())
            case "DELETE", ["leads", "loss_reasons", rid]:
                if self.reasons.pop(int(rid), None) is None:
                    return _problem(404, f"No loss reason {rid}.")
                return Reply(204)
            case "PATCH" | "DELETE", ["leads", "loss_reasons"]:
                # §1.4: the SDK's batch update / delete throw "not available".
                return _problem(405, "Batch edits of loss reasons are not available.")
            case "GET", ["leads"]:
                return self._leads(query)
            case "GET", ["leads", "unsorted", "summary"]:
                wanted = int(query.get("filter[pipeline_id]", ["0"])[0])
                total = sum(
                    n
                    for (p, s), n in self.leads.items()
                    if wanted in (0, p) and self.pipelines[p].statuses[s].type == 1
                )
                return _hal(200, {"total": total, "accepted": 0, "declined": 0})
        return _problem(404, "Not found")

    def _fields_page(self, query: dict[str, list[str]]) -> Reply:
        """§0: custom fields are paged, 50 a page by default, ``limit`` up to 250; ``page``
        from 1; ``_links.next`` while more remain."""
        limit = int(query.get("limit", [str(FIELDS_PAGE)])[0])
        if not 1 <= limit <= FIELDS_PAGE_MAX:
            raise AmoError(f"limit must be 1 to {FIELDS_PAGE_MAX}.")
        page = int(query.get("page", ["1"])[0])
        rows = [f.public() for f in sorted(self.fields.values(), key=lambda f: f.id)]
        chunk = rows[(page - 1) * limit : page * limit]
        if not chunk:
            return Reply(204)  # §0: an empty list answers 204 with no body
        links: dict[str, Any] = {
            "self": {"href": f"/api/v4/leads/custom_fields?page={page}&limit={limit}"}
        }
        if page * limit < len(rows):
            links["next"] = {"href": f"/api/v4/leads/custom_fields?page={page + 1}&limit={limit}"}
        return _hal(200, {"_page": page, "_links": links, "_embedded": {"custom_fields": chunk}})

    def _leads(self, query: dict[str, list[str]]) -> Reply:
        """§0 "Is a stage empty?": ``GET /api/v4/leads?filter[statuses][0][pipeline_id]=P&
        filter[statuses][0][status_id]=S&limit=1`` — 204 when empty.  The fake's leads are
        only the counts set by :meth:`set_leads`.  ``filter[custom_fields_values][F][]=E``
        (``filters-api.md``: for select, multiselect and radiobutton fields the filter takes
        the enum id) lists the leads :meth:`set_field_leads` says hold enum E of field F."""
        pid = query.get("filter[statuses][0][pipeline_id]", [None])[0]
        sid = query.get("filter[statuses][0][status_id]", [None])[0]
        limit = min(int(query.get("limit", ["50"])[0]), LEADS_PAGE_MAX)
        page = int(query.get("page", ["1"])[0])
        by_field = [
            (int(k.split("[")[2].rstrip("]")), int(v))
            for k, values in sorted(query.items())
            if k.startswith("filter[custom_fields_values][")
            for v in values
        ]
        rows: list[dict[str, Any]] = []
        if by_field:
            for (f, e), n in sorted(self.enum_leads.items()):
                if (f, e) in by_field:
                    rows += [{"custom_field": f, "enum_id": e} for _ in range(n)]
        else:
            for (p, s), n in sorted(self.leads.items()):
                if (pid is None or int(pid) == p) and (sid is None or int(sid) == s):
                    rows += [{"pipeline_id": p, "status_id": s} for _ in range(n)]
        chunk = [
            {"id": (page - 1) * limit + i + 1, **r}
            for i, r in enumerate(rows[(page - 1) * limit : page * limit])
        ]
        if not chunk:
            return Reply(204)
        return _hal(200, {"_page": page, "_embedded": {"leads": chunk}})


def _hal(status: int, data: Any) -> Reply:
    return Reply.json(status, data, "application/hal+json")


def _list(name: str, items: list[dict[str, Any]]) -> Reply:
    # §0 (error-codes.md): an empty list answers 204 with no body.
    if not items:
        return Reply(204)
    return _hal(200, {"_total_items": len(items), "_embedded": {name: items}})


def _problem(status: int, detail: str, errors: list[dict[str, Any]] | None = None) -> Reply:
    # §1.1: errors are application/problem+json; validation errors are 400 with
    # validation-errors[{request_id, errors[{code, path, detail}]}].
    body: dict[str, Any] = {"title": detail, "type": "https://httpstatus.es/" + str(status)}
    body |= {"status": status, "detail": detail}
    if status == 400:
        body["validation-errors"] = errors or [
            {"request_id": "0", "errors": [{"code": "InvalidValue", "path": "", "detail": detail}]}
        ]
    return Reply.json(status, body, "application/problem+json")
