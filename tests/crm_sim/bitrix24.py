r"""A Bitrix24 portal in memory, and a pusher that replays an import plan on it.

Modelled rules (crm-apis.md §2): ``batch`` takes at most 50 commands, substitutes
``$result[key][…]`` from earlier commands of the same batch and stops at the first error when
``halt`` is 1; ``crm.category.add`` creates a deal category whose preset stages are assumed to
be the default deal set (NEW, PREPARATION, PREPAYMENT_INVOICE, EXECUTING, FINAL_INVOICE, WON,
LOSE, APOLOGY — unconfirmed for new categories; NEW, WON and LOSE are system stages);
``STATUS_ID`` has only ``[A-Za-z0-9_-]``, at most 21 characters for leads and 22 for deal stages,
the ``C{id}:`` prefix that a category adds included; it is unique in its directory and immutable,
as is ``SEMANTICS``; ``crm.status.update`` accepts only NAME, SORT and COLOR; a directory has
exactly one success stage, and SORT puts every in-progress stage before it and every failure
stage after it; system stages need ``FORCED=Y`` to be deleted; a user field's ``FIELD_NAME``
is ``[A-Z0-9_]`` and at most 50 characters with ``UF_CRM_`` (crm-apis.md §0); a stage ``NAME``
is at most 100 characters (``statustable.php`` ``configureSize(100)``, §0); the portal's lead
statuses start as NEW, ASSIGNED, IN_PROCESS, PROCESSED, CONVERTED (S) and JUNK (F).

``batch`` follows ``CRestUtil::ParseBatchQuery`` (``modules/rest/classes/general/
rest_util.php``, §0): each command's query is decoded first (``parse_str``), and only then are
references looked for in the decoded values, by ``/\$(result|next|total|time|error)(\S*)/i``,
greedily; a reference that is the whole value gets the raw reply value (a list stays a list),
one inside a longer value is replaced only when it resolves to a string; a path that does not
resolve stops at the last value found.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

DEAL_PRESETS = (
    ("NEW", "", True),
    ("PREPARATION", "", False),
    ("PREPAYMENT_INVOICE", "", False),
    ("EXECUTING", "", False),
    ("FINAL_INVOICE", "", False),
    ("WON", "S", True),
    ("LOSE", "F", True),
    ("APOLOGY", "F", False),
)
LEAD_DEFAULTS = (
    ("NEW", "", True),
    ("ASSIGNED", "", False),
    ("IN_PROCESS", "", False),
    ("PROCESSED", "", False),
    ("CONVERTED", "S", True),
    ("JUNK", "F", True),
)
USER_TYPES = frozenset(
    (
        *("string", "integer", "double", "boolean", "datetime", "date", "money", "url"),
        *("address", "enumeration", "file", "employee", "crm_status", "iblock_section"),
        *("iblock_element", "crm"),
    )
)
_STATUS_ID = re.compile(r"[A-Za-z0-9_-]+")
_FIELD_NAME = re.compile(r"UF_CRM_[A-Z0-9_]+")
_REFERENCE = re.compile(r"\$(result|next|total|time|error)(\S*)", re.IGNORECASE)
_PATH = re.compile(r"\[([^\]]+)\]")
_PLACEHOLDER = re.compile(r"\{\{([a-z_.0-9]+):([A-Za-z0-9_.]+)\}\}")
NAME_MAX = 100
FIELD_NAME_MAX = 50


def process_batch_element(value: str, replies: dict[str, Any]) -> Any:
    """``CRestUtil::processBatchElement`` on one decoded value (see the module docstring)."""
    for match in list(_REFERENCE.finditer(value)):
        path = _PATH.findall(match.group(2))
        if not path:
            continue
        node: Any = replies[match.group(1).lower()]
        for part in path:
            if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            elif isinstance(node, dict) and part in node:
                node = node[part]
            else:
                break
        if match.group(0) == value:
            return node
        if isinstance(node, str):
            value = value.replace(match.group(0), node)
    return value


def _process_structure(node: Any, replies: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        return {k: _process_structure(v, replies) for k, v in node.items()}
    if isinstance(node, list):
        return [_process_structure(v, replies) for v in node]
    return process_batch_element(node, replies)


class B24Error(Exception):
    """A call the portal refuses (``{"error", "error_description"}`` in the real API)."""


@dataclass
class Row:
    """One status row (``crm.status.list`` gives them with upper-case keys)."""

    id: int
    entity_id: str
    status_id: str
    name: str
    sort: int
    semantics: str
    system: bool
    color: str | None = None

    def public(self) -> dict[str, Any]:
        return {
            "ID": str(self.id),
            "ENTITY_ID": self.entity_id,
            "STATUS_ID": self.status_id,
            "NAME": self.name,
            "SORT": str(self.sort),
            "SEMANTICS": self.semantics or None,
            "SYSTEM": "Y" if self.system else "N",
            "COLOR": self.color,
        }


@dataclass
class UserField:
    id: int
    field_name: str
    user_type_id: str
    label: str
    multiple: str
    values: list[str] = field(default_factory=list)
    xml_id: str = ""


def parse_query(query: str) -> dict[str, Any]:
    """PHP's ``parse_str``: ``fields[LIST][0][VALUE]=x`` → nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in urllib.parse.parse_qsl(query, keep_blank_values=True, strict_parsing=True):
        head = key.split("[", 1)[0]
        names = [head, *re.findall(r"\[([^\]]*)\]", key)]
        node = root
        for name in names[:-1]:
            node = node.setdefault(name, {})
        node[names[-1]] = value
    parsed: dict[str, Any] = _listify(root)
    return parsed


