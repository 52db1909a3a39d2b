"""The state of a Bitrix24 portal, as far as funnelc manages it: typed and immutable.

The same types describe the *desired* state (``desired.py`` maps the whole project to it once
per build; every ``id`` is ``None``) and the *current* state (``funnelc plan`` reads the portal
— every page of ``crm.category.list``, ``crm.status.list``, ``crm.deal.userfield.list`` and
``crm.lead.userfield.list``, 50 rows a page — and fills in ``id`` and the ``key`` the lock
file knows for that id, or ``""`` for an object funnelc never made).  ``diff.py`` compares.

Facts the types encode (``../shared/crm-apis.md`` §0):

- a stage's ``STATUS_ID`` and ``SEMANTICS`` are immutable; ``status_id`` here is the code
  *without* the ``C{id}:`` prefix (:func:`full_status_id` adds it);
- the code part of a deal stage's STATUS_ID is at most ``22 − len("C{id}:")`` characters
  (:func:`status_id_limit`), a lead status's at most 21, characters ``[A-Z0-9_-]``;
- stage ``NAME`` ≤ 100 characters; ``FIELD_NAME`` ≤ 50 including ``UF_CRM_``;
- one success stage (``S``) per directory; order: in progress < success < failure;
- a new deal category is seeded with :data:`DEAL_PRESETS`; the portal's lead statuses start as
  :data:`LEAD_PRESETS` (no ``ASSIGNED``);
- ``sort`` is stored as sent (unlike amoCRM), but an update without ``SORT`` resets it to 10.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

STATUS_ID_TOTAL = 22
"""``validateStatusId``: the whole STATUS_ID of a deal stage, ``C{id}:`` included."""
LEAD_STATUS_ID_MAX = 21
STAGE_NAME_MAX = 100
FIELD_NAME_MAX = 50
FIELD_PREFIX = "UF_CRM_"
PAGE = 50
"""Rows per page of every list method (``start`` / ``next`` / ``total``)."""

LEAD = "lead"
"""The ``parent`` of lead statuses in a :class:`~funnelc.targets.crm_ops.Ref`."""


class Semantics(StrEnum):
    PROCESS = ""
    SUCCESS = "S"
    FAILURE = "F"


DEAL_PRESETS: tuple[tuple[str, int, Semantics], ...] = (
    ("NEW", 10, Semantics.PROCESS),
    ("PREPARATION", 20, Semantics.PROCESS),
    ("PREPAYMENT_INVOICE", 30, Semantics.PROCESS),
    ("EXECUTING", 40, Semantics.PROCESS),
    ("FINAL_INVOICE", 50, Semantics.PROCESS),
    ("WON", 60, Semantics.SUCCESS),
    ("LOSE", 70, Semantics.FAILURE),
    ("APOLOGY", 80, Semantics.FAILURE),
)
"""The stages a new deal category is seeded with (``createDefaultStages``), with their sorts."""
DEAL_SYSTEM = ("NEW", "WON", "LOSE")
"""Deal presets that are system stages: renamed, never deleted."""
LEAD_PRESETS: tuple[tuple[str, Semantics], ...] = (
    ("NEW", Semantics.PROCESS),
    ("IN_PROCESS", Semantics.PROCESS),
    ("PROCESSED", Semantics.PROCESS),
    ("CONVERTED", Semantics.SUCCESS),
    ("JUNK", Semantics.FAILURE),
)
"""The portal's default lead statuses (``GetDefaultLeadStatuses``)."""
LEAD_SYSTEM = ("NEW", "CONVERTED", "JUNK")


def status_id_limit(category_id: int | None) -> int:
    """The most characters the code part of a STATUS_ID may have: ``22 − len("C{id}:")`` for
    a stage of deal category ``category_id`` (0, the default category, has no prefix), 21 for
    a lead status (``category_id`` ``None``)."""
    if category_id is None:
        return LEAD_STATUS_ID_MAX
    if category_id == 0:
        return STATUS_ID_TOTAL
    return STATUS_ID_TOTAL - len(f"C{category_id}:")


def full_status_id(code: str, category_id: int | None) -> str:
    """The STATUS_ID the portal stores for ``code`` in a category (or the lead directory)."""
    if category_id is None or category_id == 0:
        return code
    return f"C{category_id}:{code}"


@dataclass(frozen=True, slots=True)
class Stage:
    """A deal stage or lead status.  ``system``: a preset that is renamed, never deleted."""

    key: str
    status_id: str
    name: str
    sort: int
    semantics: Semantics = Semantics.PROCESS
    color: str | None = None
    system: bool = False
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Category:
    """A deal category (``crm.category``, ``entityTypeId=2``) and its stages in order."""

    key: str
    name: str
    sort: int
    stages: tuple[Stage, ...] = ()
    id: int | None = None


@dataclass(frozen=True, slots=True)
class EnumValue:
    """An item of an ``enumeration`` user field's ``LIST``."""

    key: str
    value: str
    sort: int
    id: int | None = None


