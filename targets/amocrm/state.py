"""The state of an amoCRM account, as far as funnelc manages it: typed and immutable.

The same types describe the *desired* state (``desired.py`` maps the whole project to it once
per build; every ``id`` is ``None``) and the *current* state (``funnelc plan`` reads the account
and fills in ``id``, and the ``key`` the lock file knows for that id, or ``""`` for an object
funnelc never made).  ``diff.py`` compares the two.

Facts the types encode (``../shared/crm-apis.md`` §0 and §1):

- statuses 142 (won) and 143 (lost) exist in every pipeline with those ids and are renamed,
  never created or deleted; the inbox ("Неразобранное", ``type=1``) exists only when
  ``is_unsorted_on`` and is not in ``statuses`` here (it is not editable);
- the server renumbers ``sort``: compare the *order* of statuses, never their sort numbers,
  and never map a created status back by its sort;
- loss reasons and custom fields belong to the whole account;
- ``is_loss_reason_enabled`` is read-only (``GET /api/v4/account``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

WON_ID = 142
LOST_ID = 143


class StatusKind(StrEnum):
    OPEN = "open"
    """An editable status (``type=0``, not 142/143)."""
    WON = "won"
    """Status 142."""
    LOST = "lost"
    """Status 143."""


@dataclass(frozen=True, slots=True)
class Description:
    """One of a status's ``descriptions`` (at most one per level, ≤ 1000 characters)."""

    level: str  # "newbie", "candidate" or "master"
    text: str
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Status:
    """A status of a pipeline.  ``sort`` is the desired position (10, 20, …) in a desired
    state and the server's number in a current one."""

    key: str
    name: str
    sort: int
    color: str | None = None
    kind: StatusKind = StatusKind.OPEN
    descriptions: tuple[Description, ...] = ()
    id: int | None = None

    @property
    def system(self) -> bool:
        """142 or 143: renamed, never created or deleted."""
        return self.kind is not StatusKind.OPEN

    @property
    def system_id(self) -> int | None:
        return {StatusKind.WON: WON_ID, StatusKind.LOST: LOST_ID}.get(self.kind)


@dataclass(frozen=True, slots=True)
class Pipeline:
    """A pipeline; ``statuses`` are in order: the open ones (by sort), then 142, then 143."""

    key: str
    name: str
    sort: int
    is_main: bool = False
    is_unsorted_on: bool = False
    statuses: tuple[Status, ...] = ()
    id: int | None = None

    @property
    def open(self) -> tuple[Status, ...]:
        return tuple(s for s in self.statuses if s.kind is StatusKind.OPEN)


@dataclass(frozen=True, slots=True)
class Enum:
    """A value of a select / multiselect field."""

    key: str
    value: str
    sort: int
    id: int | None = None


@dataclass(frozen=True, slots=True)
class StatusRef:
    """A status by keys: ``required_statuses`` name statuses of any pipeline."""

    pipeline: str
    status: str


@dataclass(frozen=True, slots=True)
class Field:
    """A lead custom field.  ``type`` is amoCRM's (``text``, ``numeric``, ``select``,
    ``monetary``…); ``currency`` is set exactly for ``monetary``, which requires it;
    ``required`` lists the statuses that need the field filled on entry (in a current state
    read back by keys; a requirement on a status funnelc does not manage is not listed)."""

    key: str
    name: str
    type: str
    code: str | None = None
    sort: int = 0
    enums: tuple[Enum, ...] = ()
    required: tuple[StatusRef, ...] = ()
    currency: str | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class LossReason:
    key: str
    name: str
    sort: int = 0
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Account:
    """The pipelines, lead fields and loss reasons of an account.

    ``loss_reasons_enabled`` is the account's read-only ``is_loss_reason_enabled`` (``None``:
    not known, e.g. in a desired state or an import plan).  ``manage_loss_reasons`` says
    whether the desired state includes loss reasons at all (the ``loss-reasons = "manual"``
    option leaves them to people)."""

    pipelines: tuple[Pipeline, ...] = ()
    fields: tuple[Field, ...] = ()
    loss_reasons: tuple[LossReason, ...] = ()
    loss_reasons_enabled: bool | None = None
    manage_loss_reasons: bool = True

    def pipeline(self, key: str) -> Pipeline | None:
        return next((p for p in self.pipelines if p.key == key), None)