def _listify(node: Any) -> Any:
    if isinstance(node, dict):
        converted = {k: _listify(v) for k, v in node.items()}
        if converted and all(k.isdigit() for k in converted):
            return [converted[k] for k in sorted(converted, key=int)]
        return converted
    return node


class Portal:
    """The portal, and :meth:`run_plan` (the pusher)."""

    def __init__(self, first_category_id: int = 1) -> None:
        self._row = 0
        self._field = 0
        self.next_category = first_category_id
        self.categories: dict[int, dict[str, Any]] = {0: {"id": 0, "name": "Общая", "sort": 0}}
        self.rows: list[Row] = []
        self.fields: dict[str, dict[str, UserField]] = {"deal": {}, "lead": {}}
        for code, semantics, system in LEAD_DEFAULTS:
            self._insert("STATUS", code, code.title(), semantics, system)
        for code, semantics, system in DEAL_PRESETS:
            self._insert("DEAL_STAGE", code, code.title(), semantics, system)
        self.calls: list[str] = []

    def _insert(self, entity: str, code: str, name: str, semantics: str, system: bool) -> Row:
        self._row += 1
        sort = 10 * (len(self.directory(entity)) + 1)
        row = Row(self._row, entity, code, name, sort, semantics, system)
        self.rows.append(row)
        return row

    def directory(self, entity: str) -> list[Row]:
        return sorted((r for r in self.rows if r.entity_id == entity), key=lambda r: (r.sort, r.id))

    # ---- the API ------------------------------------------------------------------------
    def call(self, method: str, params: dict[str, Any]) -> Any:
        self.calls.append(method)
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            raise B24Error(f"method {method} not found")
        return handler(params)

    def _crm_category_list(self, params: dict[str, Any]) -> Any:
        if str(params.get("entityTypeId")) != "2":
            raise B24Error("only deal categories are modelled")
        return {"categories": list(self.categories.values())}

    def _crm_category_add(self, params: dict[str, Any]) -> Any:
        if str(params.get("entityTypeId")) != "2":
            raise B24Error("only deal categories are modelled")
        name = params.get("fields", {}).get("name", "")
        if not name or len(name) > 255:
            raise B24Error("category name: 1 to 255 characters")
        cid = self.next_category
        self.next_category += 1
        self.categories[cid] = {
            "id": cid,
            "name": name,
            "sort": int(params["fields"].get("sort", 500)),
        }
        for code, semantics, system in DEAL_PRESETS:
            self._insert(f"DEAL_STAGE_{cid}", f"C{cid}:{code}", code.title(), semantics, system)
        return {"category": {**self.categories[cid], "entityTypeId": 2, "isDefault": "N"}}

    def _crm_status_list(self, params: dict[str, Any]) -> Any:
        wanted = params.get("filter", {})
        return [
            r.public()
            for r in sorted(self.rows, key=lambda r: (r.sort, r.id))
            if all(str(r.public()[k]) == str(v) for k, v in wanted.items())
        ]

    def _entity(self, entity: str) -> tuple[str, int]:
        """The limit of STATUS_ID and the category of a directory (``-1`` for leads)."""
        if entity == "STATUS":
            return "", -1
        if entity == "DEAL_STAGE":
            return "", 0
        match = re.fullmatch(r"DEAL_STAGE_(\d+)", entity)
        if match is None or int(match.group(1)) not in self.categories:
            raise B24Error(f"unknown ENTITY_ID {entity}")
        return f"C{match.group(1)}:", int(match.group(1))

    def _crm_status_add(self, params: dict[str, Any]) -> Any:
        fields = params.get("fields", {})
        entity, code = fields.get("ENTITY_ID", ""), fields.get("STATUS_ID", "")
        prefix, _category = self._entity(entity)
        if not code or not _STATUS_ID.fullmatch(code.removeprefix(prefix)):
            raise B24Error(f"STATUS_ID {code!r} has characters Bitrix24 does not allow")
        full = code if code.startswith(prefix) else prefix + code
        limit = 21 if entity == "STATUS" else 22
        if len(full) > limit:
            raise B24Error(f"STATUS_ID {full} is longer than {limit}")
        if any(r.status_id == full for r in self.directory(entity)):
            raise B24Error(f"STATUS_ID {full} exists")
        if not fields.get("NAME"):
            raise B24Error("NAME is required")
        if not isinstance(fields["NAME"], str) or len(fields["NAME"]) > NAME_MAX:
            raise B24Error(f"NAME is longer than {NAME_MAX}")
        semantics = fields.get("SEMANTICS", "")
        if semantics not in ("", "S", "F"):
            raise B24Error(f"bad SEMANTICS {semantics!r}")
        if semantics == "S" and any(r.semantics == "S" for r in self.directory(entity)):
            raise B24Error("a funnel has only one success stage")
        self._row += 1
        row = Row(
            self._row,
            entity,
            full,
            fields["NAME"],
            int(fields.get("SORT", 10)),
            semantics,
            False,
            fields.get("COLOR"),
        )
        self.rows.append(row)
        try:
            self._check_order(entity)
        except B24Error:
            self.rows.remove(row)
            raise
        return row.id

    def _row_by_id(self, value: Any) -> Row:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise B24Error(f"bad id {value!r}") from None
        for r in self.rows:
            if r.id == number:
                return r
        raise B24Error(f"no status {number}")

    def _crm_status_update(self, params: dict[str, Any]) -> Any:
        row = self._row_by_id(params.get("id"))
        fields = params.get("fields", {})
        if set(fields) - {"NAME", "SORT", "COLOR"}:
            extra = sorted(set(fields) - {"NAME", "SORT", "COLOR"})
            raise B24Error(f"crm.status.update cannot change {extra}")
        if len(str(fields.get("NAME", ""))) > NAME_MAX:
            raise B24Error(f"NAME is longer than {NAME_MAX}")
        before = (row.name, row.sort, row.color)
        row.name = fields.get("NAME", row.name)
        row.sort = int(fields.get("SORT", row.sort))
        row.color = fields.get("COLOR", row.color)
        try:
            self._check_order(row.entity_id)
        except B24Error:
            row.name, row.sort, row.color = before
            raise
        return True

    def _crm_status_delete(self, params: dict[str, Any]) -> Any:
        row = self._row_by_id(params.get("id"))
        if row.system and params.get("params", {}).get("FORCED") != "Y":
            raise B24Error("a system stage needs FORCED=Y")
        self.rows.remove(row)
        return True

    def _check_order(self, entity: str) -> None:
        rows = self.directory(entity)
        success = [r for r in rows if r.semantics == "S"]
        if len(success) > 1:
            raise B24Error("a funnel has only one success stage")
        if not success:
            return
        s = success[0].sort
        if any(r.semantics == "" and r.sort >= s for r in rows):
            raise B24Error("Cannot create an intermediate stage after success")
        if any(r.semantics == "F" and r.sort <= s for r in rows):
            raise B24Error("failure stages must come after the success stage")

    def _userfield_add(self, entity: str, params: dict[str, Any]) -> Any:
        fields = params.get("fields", {})
        name = fields.get("FIELD_NAME", "")
        full = name if name.startswith("UF_CRM_") else "UF_CRM_" + name
        if not _FIELD_NAME.fullmatch(full):
            raise B24Error(f"FIELD_NAME {full} has characters Bitrix24 does not allow")
        if len(full) > FIELD_NAME_MAX:
            raise B24Error(f"FIELD_NAME {full} is longer than {FIELD_NAME_MAX}")
        if full in self.fields[entity]:
            raise B24Error(f"{full} exists")
        if fields.get("USER_TYPE_ID") not in USER_TYPES:
            raise B24Error(f"bad USER_TYPE_ID {fields.get('USER_TYPE_ID')!r}")
        values = [item["VALUE"] for item in fields.get("LIST", [])]
        if fields["USER_TYPE_ID"] == "enumeration" and not values:
            raise B24Error("an enumeration needs LIST")
        self._field += 1
        self.fields[entity][full] = UserField(
            self._field,
            full,
            fields["USER_TYPE_ID"],
            fields.get("LABEL", ""),
            fields.get("MULTIPLE", "N"),
            values,
            fields.get("XML_ID", ""),
        )
        return self._field

    def _crm_deal_userfield_add(self, params: dict[str, Any]) -> Any:
        return self._userfield_add("deal", params)

    def _crm_lead_userfield_add(self, params: dict[str, Any]) -> Any:
        return self._userfield_add("lead", params)

    def _userfield_list(self, entity: str) -> Any:
        return [
            {"ID": f.id, "FIELD_NAME": f.field_name, "LIST": list(f.values)}
            for f in self.fields[entity].values()
        ]

    def _crm_deal_userfield_list(self, params: dict[str, Any]) -> Any:
        return self._userfield_list("deal")

    def _crm_lead_userfield_list(self, params: dict[str, Any]) -> Any:
        return self._userfield_list("lead")

    def _userfield_update(self, entity: str, params: dict[str, Any]) -> Any:
        found = [f for f in self.fields[entity].values() if str(f.id) == str(params.get("id"))]
        if not found:
            raise B24Error("no such field")
        for item in params.get("fields", {}).get("LIST", []):
            found[0].values.append(item["VALUE"])
        return True

    def _crm_deal_userfield_update(self, params: dict[str, Any]) -> Any:
        return self._userfield_update("deal", params)

    def _crm_lead_userfield_update(self, params: dict[str, Any]) -> Any:
        return self._userfield_update("lead", params)

    def batch(self, halt: int, cmd: dict[str, str]) -> dict[str, Any]:
        """``batch``: run the commands in order, substituting ``$result[…]`` in their raw query
        strings, then parsing them as PHP would."""
        if len(cmd) > 50:
            raise B24Error("a batch takes at most 50 commands")
        results: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for key, text in cmd.items():
            method, _, query = text.partition("?")
            try:
                decoded = parse_query(query) if query else {}
                replies = {"result": results, "next": {}, "total": {}, "time": {}, "error": errors}
                params = _process_structure(decoded, replies)
                results[key] = self.call(method, params)
            except B24Error as error:
                errors[key] = str(error)
                if halt:
                    break
        return {"result": results, "result_error": errors}

    # ---- the pusher ---------------------------------------------------------------------
    def run_plan(self, plan: dict[str, Any]) -> list[dict[str, Any]]:
        """Send every request of ``plan`` in order; raises on the first error of a batch with
        ``halt`` 1, and returns the errors of batches with ``halt`` 0."""
        replies: dict[str, Any] = {}
        tolerated: list[dict[str, Any]] = []
        for request in plan["requests"]:
            if request["method"] != "batch":
                # A plain call: a JSON body, which Bitrix24 never scans for references.
                result = self.call(request["method"], request["params"])
                replies[request["id"]] = {"result": result}
                names = (
                    {c["name"] for c in result["categories"]}
                    if isinstance(result, dict) and "categories" in result
                    else set()
                )
                if set(request.get("expect", {}).get("names_absent", [])) & names:
                    raise B24Error("a category with this name exists")
                self._expect(request, result)
                continue
            cmd = dict(request["body"]["cmd"])
            for command in request["commands"]:
                rule = command.get("unless_exists")
                if rule is None:
                    continue
                existing = [
                    f
                    for f in replies[rule["from"]]["result"]
                    if f["FIELD_NAME"] == rule["match"]["FIELD_NAME"]
                ]
                if not existing:
                    continue
                del cmd[command["key"]]
                if command.get("merge") == "LIST":
                    have = set(existing[0]["LIST"])
                    missing = [
                        i for i in command["params"]["fields"]["LIST"] if i["VALUE"] not in have
                    ]
                    if missing:
                        entity = command["method"].split(".")[1]
                        self.call(
                            f"crm.{entity}.userfield.update",
                            {"id": existing[0]["ID"], "fields": {"LIST": missing}},
                        )
            if not cmd:
                continue

            def placeholder(match: re.Match[str]) -> str:
                node: Any = replies[match.group(1)]["result"]
                for part in match.group(2).split("."):
                    node = node[part]
                return urllib.parse.quote(str(node), safe="")

            cmd = {k: _PLACEHOLDER.sub(placeholder, v) for k, v in cmd.items()}
            reply = self.batch(request["body"]["halt"], cmd)
            replies[request["id"]] = reply
            if reply["result_error"]:
                if request["body"]["halt"]:
                    raise B24Error(f"{request['id']}: {reply['result_error']}")
                tolerated.append(reply["result_error"])
            self._expect(request, reply["result"])
        return tolerated

    @staticmethod
    def _expect(request: dict[str, Any], result: Any) -> None:
        for path, rule in request.get("expect", {}).items():
            if path == "names_absent":
                continue
            node = result
            for part in path.split("."):
                node = node[part]
            if node > rule["at_most"]:
                raise B24Error(f"{path} = {node} is above {rule['at_most']}")

    def category_named(self, name: str) -> int:
        (found,) = [cid for cid, c in self.categories.items() if c["name"] == name]
        return found
