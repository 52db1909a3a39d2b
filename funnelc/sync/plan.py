"""Desired vs current → a plan: the operations ``apply`` makes, and what it holds back.

:func:`make_plan` reads the account (through a client, keys from the lock file, ``was``
clauses applied), computes the target's ``diff``, and then, for every delete and conflict,
asks the CRM how many deals the stage (pipeline, enum value of a field) holds.  A delete is
*held* — listed, never applied — when ``--allow-delete`` was not given, or when the object
holds deals (amoCRM's API would move them to the first stage without a word, crm-apis.md §0:
funnelc refuses itself).
A :class:`~funnelc.targets.crm_ops.Conflict` (an immutable property) is never applied.

The plan records a fingerprint of the account state it was computed from; ``apply`` of a saved
plan recomputes the plan and refuses unless both the fingerprint and the operations match.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from funnelc.i18n import _, ngettext
from funnelc.sync.client import AmoClient, B24Client, Command, SyncError
from funnelc.sync.lock import Lock, account_id, apply_moves
from funnelc.sync.read import fingerprint, jsonable, read_amocrm, read_bitrix24
from funnelc.sync.redact import redact

if TYPE_CHECKING:
    from funnelc.model import Project
    from funnelc.targets.crm_ops import Operation

PLAN_FORMAT = "funnelc-plan"
PLAN_VERSION = 1


@dataclass(frozen=True)
class Held:
    """A delete that is not applied: ``deals`` it holds (``None``: not counted), and why."""

    operation: Operation
    deals: int | None
    why: str  # "deals" or "allow-delete"


@dataclass
class Plan:
    target: str
    account: str
    fingerprint: str
    allow_delete: bool
    operations: list[Operation]  # what apply does, in order
    held: list[Held]
    conflicts: list[Operation]
    deals: dict[str, int] = field(default_factory=dict)  # ref path → deals, where counted
    sources: list[str] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        """Exit 2 of ``plan``: ``apply`` with the same options would write."""
        return bool(self.operations)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": PLAN_FORMAT,
            "version": PLAN_VERSION,
            "target": self.target,
            "account": self.account,
            "fingerprint": self.fingerprint,
            "allow_delete": self.allow_delete,
            "sources": self.sources,
            "operations": [op_json(op) for op in self.operations],
            "held": [{**op_json(h.operation), "deals": h.deals, "why": h.why} for h in self.held],
            "conflicts": [
                {**op_json(c), "deals": self.deals.get(c.ref.path)} for c in self.conflicts
            ],
        }

    def dumps(self) -> str:
        return redact(json.dumps(self.to_json(), ensure_ascii=False, indent=2, sort_keys=True))


def op_json(op: Operation) -> dict[str, Any]:
    from funnelc.targets.crm_ops import kind

    out: dict[str, Any] = {
        "kind": kind(op),
        "entity": op.ref.entity.value,
        "key": op.ref.key,
        "parent": op.ref.parent,
        "id": op.ref.id,
        "reason": str(op.reason),
    }
    for name in ("before", "after", "attribute", "name", "way_out"):
        if hasattr(op, name):
            out[name] = jsonable(getattr(op, name))
    if hasattr(op, "changes"):
        out["changes"] = jsonable(op.changes)
    if hasattr(op, "desired") and type(op).__name__ == "Create":
        out["desired"] = jsonable(op.desired)
    return out


def canonical(plan_json: dict[str, Any]) -> str:
    """What must match between a saved plan and the plan ``apply`` recomputes: the account,
    its fingerprint and the operations (reasons aside: they are in the user's language)."""

    def strip(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in item.items() if k not in ("reason", "way_out")} for item in items]

    return json.dumps(
        {
            "target": plan_json["target"],
            "account": plan_json["account"],
            "fingerprint": plan_json["fingerprint"],
            "operations": strip(plan_json["operations"]),
        },
        ensure_ascii=False,
        sort_keys=True,
    )


# ---- was ------------------------------------------------------------------------------------