EMPTY = Account()
"""An account with nothing funnelc manages: the import plan is the diff against it."""


Keys = Mapping[tuple[str, int], str]
"""The lock file's identities: (entity, CRM id) → key, entity one of ``pipeline``,
``status:<pipeline id>``, ``field``, ``enum:<field id>``, ``loss_reason``."""


def account_from_api(
    pipelines: Sequence[Mapping[str, Any]],
    custom_fields: Sequence[Mapping[str, Any]] = (),
    loss_reasons: Sequence[Mapping[str, Any]] = (),
    account: Mapping[str, Any] | None = None,
    keys: Keys | None = None,
) -> Account:
    """The current state from the API's replies (every page already read): the items of
    ``GET /api/v4/leads/pipelines`` (statuses ``with=descriptions``), of
    ``GET /api/v4/leads/custom_fields`` and ``GET /api/v4/leads/loss_reasons`` (204 = ``[]``),
    and ``GET /api/v4/account``.  ``keys`` names what funnelc made; anything else gets the
    key ``""`` (diff adopts it by name, or leaves it alone).  The inbox (``type=1``) is left
    out; 142/143 become the won and lost statuses."""
    keys = keys or {}
    status_keys: dict[tuple[int, int], str] = {}
    out: list[Pipeline] = []
    for p in pipelines:
        statuses: list[Status] = []
        raw = p.get("_embedded", {}).get("statuses", p.get("statuses", []))
        for s in sorted(raw, key=lambda s: (s["sort"], s["id"])):
            if s.get("type") == 1:
                continue
            kind = {WON_ID: StatusKind.WON, LOST_ID: StatusKind.LOST}.get(s["id"], StatusKind.OPEN)
            key = {StatusKind.WON: "won", StatusKind.LOST: "lost"}.get(
                kind, keys.get((f"status:{p['id']}", s["id"]), "")
            )
            status_keys[(p["id"], s["id"])] = key
            statuses.append(
                Status(
                    key=key,
                    name=s["name"],
                    sort=s["sort"],
                    color=s.get("color") if kind is StatusKind.OPEN else None,
                    kind=kind,
                    descriptions=tuple(
                        Description(d["level"], d["description"], d.get("id"))
                        for d in s.get("descriptions") or ()
                    ),
                    id=s["id"],
                )
            )
        out.append(
            Pipeline(
                key=keys.get(("pipeline", p["id"]), ""),
                name=p["name"],
                sort=p["sort"],
                is_main=bool(p.get("is_main")),
                is_unsorted_on=bool(p.get("is_unsorted_on")),
                statuses=tuple(statuses),
                id=p["id"],
            )
        )
    pipeline_keys = {p.id: p.key for p in out}
    fields = tuple(
        Field(
            key=keys.get(("field", f["id"]), ""),
            name=f["name"],
            type=f["type"],
            code=f.get("code"),
            sort=f.get("sort", 0),
            enums=tuple(
                Enum(
                    keys.get((f"enum:{f['id']}", e["id"]), e["value"]),
                    e["value"],
                    e["sort"],
                    e["id"],
                )
                for e in f.get("enums") or ()
            ),
            required=tuple(
                StatusRef(
                    pipeline_keys.get(r["pipeline_id"], ""),
                    status_keys[(r["pipeline_id"], r["status_id"])],
                )
                for r in f.get("required_statuses") or ()
                if status_keys.get((r["pipeline_id"], r["status_id"]))
                and pipeline_keys.get(r["pipeline_id"])
            ),
            currency=f.get("currency"),
            id=f["id"],
        )
        for f in custom_fields
    )
    reasons = tuple(
        LossReason(keys.get(("loss_reason", r["id"]), ""), r["name"], r.get("sort", 0), r["id"])
        for r in loss_reasons
    )
    enabled = account.get("is_loss_reason_enabled") if account is not None else None
    return Account(tuple(out), fields, reasons, enabled if isinstance(enabled, bool) else None)
