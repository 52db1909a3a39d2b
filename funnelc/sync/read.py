"""The account's current state, read over HTTP, as the targets' typed states.

Keys come from the lock file (:mod:`funnelc.sync.lock`): a CRM object the lock names gets its
funnel key, any other gets ``""`` (funnelc never made it).  Two more rules give an object its
key before ``diff`` runs:

- ``was``: the lock's entry for ``old`` is taken over by the stage (or pipeline) that says
  ``was old`` (:func:`funnelc.sync.lock.apply_moves`, done by the caller), so a re-key is an
  update of the same CRM id;
- adoption (amoCRM statuses): an unkeyed status of a managed pipeline whose name is that of a
  desired status no current status holds yet takes its key.  That is how an apply killed after
  the CRM made a status but before the lock said so resumes without a duplicate.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields, is_dataclass, replace
from enum import Enum as PyEnum
from typing import Any

from funnelc.sync.client import AmoClient, B24Client, Command
from funnelc.sync.lock import reverse


def jsonable(value: Any) -> Any:
    """A state object (dataclasses, enums, tuples) as plain JSON data."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, PyEnum):
        return value.value
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


def fingerprint(state: Any) -> str:
    """SHA-256 of the state's canonical JSON: a saved plan is refused when it changed."""
    text = json.dumps(jsonable(state), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---- amoCRM --------------------------------------------------------------------------------


def read_amocrm(client: AmoClient, entry: dict[str, Any], desired: Any) -> tuple[Any, Any]:
    """The account as a :class:`funnelc.targets.amocrm.state.Account`, and the raw fields by
    id (a field edit keeps the requirements on statuses funnelc does not manage)."""
    from funnelc.targets.amocrm.state import (
        Account,
        Description,
        Enum,
        Field,
        LossReason,
        Pipeline,
        Status,
        StatusKind,
        StatusRef,
    )

    account = client.call("GET", "/api/v4/account") or {}
    pipe_keys = reverse(entry["pipelines"])
    stage_keys: dict[tuple[int, int], tuple[str, str]] = {}
    for pkey, p in entry["pipelines"].items():
        for skey, sid in (p.get("stages") or {}).items():
            stage_keys[(p["id"], sid)] = (pkey, skey)
    desired_by_key = {p.key: p for p in desired.pipelines}
    pipelines = []
    for raw in client.list_all("/api/v4/leads/pipelines", "pipelines"):
        pid = raw["id"]
        pkey = pipe_keys.get(pid, "")
        statuses = []
        for s in raw.get("_embedded", {}).get("statuses", []):
            if s.get("type") == 1:
                continue  # the inbox: not editable, not a status here
            kind = {142: StatusKind.WON, 143: StatusKind.LOST}.get(s["id"], StatusKind.OPEN)
            key = kind.value if kind is not StatusKind.OPEN else ""
            if not key:
                key = stage_keys.get((pid, s["id"]), ("", ""))[1]
            statuses.append(
                Status(
                    key=key,
                    name=s["name"],
                    sort=int(s["sort"]),
                    color=s.get("color"),
                    kind=kind,
                    descriptions=tuple(
                        Description(d["level"], d["description"])
                        for d in s.get("descriptions") or ()
                    ),
                    id=s["id"],
                )
            )
        want = desired_by_key.get(pkey)
        if want is not None:
            statuses = _adopt(statuses, [(st.key, st.name) for st in want.statuses])
        statuses.sort(key=lambda st: (st.kind is not StatusKind.OPEN, st.sort, st.id or 0))
        pipelines.append(
            Pipeline(
                key=pkey,
                name=raw["name"],
                sort=int(raw["sort"]),
                is_main=bool(raw.get("is_main")),
                is_unsorted_on=bool(raw.get("is_unsorted_on")),
                statuses=tuple(statuses),
                id=pid,
            )
        )
    pipelines = _adopt(pipelines, [(p.key, p.name) for p in desired.pipelines])
    for i, p in enumerate(pipelines):
        want = desired_by_key.get(p.key)
        if want is not None and not pipe_keys.get(p.id or 0):
            # Adopted by name just now: its statuses by name too.
            adopted = _adopt(list(p.statuses), [(st.key, st.name) for st in want.statuses])
            pipelines[i] = replace(p, statuses=tuple(adopted))
    key_of_status: dict[tuple[int, int], tuple[str, str]] = {}
    for p in pipelines:
        for st in p.statuses:
            if p.key and st.key and st.id is not None:
                key_of_status[(p.id or 0, st.id)] = (p.key, st.key)
    field_keys = reverse(entry["fields"])
    raw_fields: dict[int, dict[str, Any]] = {}
    current_fields = []
    for f in client.list_all("/api/v4/leads/custom_fields", "custom_fields", limit=250):
        raw_fields[f["id"]] = f
        required = tuple(
            StatusRef(*key_of_status[(r["pipeline_id"], r["status_id"])])
            for r in f.get("required_statuses") or ()
            if (r["pipeline_id"], r["status_id"]) in key_of_status
        )
        current_fields.append(
            Field(
                key=field_keys.get(f["id"], ""),
                name=f["name"],
                type=f["type"],
                code=f.get("code"),
                sort=int(f.get("sort") or 0),
                enums=tuple(
                    Enum(str(e["value"]), str(e["value"]), int(e.get("sort") or 0), e["id"])
                    for e in f.get("enums") or ()
                ),
                required=required,
                currency=f.get("currency"),
                id=f["id"],
            )
        )
    reason_keys = reverse(entry["loss_reasons"])
    reasons = tuple(
        LossReason(reason_keys.get(r["id"], ""), r["name"], int(r.get("sort") or 0), r["id"])
        for r in client.list_all("/api/v4/leads/loss_reasons", "loss_reasons")
    )
    state = Account(
        pipelines=tuple(pipelines),
        fields=tuple(current_fields),
        loss_reasons=reasons,
        loss_reasons_enabled=account.get("is_loss_reason_enabled"),
        manage_loss_reasons=desired.manage_loss_reasons,
    )
    return state, raw_fields


def _adopt(statuses: list[Any], wanted: list[tuple[str, str]]) -> list[Any]:
    """Give an unkeyed object the key of the desired one with its name that no current
    object holds yet (the name match ``diff`` would make, made before it so that the lock
    learns it)."""
    held = {s.key for s in statuses if s.key}
    free: dict[str, str] = {}
    for key, name in wanted:
        if key not in held and name not in free:
            free[name] = key
    out = []
    for s in statuses:
        if not s.key and s.name in free:
            s = replace(s, key=free.pop(s.name))
        out.append(s)
    return out


# ---- Bitrix24 ------------------------------------------------------------------------------


def list_paged(client: B24Client, method: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every page of a list: the first page alone (for ``total``), the rest in batches."""
    first = client.call(method, params)
    rows = list(_rows(first.get("result")))
    total = int(first.get("total") or len(rows))
    if "next" not in first:
        return rows
    commands = [
        Command(f"p{start}", method, {**params, "start": start})
        for start in range(int(first["next"]), total, 50)
    ]
    results, errors, _totals = client.batch(commands)
    if errors:
        from funnelc.sync.client import SyncError

        raise SyncError(f"{method}: {next(iter(errors.values()))}")
    for command in commands:
        rows += _rows(results.get(command.key))
    return rows


def _rows(result: Any) -> list[dict[str, Any]]:
    if isinstance(result, dict):
        return list(result.get("categories", []))
    return list(result or [])


def read_bitrix24(client: B24Client, entry: dict[str, Any], desired: Any) -> tuple[Any, Any]:
    """The portal as a :class:`funnelc.targets.bitrix24.state.Portal`, and the raw user
    fields by ``(entity, id)``."""
    from funnelc.targets.bitrix24.state import (
        Category,
        EnumValue,
        Portal,
        Semantics,
        Stage,
        UserField,
    )

    cat_keys = reverse(entry["pipelines"])
    stage_keys: dict[int, str] = {}
    for p in entry["pipelines"].values():
        for skey, sid in (p.get("stages") or {}).items():
            stage_keys[sid] = skey
    lead_keys = reverse(entry["lead_statuses"])
    rows = list_paged(client, "crm.status.list", {"order": {"SORT": "ASC"}})
    by_entity: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_entity.setdefault(r["ENTITY_ID"], []).append(r)

    def stages(entity: str, prefix: str, keys: dict[Any, str]) -> tuple[Any, ...]:
        out = []
        for r in sorted(by_entity.get(entity, []), key=lambda r: (int(r["SORT"]), int(r["ID"]))):
            out.append(
                Stage(
                    key=keys.get(int(r["ID"]), ""),
                    status_id=str(r["STATUS_ID"]).removeprefix(prefix),
                    name=r["NAME"],
                    sort=int(r["SORT"]),
                    semantics=Semantics(r.get("SEMANTICS") or ""),
                    color=r.get("COLOR"),
                    system=r.get("SYSTEM") == "Y",
                    id=int(r["ID"]),
                )
            )
        return tuple(out)

    categories = []
    for c in list_paged(client, "crm.category.list", {"entityTypeId": 2}):
        cid = int(c["id"])
        entity = "DEAL_STAGE" if cid == 0 else f"DEAL_STAGE_{cid}"
        prefix = "" if cid == 0 else f"C{cid}:"
        categories.append(
            Category(
                key=cat_keys.get(cid, ""),
                name=c["name"],
                sort=int(c["sort"]),
                stages=stages(entity, prefix, stage_keys),
                id=cid,
            )
        )
    categories = _adopt(categories, [(c.key, c.name) for c in desired.categories])
    field_keys = {
        (path.partition("/")[0], v["id"]): path.partition("/")[2]
        for path, v in entry["fields"].items()
    }
    raw_fields: dict[tuple[str, int], dict[str, Any]] = {}
    current_fields = []
    for entity in ("deal", "lead"):
        for f in list_paged(client, f"crm.{entity}.userfield.list", {}):
            fid = int(f["ID"])
            raw_fields[(entity, fid)] = f
            current_fields.append(
                UserField(
                    key=field_keys.get((entity, fid), ""),
                    entity=entity,
                    field_name=str(f["FIELD_NAME"]).removeprefix("UF_CRM_"),
                    label=str(f.get("EDIT_FORM_LABEL") or ""),
                    user_type=str(f["USER_TYPE_ID"]),
                    multiple=f.get("MULTIPLE") == "Y",
                    mandatory=f.get("MANDATORY") == "Y",
                    sort=int(f.get("SORT") or 100),
                    values=tuple(
                        EnumValue(str(i["VALUE"]), str(i["VALUE"]), int(i["SORT"]), int(i["ID"]))
                        for i in f.get("LIST") or ()
                    ),
                    id=fid,
                )
            )
    state = Portal(
        categories=tuple(categories),
        lead_statuses=stages("STATUS", "", lead_keys),
        fields=tuple(current_fields),
    )
    return state, raw_fields