@dataclass(frozen=True, slots=True)
class UserField:
    """A deal or lead user field.  ``field_name`` is without ``UF_CRM_``; ``merge_list``: the
    list is shared (the loss-reason field) and only ever extended."""

    key: str
    entity: str  # "deal" or "lead"
    field_name: str
    label: str
    user_type: str
    multiple: bool = False
    mandatory: bool = False
    sort: int = 100
    values: tuple[EnumValue, ...] = ()
    settings: tuple[tuple[str, object], ...] = ()
    merge_list: bool = False
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Portal:
    """The deal categories, the lead statuses and the user fields of a portal.

    ``lead_statuses`` is ``None`` when funnelc does not manage the lead funnel (no pipeline
    maps its lead phase to lead statuses): then they are never touched."""

    categories: tuple[Category, ...] = ()
    lead_statuses: tuple[Stage, ...] | None = None
    fields: tuple[UserField, ...] = ()

    def category(self, key: str) -> Category | None:
        return next((c for c in self.categories if c.key == key), None)


EMPTY = Portal(
    lead_statuses=tuple(
        Stage("", code, code, 10 * (i + 1), semantics, system=code in LEAD_SYSTEM)
        for i, (code, semantics) in enumerate(LEAD_PRESETS)
    )
)
"""A new portal: no category funnelc made, the default lead statuses, no user fields.  The
import plan is the diff against it.  (A category created by a plan is seeded with
:data:`DEAL_PRESETS`, which ``requests.py`` renames or deletes.)"""


def seeded(key: str, name: str, sort: int, category_id: int | None = None) -> Category:
    """A category as the portal holds it right after ``crm.category.add``."""
    return Category(
        key,
        name,
        sort,
        tuple(
            Stage("", code, code, preset_sort, semantics, system=code in DEAL_SYSTEM)
            for code, preset_sort, semantics in DEAL_PRESETS
        ),
        category_id,
    )


Keys = Mapping[tuple[str, int], str]
"""The lock file's identities: (entity, CRM id) → key, entity one of ``category``, ``stage``
(a ``crm.status`` row id, lead statuses included), ``field:deal``, ``field:lead``."""


def _label(value: object) -> str:
    if isinstance(value, Mapping):  # some portals answer a label per language
        return str(next(iter(value.values()), ""))
    return str(value or "")


def _stage(row: Mapping[str, Any], category_id: int | None, keys: Keys) -> Stage:
    prefix = f"C{category_id}:" if category_id else ""
    return Stage(
        key=keys.get(("stage", int(row["ID"])), ""),
        status_id=str(row["STATUS_ID"]).removeprefix(prefix),
        name=str(row["NAME"]),
        sort=int(row["SORT"]),
        semantics=Semantics(row.get("SEMANTICS") or ""),
        color=row.get("COLOR"),
        system=row.get("SYSTEM") == "Y",
        id=int(row["ID"]),
    )


def _user_field(row: Mapping[str, Any], entity: str, keys: Keys) -> UserField:
    return UserField(
        key=keys.get((f"field:{entity}", int(row["ID"])), ""),
        entity=entity,
        field_name=str(row["FIELD_NAME"]).removeprefix(FIELD_PREFIX),
        label=_label(row.get("EDIT_FORM_LABEL") or row.get("LIST_COLUMN_LABEL")),
        user_type=str(row["USER_TYPE_ID"]),
        multiple=row.get("MULTIPLE") == "Y",
        mandatory=row.get("MANDATORY") == "Y",
        sort=int(row.get("SORT") or 100),
        values=tuple(
            EnumValue(str(item["VALUE"]), str(item["VALUE"]), int(item["SORT"]), int(item["ID"]))
            for item in row.get("LIST") or ()
        ),
        id=int(row["ID"]),
    )


def portal_from_api(
    categories: Sequence[Mapping[str, Any]],
    statuses: Sequence[Mapping[str, Any]],
    deal_fields: Sequence[Mapping[str, Any]] = (),
    lead_fields: Sequence[Mapping[str, Any]] = (),
    keys: Keys | None = None,
) -> Portal:
    """The current state from the API's replies, every page read (50 rows a page): the
    categories of ``crm.category.list`` (``entityTypeId=2``; the default category 0 is left
    out), the rows of ``crm.status.list`` (deal stages of those categories and the lead
    statuses, ``ENTITY_ID=STATUS``), and ``crm.deal.userfield.list`` / ``crm.lead.userfield.list``.
    ``keys`` names what funnelc made; anything else gets the key ``""``."""
    keys = keys or {}
    by_entity: dict[str, list[Mapping[str, Any]]] = {}
    for row in statuses:
        by_entity.setdefault(str(row["ENTITY_ID"]), []).append(row)

    def ordered(entity: str) -> list[Mapping[str, Any]]:
        return sorted(by_entity.get(entity, ()), key=lambda r: (int(r["SORT"]), int(r["ID"])))

    out = tuple(
        Category(
            key=keys.get(("category", int(c["id"])), ""),
            name=str(c["name"]),
            sort=int(c["sort"]),
            stages=tuple(_stage(r, int(c["id"]), keys) for r in ordered(f"DEAL_STAGE_{c['id']}")),
            id=int(c["id"]),
        )
        for c in categories
        if int(c["id"]) != 0
    )
    lead = tuple(_stage(r, None, keys) for r in ordered("STATUS"))
    fields = tuple(
        [_user_field(r, "deal", keys) for r in deal_fields]
        + [_user_field(r, "lead", keys) for r in lead_fields]
    )
    return Portal(out, lead, fields)
