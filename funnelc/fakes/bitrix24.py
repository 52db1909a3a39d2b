r"""A local Bitrix24 portal behind an inbound webhook, faithful to the vendor's server code.

Every rule cites its source: ``§0`` is section 0 of ``../shared/crm-apis.md`` (checked against
the Bitrix core PHP, ``avshatalov48/bitrix24-core-corp``), ``§2.x`` the other sections (REST
docs, ``bitrix24/b24restdocs``).  Where the sources are silent the fake is conservative and
says so.

The webhook URL is ``http://127.0.0.1:PORT/rest/1/SECRET/``; methods are paths under it
(``crm.status.add.json`` or ``crm.status.add``), with a JSON or form-encoded body (and/or a
query string).  Replies are ``{"result": …, "time": {…}}`` (lists add ``total`` and ``next``);
errors are ``{"error", "error_description"}`` (§2.1).

State is plain data: :meth:`Bitrix24.state`.  Tests set deal counts per stage
(:meth:`Bitrix24.set_items`), inject faults (:class:`~funnelc.fakes._server.Faults`) and turn the
rate limits on (``limits=True``, with an injectable clock).
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from funnelc.fakes._server import Clock, Faults, Reply, Request

# §0, modules/crm/lib/category/dealcategory.php createDefaultStages and crm_status.php
# GetDefaultDealStages: the stages a new deal category is seeded with, with their sorts.
DEAL_PRESETS: tuple[tuple[str, int, str], ...] = (
    ("NEW", 10, ""),
    ("PREPARATION", 20, ""),
    ("PREPAYMENT_INVOICE", 30, ""),
    ("EXECUTING", 40, ""),
    ("FINAL_INVOICE", 50, ""),
    ("WON", 60, "S"),
    ("LOSE", 70, "F"),
    ("APOLOGY", 80, "F"),
)
# §0, crm_status.php GetDefaultLeadStatuses (and crm-lead-add.md): no ASSIGNED.
LEAD_PRESETS: tuple[tuple[str, int, str], ...] = (
    ("NEW", 10, ""),
    ("IN_PROCESS", 20, ""),
    ("PROCESSED", 30, ""),
    ("CONVERTED", 40, "S"),
    ("JUNK", 50, "F"),
)
# §2.3: NEW, WON, LOSE (deals) and NEW, CONVERTED, JUNK (leads) are SYSTEM=Y.
SYSTEM_CODES = frozenset(("NEW", "WON", "LOSE", "CONVERTED", "JUNK"))
PAGE = 50  # §0: list methods return 50 rows a page (start / next / total)
BATCH_MAX = 50  # §2.1 batch.md: at most 50 commands
NAME_MAX = 100  # §0: statustable.php configureSize(100)
CATEGORY_NAME_MAX = 255  # §2.2 crm.category.fields
FIELD_NAME_MAX = 50  # §0: FIELD_NAME ≤ 50 including UF_CRM_ (crm-deal-userfield-add.md)
STATUS_ID_CHARS = re.compile(r"[A-Z0-9_-]+")  # §0 validateStatusId
FIELD_NAME_CHARS = re.compile(r"UF_CRM_[A-Z0-9_]+")  # §2.5
USER_TYPES = frozenset(
    (
        *("string", "integer", "double", "boolean", "datetime", "date", "money", "url"),
        *("address", "enumeration", "file", "employee", "crm_status", "iblock_section"),
        *("iblock_element", "crm"),
    )
)
# Leaky bucket, other-than-Enterprise plans (§0 / §2.1 limits.md): drains 2/s, holds 50.
BUCKET_RATE = 2.0
BUCKET_SIZE = 50
# Per-method time budget (§0 / §2.1 limits.md): 480 s of execution in 10 minutes.
METHOD_BUDGET = 480.0
METHOD_WINDOW = 600.0


class B24Error(Exception):
    """A refused call: ``{"error": code, "error_description": description}``, HTTP ``status``."""

    def __init__(self, description: str, code: str = "ERROR_CORE", status: int = 400) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.status = status


# ---- PHP's parse_str, and batch substitution ------------------------------------------------


def parse_query(query: str) -> dict[str, Any]:
    """PHP's ``parse_str``: ``fields[LIST][0][VALUE]=x`` → nested dicts; keys that are all
    digits become lists (in key order).  Values are decoded here, *before* any ``$result``
    reference is looked for (§0: ``CRestUtil::ParseBatchQuery`` decodes first)."""
    root: dict[str, Any] = {}
    for key, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        head = key.split("[", 1)[0]
        names = [head, *re.findall(r"\[([^\]]*)\]", key)]
        node = root
        for name in names[:-1]:
            child = node.get(name)
            if not isinstance(child, dict):
                child = node[name] = {}
            node = child
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


_PATH = re.compile(r"\[([^\]]+)\]")


def _php_isset(node: Any, key: str) -> tuple[bool, Any]:
    if isinstance(node, dict):
        return (key in node and node[key] is not None), node.get(key)
    if isinstance(node, list | str) and key.isdigit() and int(key) < len(node):
        value = node[int(key)]
        return value is not None, value
    return False, None


def process_batch_element(value: str, replies: dict[str, Any], old_core: bool = False) -> Any:
    r"""``CRestUtil::processBatchElement`` (§0; ``modules/rest/classes/general/rest_util.php``).

    The pattern is ``/\$(result|next|total|time|error)([^\s]*)/i`` and is **greedy**: the
    whole non-space tail is the match, so ``C$result[c][id]:NEW`` has the path ``[c][id]`` but
    replaces ``$result[c][id]:NEW`` as a whole (→ ``C7``).  The path is walked with ``isset``
    and stops at the last value found.  A match that is the whole value gets the raw value
    (an array stays an array).  Inside a longer value the current core casts a numeric result
    to a string and skips any other non-string; older cores (``old_core=True``, §0) skip every
    non-string result, integers included."""
    keys = "|".join(re.escape(k) for k in replies)
    # PCRE's \s is ASCII whitespace only (no U+00A0 and the like), unlike Python's.
    pattern = re.compile(rf"\$({keys})([^\t\n\v\f\r ]*)", re.IGNORECASE)
    query: Any = value
    for match in list(pattern.finditer(value)):
        path = _PATH.findall(match.group(2))
        if not path:
            continue
        node: Any = replies[match.group(1).lower()]
        for part in path:
            found, child = _php_isset(node, part)
            if not found:
                break
            node = child
        if match.group(0) == value:
            query = node
            continue
        if not isinstance(query, str):
            continue
        if not old_core and isinstance(node, int | float) and not isinstance(node, bool):
            node = str(node)
        if not isinstance(node, str):
            continue
        query = query.replace(match.group(0), node)
    return query


def _process_structure(node: Any, replies: dict[str, Any], old_core: bool) -> Any:
    if isinstance(node, dict):
        return {k: _process_structure(v, replies, old_core) for k, v in node.items()}
    if isinstance(node, list):
        return [_process_structure(v, replies, old_core) for v in node]
    if isinstance(node, str):
        return process_batch_element(node, replies, old_core)
    return node


# ---- the model ------------------------------------------------------------------------------


@dataclass
class Row:
    """A ``b_crm_status`` row (``crm.status.list`` shows it with upper-case keys)."""

    id: int
    entity_id: str
    status_id: str
    name: str
    sort: int
    semantics: str  # "", "S", "F"
    system: bool
    category_id: int | None
    color: str | None = None
    name_init: str = ""

    def public(self) -> dict[str, Any]:
        extra = {"process": "", "S": "success", "F": "failure"}
        semantic = "process" if not self.semantics else extra[self.semantics]
        return {
            "ID": str(self.id),
            "ENTITY_ID": self.entity_id,
            "STATUS_ID": self.status_id,
            "NAME": self.name,
            "NAME_INIT": self.name_init,
            "SORT": str(self.sort),
            "SYSTEM": "Y" if self.system else "N",
            "COLOR": self.color,
            # §2.3: SEMANTICS is null for in-progress stages in list replies.
            "SEMANTICS": self.semantics or None,
            "CATEGORY_ID": None if self.category_id is None else str(self.category_id),
            "EXTRA": {"SEMANTICS": semantic, "COLOR": self.color},
        }


def _item_order(item: dict[str, Any]) -> tuple[int, int]:
    return int(item["SORT"]), int(item["ID"])


@dataclass
class UserField:
    id: int
    entity: str  # "deal" / "lead"
    field_name: str
    user_type_id: str
    label: str
    multiple: str
    mandatory: str
    sort: int
    xml_id: str
    settings: dict[str, Any]
    items: list[dict[str, Any]] = field(default_factory=list)  # LIST: ID, VALUE, SORT, DEF, XML_ID

    @property
    def values(self) -> list[str]:
        return [
            str(i["VALUE"]) for i in sorted(self.items, key=lambda i: (int(i["SORT"]), i["ID"]))
        ]

    def public(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "ID": str(self.id),
            "ENTITY_ID": f"CRM_{self.entity.upper()}",
            "FIELD_NAME": self.field_name,
            "USER_TYPE_ID": self.user_type_id,
            "XML_ID": self.xml_id,
            "SORT": str(self.sort),
            "MULTIPLE": self.multiple,
            "MANDATORY": self.mandatory,
            "SETTINGS": self.settings,
            "EDIT_FORM_LABEL": self.label,
            "LIST_COLUMN_LABEL": self.label,
        }
        if self.user_type_id == "enumeration":
            row["LIST"] = [
                {k: str(v) for k, v in item.items()} for item in sorted(self.items, key=_item_order)
            ]
        return row


def _int(value: Any, what: str = "identifier") -> int:
    """An id as Bitrix24 reads it: ``id=[]`` (an unresolved batch reference, §0) or any
    non-number is "Invalid identifier."."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise B24Error(f"Invalid {what}.")
    try:
        return int(value)
    except ValueError:
        raise B24Error(f"Invalid {what}.") from None