def moves(project: Project, target: str) -> dict[str, dict[str, str]]:
    """``was`` clauses as lock moves: ``{"": {new pipeline: old}, pipeline key: {new: old}}``.
    amoCRM's lead pipeline (``<id>.lead``) and Bitrix24's lead statuses (``lead``) move with
    their funnel pipeline's stages."""
    out: dict[str, dict[str, str]] = {}
    for p in project.pipelines:
        if p.was is not None:
            out.setdefault("", {})[p.id.name] = p.was.name
            if target == "amocrm":
                out[""][p.id.name + ".lead"] = p.was.name + ".lead"
        for s in p.stages:
            if s.was is None:
                continue
            parents = [p.id.name, p.id.name + ".lead"] if target == "amocrm" else [p.id.name]
            if target == "bitrix24":
                parents.append("lead")
            for parent in parents:
                out.setdefault(parent, {})[s.id.name] = s.was.name
    return out


# ---- plan -----------------------------------------------------------------------------------


@dataclass
class Session:
    """What plan and apply share: the client, the lock and this account's entry in it, the
    desired state, the current state read, and the raw fields."""

    target: str
    client: AmoClient | B24Client
    lock: Lock
    entry: dict[str, Any]
    account: str
    desired: Any
    current: Any = None
    raw_fields: Any = None
    moved: bool = False


def open_session(
    target: str,
    client: AmoClient | B24Client,
    lock: Lock,
    base_url: str,
    desired: Any,
    project_moves: dict[str, dict[str, str]],
) -> Session:
    account = account_id(base_url)
    entry = lock.account(target, account)
    moved = apply_moves(entry, project_moves)
    session = Session(target, client, lock, entry, account, desired, moved=moved)
    read(session, project_moves)
    return session


def read(session: Session, project_moves: dict[str, dict[str, str]] | None = None) -> None:
    if isinstance(session.client, AmoClient):
        session.current, session.raw_fields = read_amocrm(
            session.client, session.entry, session.desired
        )
    else:
        assert isinstance(session.client, B24Client)
        session.current, session.raw_fields = read_bitrix24(
            session.client, session.entry, session.desired
        )
        if project_moves:
            session.desired = _keep_status_ids(session.current, session.desired, project_moves)


def _keep_status_ids(current: Any, desired: Any, project_moves: dict[str, dict[str, str]]) -> Any:
    """Bitrix24: a stage re-keyed by ``was`` keeps its STATUS_ID (immutable, and only a code:
    the key is the funnel's name for it), so the re-key is an update, not a conflict."""

    def fix(stages: Any, now: Any, parent: str) -> Any:
        moved_keys = set(project_moves.get(parent, {}))
        by_key = {s.key: s for s in now or () if s.key}
        return tuple(
            replace(s, status_id=by_key[s.key].status_id)
            if s.key in moved_keys and s.key in by_key
            else s
            for s in stages
        )

    categories = []
    for c in desired.categories:
        now = current.category(c.key)
        categories.append(replace(c, stages=fix(c.stages, now.stages if now else (), c.key)))
    leads = desired.lead_statuses
    if leads is not None:
        leads = fix(leads, current.lead_statuses, "lead")
    return replace(desired, categories=tuple(categories), lead_statuses=leads)


def diff(session: Session) -> list[Operation]:
    if session.target == "amocrm":
        from funnelc.targets.amocrm.diff import diff as amo_diff

        ops: list[Operation] = amo_diff(session.current, session.desired)
        return ops
    from funnelc.targets.bitrix24.diff import diff as b24_diff

    b24_ops: list[Operation] = b24_diff(session.current, session.desired)
    return b24_ops


def count_deals(session: Session, ops: list[Operation]) -> dict[str, int]:
    """Deals in every stage / pipeline ``ops`` name (deletes and conflicts), by ref path."""
    from funnelc.targets.crm_ops import Entity

    out: dict[str, int] = {}
    wanted = [op for op in ops if op.ref.entity in (Entity.STAGE, Entity.PIPELINE, Entity.ENUM)]
    if not wanted:
        return out
    if isinstance(session.client, AmoClient):
        pipes = {p.key: p for p in session.current.pipelines if p.key}
        for op in wanted:
            if op.ref.entity is Entity.ENUM:
                owner = _owner(session.current, op.ref.id)
                if owner is not None and owner.id is not None and op.ref.id is not None:
                    out[op.ref.path] = session.client.count_enum_leads(owner.id, int(op.ref.id))
            elif op.ref.entity is Entity.PIPELINE:
                out[op.ref.path] = session.client.count_leads(int(op.ref.id or 0))
            else:
                pipe = pipes.get(op.ref.parent or "")
                if pipe is not None and op.ref.id is not None:
                    out[op.ref.path] = session.client.count_leads(pipe.id or 0, int(op.ref.id))
        return out
    assert isinstance(session.client, B24Client)
    commands: list[Command] = []
    paths: dict[str, list[str]] = {}
    for op in wanted:
        stages: list[tuple[str, Any]] = []
        if op.ref.entity is Entity.ENUM:
            owner = _owner(session.current, op.ref.id)
            if owner is None:
                continue
            key = f"c{len(commands)}"
            filt = {f"UF_CRM_{owner.field_name}": op.ref.id}
            commands.append(
                Command(key, f"crm.{owner.entity}.list", {"filter": filt, "select": ["ID"]})
            )
            paths.setdefault(op.ref.path, []).append(key)
            continue
        if op.ref.entity is Entity.PIPELINE:
            cat = next(c for c in session.current.categories if c.id == op.ref.id)
            stages = [(full_id(s.status_id, cat.id), cat.id) for s in cat.stages]
        else:
            stage, category_id = _b24_stage(session.current, op.ref)
            if stage is None:
                continue
            stages = [(full_id(stage.status_id, category_id), category_id)]
        for status_id, category_id in stages:
            key = f"c{len(commands)}"
            if category_id is None:
                method, filt = "crm.lead.list", {"STATUS_ID": status_id}
            else:
                method, filt = "crm.deal.list", {"STAGE_ID": status_id}
            commands.append(Command(key, method, {"filter": filt, "select": ["ID"]}))
            paths.setdefault(op.ref.path, []).append(key)
    _results, errors, totals = session.client.batch(commands, halt=False)
    if errors:
        # Never guess "no deals": without a count nothing is deleted.
        raise SyncError(
            _("cannot count the deals of a stage: {error}").format(
                error=next(iter(errors.values()))
            )
        )
    for path, keys in paths.items():
        out[path] = sum(int(totals.get(k) or 0) for k in keys)
    return out


def _owner(state: Any, enum_id: object) -> Any:
    """The field of ``state`` (amoCRM account or Bitrix24 portal) that has the enum value
    ``enum_id`` (enum ids are unique in an account)."""
    for f in state.fields:
        values = getattr(f, "enums", None)
        if values is None:
            values = f.values
        if any(v.id == enum_id for v in values):
            return f
    return None


def full_id(code: str, category_id: int | None) -> str:
    from funnelc.targets.bitrix24.state import full_status_id

    return str(full_status_id(code, category_id))


def _b24_stage(portal: Any, ref: Any) -> tuple[Any, int | None]:
    from funnelc.targets.bitrix24.state import LEAD

    if ref.parent == LEAD:
        return next((s for s in portal.lead_statuses or () if s.id == ref.id), None), None
    cat = portal.category(ref.parent) if ref.parent else None
    if cat is None:
        return None, None
    return next((s for s in cat.stages if s.id == ref.id), None), cat.id


def make_plan(session: Session, *, allow_delete: bool, sources: list[str]) -> Plan:
    from funnelc.targets.crm_ops import Conflict, Delete

    ops = diff(session)
    deletes = [op for op in ops if isinstance(op, Delete)]
    conflicts = [op for op in ops if isinstance(op, Conflict)]
    deals = count_deals(session, [*deletes, *conflicts])
    held: list[Held] = []
    apply_ops: list[Operation] = []
    for op in ops:
        if isinstance(op, Conflict):
            continue
        if isinstance(op, Delete):
            n = deals.get(op.ref.path)
            if n:
                held.append(Held(op, n, "deals"))
                continue
            if not allow_delete:
                held.append(Held(op, n, "allow-delete"))
                continue
        apply_ops.append(op)
    return Plan(
        target=session.target,
        account=session.account,
        fingerprint=fingerprint(session.current),
        allow_delete=allow_delete,
        operations=apply_ops,
        held=held,
        conflicts=conflicts,
        deals=deals,
        sources=sources,
    )