def _y_n(value: Any, default: str = "N") -> str:
    if value is None:
        return default
    return "Y" if str(value).upper() in ("Y", "1", "TRUE") else "N"


class Bitrix24:
    """The portal.  ``secret`` and ``user_id`` make the webhook path; ``first_category_id`` is
    the id the next ``crm.category.add`` gets; ``deal_presets`` / ``lead_presets`` replace the
    seeded stages (to test a portal that differs); ``old_core`` switches batch substitution to
    the older cores' rule (§0); ``limits`` turns on the leaky bucket and the per-method time
    budget, measured on ``clock`` with ``method_cost(method)`` seconds of execution per call."""

    def __init__(
        self,
        secret: str = "fakesecret",
        user_id: int = 1,
        first_category_id: int = 1,
        *,
        deal_presets: tuple[tuple[str, int, str], ...] = DEAL_PRESETS,
        lead_presets: tuple[tuple[str, int, str], ...] = LEAD_PRESETS,
        old_core: bool = False,
        limits: bool = False,
        clock: Clock | None = None,
        method_cost: Callable[[str], float] = lambda method: 0.0,
        faults: Faults | None = None,
    ) -> None:
        self.secret = secret
        self.user_id = user_id
        self.next_category = first_category_id
        self.deal_presets = deal_presets
        self.old_core = old_core
        self.limits = limits
        self.clock = clock or Clock()
        self.method_cost = method_cost
        self.faults = faults or Faults()
        self.lock = threading.Lock()
        self.calls: list[str] = []  # every method called, batch commands included
        self.requests = 0  # HTTP requests that reached a method
        self._row = 0
        self._field = 0
        self._enum = 0
        # §2.2: the default deal category is id 0, isDefault Y.
        self.categories: dict[int, dict[str, Any]] = {
            0: {"id": 0, "name": "General", "sort": 0, "isDefault": "Y"}
        }
        self.rows: list[Row] = []
        self.fields: dict[str, dict[str, UserField]] = {"deal": {}, "lead": {}}
        self.items: defaultdict[tuple[str, str], int] = defaultdict(int)
        # Deals (leads) holding a LIST item of a user field: (entity, FIELD_NAME, item ID) →
        # count, apart from ``items`` (the fake keeps counts, not deal records).
        self.field_items: defaultdict[tuple[str, str, int], int] = defaultdict(int)
        self._bucket = 0.0
        self._bucket_at: float | None = None
        self._spent: defaultdict[str, list[tuple[float, float]]] = defaultdict(list)
        for code, sort, semantics in lead_presets:
            self._seed("STATUS", code, sort, semantics, None)
        for code, sort, semantics in deal_presets:
            self._seed("DEAL_STAGE", code, sort, semantics, 0)

    # ---- plain data for tests ---------------------------------------------------------------
    @property
    def webhook_path(self) -> str:
        return f"/rest/{self.user_id}/{self.secret}/"

    def set_items(self, entity_id: str, status_id: str, count: int) -> None:
        """Say that ``count`` deals (or leads) sit in a stage, e.g. ``("DEAL_STAGE_7", "C7:X")``."""
        with self.lock:
            self.items[(entity_id, status_id)] = count

    def set_field_items(self, entity: str, field_name: str, item_id: int, count: int) -> None:
        """Say that ``count`` deals (``entity`` ``"deal"``) or leads hold the LIST item
        ``item_id`` of the enumeration user field ``field_name`` (``UF_CRM_…``)."""
        with self.lock:
            self.field_items[(entity, field_name, item_id)] = count

    def directory(self, entity_id: str) -> list[Row]:
        return sorted(
            (r for r in self.rows if r.entity_id == entity_id), key=lambda r: (r.sort, r.id)
        )

    def category_named(self, name: str) -> int:
        (found,) = [cid for cid, c in self.categories.items() if c["name"] == name]
        return found

    def state(self) -> dict[str, Any]:
        """The whole portal as plain data: categories, each directory's stages in order, user
        fields, item counts."""
        with self.lock:
            entities = sorted({r.entity_id for r in self.rows})
            return {
                "categories": [dict(c) for _, c in sorted(self.categories.items())],
                "statuses": {e: [r.public() for r in self.directory(e)] for e in entities},
                "userfields": {
                    entity: [f.public() for f in fields.values()]
                    for entity, fields in self.fields.items()
                },
                "items": {f"{e} {s}": n for (e, s), n in sorted(self.items.items()) if n},
            }

    # ---- rows -------------------------------------------------------------------------------
    def _seed(
        self, entity: str, code: str, sort: int, semantics: str, category: int | None
    ) -> None:
        prefix = f"C{category}:" if category else ""
        self._row += 1
        name = code.replace("_", " ").title()
        self.rows.append(
            Row(
                self._row,
                entity,
                prefix + code,
                name,
                sort,
                semantics,
                code in SYSTEM_CODES,
                category,
                None,
                name,
            )
        )

    def _entity(self, entity: Any) -> tuple[str, int | None]:
        """The ``C{id}:`` prefix and category of a directory (§2.3 ENTITY_ID values)."""
        if entity == "STATUS":
            return "", None
        if entity == "DEAL_STAGE":
            return "", 0
        match = re.fullmatch(r"DEAL_STAGE_(\d+)", str(entity))
        if match is None or int(match.group(1)) not in self.categories:
            raise B24Error(f"Unknown ENTITY_ID {entity!r}.")
        return f"C{match.group(1)}:", int(match.group(1))

    def _row_by_id(self, value: Any) -> Row:
        number = _int(value)
        for r in self.rows:
            if r.id == number:
                return r
        raise B24Error("Not found.", "ERROR_NOT_FOUND")

    def _check_order(self, entity: str) -> None:
        """§2.3: "Cannot create an intermediate stage after success" (an in-progress stage
        whose SORT is above the success stage's is refused)."""
        rows = self.directory(entity)
        success = [r for r in rows if r.semantics == "S"]
        if success and any(r.semantics == "" and r.sort > success[0].sort for r in rows):
            raise B24Error("Cannot create an intermediate stage after success.")

    # ---- methods ----------------------------------------------------------------------------
    def call(self, method: str, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """Run one method; the result and the extra top-level keys (``total``, ``next``)."""
        self.calls.append(method)
        if method == "batch":
            raise B24Error("Nested batch is not allowed.", "ERROR_BATCH_METHOD_NOT_ALLOWED")
        handler = _METHODS.get(method.lower())
        if handler is None:
            raise B24Error(f"Method '{method}' not found", "ERROR_METHOD_NOT_FOUND", 404)
        return handler(self, params)

    @staticmethod
    def _page(rows: list[Any], params: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        """§0: 50 rows a page; ``start`` picks the page, ``next`` is the start of the next one
        (absent on the last page), ``total`` the count."""
        start = _int(params.get("start", 0) or 0, "start")
        page = rows[start : start + PAGE]
        extra: dict[str, Any] = {"total": len(rows)}
        if start + PAGE < len(rows):
            extra["next"] = start + PAGE
        return page, extra

    @staticmethod
    def _filtered(rows: list[dict[str, Any]], params: dict[str, Any]) -> list[dict[str, Any]]:
        wanted = params.get("filter") or {}
        if not isinstance(wanted, dict):
            raise B24Error("Parameter 'filter' must be an object.")

        def keep(row: dict[str, Any]) -> bool:
            return all(str(row.get(k)) == str(v) for k, v in wanted.items() if k in row)

        return [r for r in rows if keep(r)]

    def _entity_type(self, params: dict[str, Any]) -> None:
        if str(params.get("entityTypeId", "")) != "2":
            raise B24Error("Only deal categories (entityTypeId=2) are implemented by the fake.")

    def _category_public(self, cid: int) -> dict[str, Any]:
        c = self.categories[cid]
        return {
            "id": cid,
            "name": c["name"],
            "sort": c["sort"],
            "entityTypeId": 2,
            "isDefault": c.get("isDefault", "N"),
            "originId": "",
            "originatorId": "",
        }

    def category_list(self, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        self._entity_type(params)
        rows = [self._category_public(cid) for cid in sorted(self.categories)]
        page, extra = self._page(rows, params)
        return {"categories": page}, extra

    def category_get(self, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        self._entity_type(params)
        cid = _int(params.get("id"))
        if cid not in self.categories:
            raise B24Error("Category not found.", "NOT_FOUND")
        return {"category": self._category_public(cid)}, {}

    def _category_name(self, name: Any) -> str:
        # §2.2 crm.category.fields: name required, ≤ 255, not blank.
        if not isinstance(name, str) or not name.strip() or len(name) > CATEGORY_NAME_MAX:
            raise B24Error(f"Category name must be 1 to {CATEGORY_NAME_MAX} characters.")
        return name

    def category_add(self, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        self._entity_type(params)
        fields = params.get("fields") or {}
        name = self._category_name(fields.get("name"))
        sort = _int(fields.get("sort", 500), "sort")
        cid = self.next_category
        self.next_category += 1
        self.categories[cid] = {"id": cid, "name": name, "sort": sort, "isDefault": "N"}
        # §0: a new category is seeded with the default deal stages, C{id}:CODE.
        for code, preset_sort, semantics in self.deal_presets:
            self._seed(f"DEAL_STAGE_{cid}", code, preset_sort, semantics, cid)
        return {"category": self._category_public(cid)}, {}

    def category_update(self, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        self._entity_type(params)
        cid = _int(params.get("id"))
        if cid not in self.categories:
            raise B24Error("Category not found.", "NOT_FOUND")
        fields = params.get("fields") or {}
        if "isDefault" in fields:
            raise B24Error("isDefault cannot be changed for deals.")  # §2.2
        if "name" in fields:
            self.categories[cid]["name"] = self._category_name(fields["name"])
        if "sort" in fields:
            self.categories[cid]["sort"] = _int(fields["sort"], "sort")
        return {"category": self._category_public(cid)}, {}

    def category_delete(self, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        self._entity_type(params)
        cid = _int(params.get("id"))
        if cid not in self.categories:
            raise B24Error("Category not found.", "NOT_FOUND")
        # §0: crm.category.delete refuses the default category and any category with deals.
        if cid == 0:
            raise B24Error("The default category cannot be deleted.")
        entity = f"DEAL_STAGE_{cid}"
        if any(n for (e, _), n in self.items.items() if e == entity):
            raise B24Error("The category has deals and cannot be deleted.")
        del self.categories[cid]
        self.rows = [r for r in self.rows if r.entity_id != entity]
        return None, {}

    def status_list(self, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        rows = [r.public() for r in sorted(self.rows, key=lambda r: (r.entity_id, r.sort, r.id))]
        return self._page(self._filtered(rows, params), params)

    def status_get(self, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        return self._row_by_id(params.get("id")).public(), {}

    def status_fields(self, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        immutable = {"ENTITY_ID", "STATUS_ID", "SEMANTICS", "CATEGORY_ID"}
        names = ["ID", "ENTITY_ID", "STATUS_ID", "NAME", "NAME_INIT", "SORT", "SYSTEM"]
        names += ["COLOR", "SEMANTICS", "CATEGORY_ID", "EXTRA"]
        return {
            n: {
                "type": "integer" if n in ("ID", "SORT") else "string",
                "isRequired": n in ("ENTITY_ID", "STATUS_ID", "NAME"),
                "isReadOnly": n in ("ID", "SYSTEM", "NAME_INIT"),
                "isImmutable": n in immutable,
            }
            for n in names
        }, {}

    def _name(self, name: Any) -> str:
        # §0: stage NAME at most 100 characters (statustable.php configureSize(100)).
        if not isinstance(name, str) or not name:
            raise B24Error("The field NAME is required.")
        if len(name) > NAME_MAX:
            raise B24Error(f"NAME is longer than {NAME_MAX} characters.")
        return name

    def status_add(self, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        fields = params.get("fields") or {}
        entity = str(fields.get("ENTITY_ID") or "")
        prefix, category = self._entity(entity)
        code = fields.get("STATUS_ID")
        if not isinstance(code, str) or not code:
            raise B24Error("The field STATUS_ID is required.")
        # §2.3: the C{id}: prefix is added unless the value already starts with it.
        bare = code.removeprefix(prefix) if prefix else code
        # §0 validateStatusId: characters [A-Z0-9_-].
        if not STATUS_ID_CHARS.fullmatch(bare):
            raise B24Error(f"STATUS_ID {code!r} has characters other than A-Z 0-9 _ -.")
        # §0 validateStatusId: 22 − len("C{id}:") for a deal stage, 21 for a lead status.
        limit = 21 if entity == "STATUS" else 22 - len(prefix)
        if len(bare) > limit:
            raise B24Error(
                f"STATUS_ID {prefix + bare} is longer than {limit + len(prefix)} characters."
            )
        full = prefix + bare
        if any(r.status_id == full for r in self.rows if r.entity_id == entity):
            raise B24Error(f"STATUS_ID {full} exists already.")
        name = self._name(fields.get("NAME"))
        semantics = str(fields.get("SEMANTICS") or "")
        if semantics not in ("", "S", "F"):
            raise B24Error(f"Invalid SEMANTICS {semantics!r}.")
        # §0 statustable.php onBeforeAdd: one success stage per ENTITY_ID.
        if semantics == "S" and any(r.semantics == "S" for r in self.directory(entity)):
            raise B24Error("There can be only one success stage (one success stage per funnel).")
        self._row += 1
        row = Row(
            self._row,
            entity,
            full,
            name,
            _int(fields.get("SORT", 10), "SORT"),  # §2.3: SORT defaults to 10
            semantics,
            False,
            category,
            fields.get("COLOR"),
            name,
        )
        self.rows.append(row)
        try:
            self._check_order(entity)
        except B24Error:
            self.rows.remove(row)
            raise
        return row.id, {}

    def status_update(self, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        row = self._row_by_id(params.get("id"))
        fields = params.get("fields") or {}
        # §2.3: update accepts only NAME, SORT, COLOR; ENTITY_ID, STATUS_ID, SEMANTICS are
        # immutable, and §0 (statustable.php onBeforeUpdate) refuses turning a stage into S.
        # The fake refuses any other field rather than ignore it.
        extra = sorted(set(fields) - {"NAME", "SORT", "COLOR"})
        if extra:
            raise B24Error(f"crm.status.update cannot change {extra}.")
        before = (row.name, row.sort, row.color)
        if "NAME" in fields:
            row.name = self._name(fields["NAME"])
        # §0 CCrmStatus::Update: an update without SORT resets the sort to 10.
        row.sort = _int(fields["SORT"], "SORT") if "SORT" in fields else 10
        if "COLOR" in fields:
            row.color = fields["COLOR"]
        try:
            self._check_order(row.entity_id)
        except B24Error:
            row.name, row.sort, row.color = before
            raise
        return True, {}

    def status_delete(self, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        row = self._row_by_id(params.get("id"))
        forced = str((params.get("params") or {}).get("FORCED", "")).upper() == "Y"
        # §0 / §2.3: system stages need params[FORCED]=Y.
        if row.system and not forced:
            raise B24Error("A system status can be deleted only with params[FORCED]=Y.")
        # §0 statustable.php: "There are active items in this status".
        if self.items[(row.entity_id, row.status_id)]:
            raise B24Error("There are active items in this status.")
        self.rows.remove(row)
        return True, {}

    def items_list(self, entity: str, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """§0 "Counting deals in a stage": ``crm.deal.list`` with ``filter[STAGE_ID]`` (leads:
        ``crm.lead.list`` with ``filter[STATUS_ID]``), read ``total``.  The fake's items are
        only the counts set by :meth:`set_items`; each is listed as ``{"ID": …}``."""
        key = "STAGE_ID" if entity == "deal" else "STATUS_ID"
        filt = params.get("filter") or {}
        wanted = filt.get(key)
        rows: list[dict[str, Any]] = []
        by_field = {k: v for k, v in filt.items() if str(k).startswith("UF_CRM_")}
        if by_field:
            # A filter on an enumeration user field takes the LIST item's ID
            # (crm-deal-list.md: user fields can be filtered on).
            for (e, name, item), count in sorted(self.field_items.items()):
                if e == entity and name in by_field and str(by_field[name]) == str(item):
                    rows += [{"ID": str(len(rows) + i + 1), name: str(item)} for i in range(count)]
            return self._page(rows, params)
        for (entity_id, status_id), count in sorted(self.items.items()):
            if (entity_id == "STATUS") != (entity == "lead"):
                continue
            if wanted is not None and str(wanted) != status_id:
                continue
            rows += [{"ID": str(len(rows) + i + 1), key: status_id} for i in range(count)]
        return self._page(rows, params)

    # user fields (§2.5; §0 for FIELD_NAME and paging)
    def _uf_name(self, value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise B24Error("The field FIELD_NAME is required.")
        full = value if value.startswith("UF_CRM_") else "UF_CRM_" + value
        if not FIELD_NAME_CHARS.fullmatch(full):
            raise B24Error(f"FIELD_NAME {full} has characters other than A-Z 0-9 _.")
        if len(full) > FIELD_NAME_MAX:
            raise B24Error(f"FIELD_NAME {full} is longer than {FIELD_NAME_MAX} characters.")
        return full

    def _uf(self, entity: str, params: dict[str, Any]) -> UserField:
        number = _int(params.get("id"))
        for f in self.fields[entity].values():
            if f.id == number:
                return f
        raise B24Error("The user field is not found.", "ERROR_NOT_FOUND")

    def _list_items(self, uf: UserField, items: Any) -> None:
        """``LIST`` of an enumeration (``crm-deal-userfield-update.md``): an item with ``ID``
        updates that value (``DEL=Y`` deletes it), one without ``ID`` is added; values not
        named are kept.  [UNCONFIRMED] for ``ID`` / ``DEL``: the EN page (b24restdocs, 2025)
        documents a LIST item as VALUE, SORT, DEF, XML_ID only; ``ID`` + ``DEL=Y`` is the
        core's ``CUserFieldEnum::SetEnumValues`` convention, not re-read from its source."""
        if isinstance(items, dict):
            items = list(items.values())
        for item in items or []:
            if not isinstance(item, dict):
                raise B24Error("LIST items must be objects.")
            if item.get("ID"):
                number = _int(item["ID"])
                found = next((i for i in uf.items if i["ID"] == number), None)
                if found is None:
                    raise B24Error(f"No LIST item {number}.")
                if _y_n(item.get("DEL")) == "Y":
                    # The portal does not refuse: the value is gone from the deals that held it.
                    uf.items.remove(found)
                    self.field_items.pop((uf.entity, uf.field_name, number), None)
                    continue
                for key in ("VALUE", "SORT", "DEF", "XML_ID"):
                    if key in item:
                        found[key] = item[key]
                continue
            if not str(item.get("VALUE", "")).strip():
                raise B24Error("A LIST value is empty.")
            self._enum += 1
            uf.items.append(
                {
                    "ID": self._enum,
                    "VALUE": item["VALUE"],
                    "SORT": _int(item.get("SORT", 500), "SORT"),
                    "DEF": _y_n(item.get("DEF")),
                    "XML_ID": item.get("XML_ID") or f"{self._enum:x}",
                }
            )

    def uf_add(self, entity: str, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        fields = params.get("fields") or {}
        full = self._uf_name(fields.get("FIELD_NAME"))
        if full in self.fields[entity]:
            raise B24Error(f"A user field {full} exists already.")
        kind = fields.get("USER_TYPE_ID")
        if kind not in USER_TYPES:
            raise B24Error(f"Invalid USER_TYPE_ID {kind!r}.")
        label = fields.get("LABEL") or fields.get("EDIT_FORM_LABEL") or ""
        if isinstance(label, dict):
            label = next(iter(label.values()), "")
        sort = _int(fields.get("SORT", 100), "SORT")
        if sort <= 0:
            raise B24Error("SORT must be above 0.")  # §2.5: SORT > 0, default 100
        self._field += 1
        uf = UserField(
            self._field,
            entity,
            full,
            str(kind),
            str(label),
            _y_n(fields.get("MULTIPLE")),
            _y_n(fields.get("MANDATORY")),
            sort,
            str(fields.get("XML_ID") or ""),
            dict(fields.get("SETTINGS") or {}),
        )
        if kind == "enumeration":
            self._list_items(uf, fields.get("LIST"))
            if not uf.items:
                raise B24Error("An enumeration needs LIST values.")
        self.fields[entity][full] = uf
        return uf.id, {}

    def uf_list(self, entity: str, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        rows = [f.public() for f in sorted(self.fields[entity].values(), key=lambda f: f.id)]
        return self._page(self._filtered(rows, params), params)

    def uf_get(self, entity: str, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        return self._uf(entity, params).public(), {}

    def uf_update(self, entity: str, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        uf = self._uf(entity, params)
        fields = params.get("fields") or {}
        if "FIELD_NAME" in fields or "USER_TYPE_ID" in fields or "MULTIPLE" in fields:
            raise B24Error("FIELD_NAME, USER_TYPE_ID and MULTIPLE cannot be changed.")
        if "LABEL" in fields:
            uf.label = str(fields["LABEL"])
        if "SORT" in fields:
            uf.sort = _int(fields["SORT"], "SORT")
        if "MANDATORY" in fields:
            uf.mandatory = _y_n(fields["MANDATORY"])
        if "XML_ID" in fields:
            uf.xml_id = str(fields["XML_ID"])
        if "LIST" in fields:
            self._list_items(uf, fields["LIST"])
        return True, {}

    def uf_delete(self, entity: str, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        uf = self._uf(entity, params)
        del self.fields[entity][uf.field_name]
        return True, {}

    def batch(self, params: dict[str, Any]) -> dict[str, Any]:
        """§2.1 batch.md and §0 ``CRestUtil::ParseBatchQuery``: at most 50 commands, run in
        order; each command's query is decoded first, then references to earlier replies are
        substituted (:func:`process_batch_element`); ``halt`` stops at the first error."""
        cmd = params.get("cmd")
        if isinstance(cmd, list):
            cmd = {str(i): c for i, c in enumerate(cmd)}
        if not isinstance(cmd, dict) or not cmd:
            raise B24Error("Parameter 'cmd' is required.", "ERROR_BATCH_EMPTY")
        if len(cmd) > BATCH_MAX:
            raise B24Error(
                f"A batch takes at most {BATCH_MAX} commands.", "ERROR_BATCH_LENGTH_EXCEEDED"
            )
        halt = str(params.get("halt", 0)) not in ("0", "", "false", "N")
        results: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        totals: dict[str, Any] = {}
        nexts: dict[str, Any] = {}
        times: dict[str, Any] = {}
        for key, text in cmd.items():
            if not isinstance(text, str):
                raise B24Error("Batch commands are strings.")
            method, _, query = text.partition("?")
            replies = {"result": results, "next": nexts, "total": totals}
            replies |= {"time": times, "error": errors}
            try:
                decoded = parse_query(query) if query else {}
                resolved = _process_structure(decoded, replies, self.old_core)
                result, extra = self.call(method.removesuffix(".json"), resolved)
            except B24Error as error:
                errors[key] = {"error": error.code, "error_description": error.description}
                if halt:
                    break
                continue
            results[key] = result
            times[key] = self._time()
            if "total" in extra:
                totals[key] = extra["total"]
            if "next" in extra:
                nexts[key] = extra["next"]
        return {
            "result": results,
            "result_error": errors,
            "result_total": totals,
            "result_next": nexts,
            "result_time": times,
        }

    # ---- transport ----------------------------------------------------------------------------
    def _time(self) -> dict[str, Any]:
        now = self.clock()
        return {"start": now, "finish": now, "duration": 0.0, "processing": 0.0}

    def _limit(self, method: str) -> Reply | None:
        """§0 / §2.1 limits.md: the leaky bucket (2/s drained, 50 held → 503
        QUERY_LIMIT_EXCEEDED; a batch is one request) and the per-method time budget (480 s of
        execution per method in 10 minutes → 429 OPERATION_TIME_LIMIT)."""
        now = self.clock()
        if self._bucket_at is not None:
            self._bucket = max(0.0, self._bucket - (now - self._bucket_at) * BUCKET_RATE)
        self._bucket_at = now
        if self._bucket + 1 > BUCKET_SIZE:
            return _error(503, "QUERY_LIMIT_EXCEEDED", "Too many requests")
        spent = [(t, c) for t, c in self._spent[method] if t > now - METHOD_WINDOW]
        self._spent[method] = spent
        if sum(c for _, c in spent) >= METHOD_BUDGET:
            return _error(429, "OPERATION_TIME_LIMIT", _BLOCKED)
        self._bucket += 1
        self._spent[method].append((now, self.method_cost(method)))
        return None

    def handle(self, request: Request) -> Reply:
        with self.lock:
            return self._handle(request)

    def _handle(self, request: Request) -> Reply:
        match = re.fullmatch(r"/rest/(\d+)/([^/]+)/([A-Za-z0-9_.]+)", request.path)
        if match is None:
            return _error(404, "ERROR_METHOD_NOT_FOUND", "Not a webhook URL.")
        if (int(match.group(1)), match.group(2)) != (self.user_id, self.secret):
            return _error(401, "INVALID_CREDENTIALS", "Invalid request credentials")
        method = match.group(3).removesuffix(".json")
        fault = self.faults.next_fault()
        if fault == "timeout":
            return Reply(0, drop_after=self.faults.timeout_delay)
        if fault == "503":
            return _error(503, "QUERY_LIMIT_EXCEEDED", "Too many requests")
        if fault == "429":
            return _error(429, "OPERATION_TIME_LIMIT", _BLOCKED)
        if self.limits:
            limited = self._limit(method)
            if limited is not None:
                return limited
        try:
            params = self._params(request)
        except ValueError:
            return _error(400, "INVALID_REQUEST", "The request body is not JSON.")
        self.requests += 1
        try:
            if method.lower() == "batch":
                self.calls.append("batch")
                # The batch's own reply sits under "result", like any method's.
                reply = {"result": self.batch(params), "time": self._operating(method)}
                return Reply.json(200, reply)
            result, extra = self.call(method, params)
        except B24Error as error:
            return _error(error.status, error.code, error.description)
        return Reply.json(200, {"result": result, **extra, "time": self._operating(method)})

    def _operating(self, method: str) -> dict[str, Any]:
        now = self.clock()
        spent = sum(c for t, c in self._spent.get(method, []) if t > now - METHOD_WINDOW)
        return {**self._time(), "operating": spent, "operating_reset_at": now + METHOD_WINDOW}

    @staticmethod
    def _params(request: Request) -> dict[str, Any]:
        params: dict[str, Any] = parse_query(request.query) if request.query else {}
        if request.body:
            kind = request.headers.get("content-type", "")
            if "json" in kind:
                body = json.loads(request.body)
                if not isinstance(body, dict):
                    raise ValueError("not an object")
                params |= body
            else:
                params |= parse_query(request.body.decode("utf-8"))
        return params


_BLOCKED = "Method is blocked due to operation time limit."


def _error(status: int, code: str, description: str) -> Reply:
    return Reply.json(status, {"error": code, "error_description": description})


_Method = Callable[["Bitrix24", dict[str, Any]], tuple[Any, dict[str, Any]]]


def _uf_methods(entity: str) -> dict[str, _Method]:
    return {
        f"crm.{entity}.userfield.add": lambda b, p: b.uf_add(entity, p),
        f"crm.{entity}.userfield.list": lambda b, p: b.uf_list(entity, p),
        f"crm.{entity}.userfield.get": lambda b, p: b.uf_get(entity, p),
        f"crm.{entity}.userfield.update": lambda b, p: b.uf_update(entity, p),
        f"crm.{entity}.userfield.delete": lambda b, p: b.uf_delete(entity, p),
    }


_METHODS: dict[str, _Method] = {
    "crm.category.add": Bitrix24.category_add,
    "crm.category.list": Bitrix24.category_list,
    "crm.category.get": Bitrix24.category_get,
    "crm.category.update": Bitrix24.category_update,
    "crm.category.delete": Bitrix24.category_delete,
    "crm.status.add": Bitrix24.status_add,
    "crm.status.list": Bitrix24.status_list,
    "crm.status.get": Bitrix24.status_get,
    "crm.status.update": Bitrix24.status_update,
    "crm.status.delete": Bitrix24.status_delete,
    "crm.status.fields": Bitrix24.status_fields,
    "crm.deal.list": lambda b, p: b.items_list("deal", p),
    "crm.lead.list": lambda b, p: b.items_list("lead", p),
    **_uf_methods("deal"),
    **_uf_methods("lead"),
}