# ---- the summary ----------------------------------------------------------------------------


def _name(op: Operation) -> str:
    entity = {
        "pipeline": _("pipeline"),
        "stage": _("stage"),
        "field": _("field"),
        "loss_reason": _("loss reason"),
        "enum": _("field value"),
    }[op.ref.entity.value]
    return f"{entity} {op.ref.path}"


def summary_lines(plan: Plan) -> list[tuple[str, str]]:
    """The plan for people: ``(style, line)`` pairs (style: a rich colour)."""
    from funnelc.targets.crm_ops import (
        Change,
        Create,
        Delete,
        FieldChange,
        Recolour,
        Rename,
        Reorder,
    )

    lines: list[tuple[str, str]] = []
    for op in plan.operations:
        if isinstance(op, Create):
            name = getattr(op.desired, "name", "") or getattr(op.desired, "label", "")
            lines.append(("green", f"  + {_('create')} {_name(op)} «{name}»  ({op.reason})"))
        elif isinstance(op, Rename):
            lines.append(("yellow", f"  ~ {_('rename')} {_name(op)}: «{op.before}» → «{op.after}»"))
        elif isinstance(op, Recolour):
            lines.append(("yellow", f"  ~ {_('recolour')} {_name(op)}: {op.before} → {op.after}"))
        elif isinstance(op, Reorder):
            lines.append(("yellow", f"  ↕ {_('move')} {_name(op)}  ({op.reason})"))
        elif isinstance(op, Change):
            lines.append(("yellow", f"  ~ {_('change')} {_name(op)}: {op.attribute}"))
        elif isinstance(op, FieldChange):
            what = ", ".join(c.attribute for c in op.changes)
            lines.append(("yellow", f"  ~ {_('change')} {_name(op)}: {what}"))
        elif isinstance(op, Delete):
            lines.append(("red", f"  - {_('delete')} {_name(op)} «{op.name}»  ({op.reason})"))
    for h in plan.held:
        op = h.operation
        assert isinstance(op, Delete)
        if h.why == "deals":
            text = ngettext(
                "  ! keep {what} «{name}»: it holds {n} deal, so it is never deleted",
                "  ! keep {what} «{name}»: it holds {n} deals, so it is never deleted",
                h.deals or 0,
            ).format(what=_name(op), name=op.name, n=h.deals)
        else:
            text = _("  ! keep {what} «{name}»: deleting needs --allow-delete").format(
                what=_name(op), name=op.name
            )
        lines.append(("magenta", text))
    for c in plan.conflicts:
        lines.append(
            (
                "bold red",
                _(
                    "  ✗ conflict {what}: {attribute} {before} → {after}: {reason}; way out: {way}"
                ).format(
                    what=_name(c),
                    attribute=getattr(c, "attribute", ""),
                    before=getattr(c, "before", ""),
                    after=getattr(c, "after", ""),
                    reason=c.reason,
                    way=getattr(c, "way_out", ""),
                ),
            )
        )
    counts = {"create": 0, "change": 0, "delete": 0}
    for op in plan.operations:
        k = type(op).__name__
        counts["create" if k == "Create" else "delete" if k == "Delete" else "change"] += 1
    if plan.operations:
        tail = _("Plan: {create} to create, {change} to change, {delete} to delete.").format(
            **counts
        )
    else:
        tail = _("No changes: the account matches the funnels.")
    if plan.held:
        tail += " " + _("{n} kept (not deleted).").format(n=len(plan.held))
    if plan.conflicts:
        tail += " " + _("{n} conflict(s): nothing can be applied until they are resolved.").format(
            n=len(plan.conflicts)
        )
    lines.append(("bold", tail))
    return [(style, redact(text)) for style, text in lines]
