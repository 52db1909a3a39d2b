"""Operations → Bitrix24 REST commands: the one place that knows their shapes.

:func:`build` turns the operations of :func:`funnelc.targets.bitrix24.diff.diff` (given the
current and the desired :class:`~.state.Portal`) into an ordered list of :class:`Batch` es of
at most 50 :class:`Cmd` s each, in an order the portal accepts.  Both users walk the same list:

- the import plan (``funnelc build --target bitrix24``) is ``build(diff(EMPTY, desired))``
  for one pipeline, serialised by :mod:`.importplan` (which renders every :class:`IdRef` as
  the plan format's structural reference and adds the plan-only reads around the commands);
- ``funnelc apply`` (:mod:`funnelc.sync.apply`) resolves every :class:`IdRef` to the literal
  id it learnt (the lock file, or a :class:`Bind` of an earlier batch), sends each batch
  through ``B24Client`` and binds the ids the replies give.

A command refers to an object whose id is not known yet by an :class:`IdRef` (a typed value,
never text inside a value); a command that learns an id says so by a :class:`Bind` (where in
its result).  A reference is only ever bound by an *earlier* batch, so it can always be sent
as a literal value (crm-apis.md §0: ``$result`` is replaced greedily and older cores skip a
non-string result inside a longer value, so apply never uses it).

What the vendor's server code says (``../shared/crm-apis.md`` §0, §2), and the commands do:

- three phases, each packed into full batches of ≤ 50 in order: (1) ``crm.category.add`` of
  every new category (its id bound from ``result.category.id``); (2) one ``crm.status.list``
  lookup (``ENTITY_ID`` + ``STATUS_ID``) per preset whose row id is not known — the presets a
  new category is seeded with (:data:`~.state.DEAL_PRESETS`, ``createDefaultStages``) and,
  in an import plan, the portal's default lead statuses; (3) every write;
- in a new category the presets the funnel does not keep are deleted first (a fresh category
  holds no deals), then the success and failure stages are moved to their sorts, then the
  other stages are added, then the start stage renamed: in-progress < success < failure
  after every command ("Cannot create an intermediate stage after success", §2.3); in an
  existing directory the operations keep the order :func:`~.diff.diff` gives them (success
  and failure stages first, deletes last);
- every ``crm.status.update`` sends ``NAME`` *and* ``SORT`` (an update without SORT resets it
  to 10, ``CCrmStatus::Update``), and ``COLOR`` when known: a rename, a recolour and a reorder
  of one stage are one command (``NAME`` is left out only for a preset of a category not made
  yet that keeps the portal's own name, which is unknown until it is read);
- a category's rename and reorder are one ``crm.category.update`` with ``name`` and ``sort``;
- system stages are never deleted (diff renames them); a stage delete sends
  ``params[FORCED]=Y``; whether a stage holds deals is checked by ``funnelc plan`` and again by
  apply right before the batch with the delete (the portal refuses anyway);
- ``STATUS_ID`` and ``SEMANTICS`` are immutable: a conflict makes no command;
- a user field edit sends ``LABEL`` and ``MANDATORY``, and in ``LIST`` the values the portal
  lacks and, by ``ID``, the new ``SORT`` of existing ones that moved — never a deletion: a
  value the funnel dropped is a :class:`Delete` of its own (``Entity.ENUM``), sent as
  ``LIST[{ID, DEL: "Y"}]`` only when ``funnelc plan`` lets it through (``--allow-delete``,
  and no deal holds the value).

This module is the API's side only: no HTTP, no retries, no secrets, no plan format.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..crm_ops import (
    Conflict,
    Create,
    Delete,
    Entity,
    FieldChange,
    Operation,
    Recolour,
    Ref,
    Rename,
    Reorder,
)
from .state import FIELD_PREFIX, LEAD, Category, Portal, Semantics, Stage, UserField, seeded

MAX_BATCH = 50
"""Commands in one ``batch`` (§2.1 batch.md)."""

IdKey = tuple[str, str, str]
"""(entity, parent key or ``""``, key): ``("category", "", "b2b")``, ``("stage", "b2b",
"qualified")`` (lead statuses: parent ``"lead"``), ``("field", "deal", "budget")``."""
Ids = Mapping[IdKey, int]


@dataclass(frozen=True, slots=True)
class IdRef:
    """The id of an object not known when the commands are built, as a whole value
    (``id``) or inside one (``DEAL_STAGE_`` + id, ``C`` + id + ``:NEW``)."""

    key: IdKey
    prefix: str = ""
    suffix: str = ""

    def literal(self, ids: Ids) -> int | str:
        try:
            value = ids[self.key]
        except KeyError:
            raise MissingId(f"no id for {'/'.join(self.key)}") from None
        if not self.prefix and not self.suffix:
            return value
        return f"{self.prefix}{value}{self.suffix}"


@dataclass(frozen=True, slots=True)
class Bind:
    """The command's reply holds the id of ``key`` at ``path`` inside its ``result``
    (``()``: the result is the id)."""

    key: IdKey
    path: tuple[str | int, ...] = ()

    def value(self, result: Any) -> int:
        node = result
        for part in self.path:
            node = node[part]
        return int(node)


@dataclass(frozen=True, slots=True)
class Cmd:
    """One REST command: ``key`` (unique in the whole list: names its result), ``method``,
    ``params`` (literal values and :class:`IdRef` s), the ids it learns (``binds``), and the
    operation it makes (``None`` for a lookup)."""

    key: str
    method: str
    params: dict[str, Any]
    binds: tuple[Bind, ...] = ()
    operation: Operation | None = None

    @property
    def refs(self) -> set[IdKey]:
        return {ref.key for ref in _refs(self.params)}

    def resolved(self, ids: Ids) -> dict[str, Any]:
        """``params`` with every reference replaced by its literal value."""
        out: dict[str, Any] = resolve(self.params, ids)
        return out


@dataclass(frozen=True, slots=True)
class Batch:
    """Commands sent as one ``batch`` (one request against the rate limit), in order;
    ``phase``: ``categories``, ``lookups`` or ``changes``."""

    phase: str
    commands: tuple[Cmd, ...]


class MissingId(LookupError):
    """A command needs the id of an object neither known nor bound by an earlier batch."""


def _refs(value: Any) -> Iterable[IdRef]:
    if isinstance(value, IdRef):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _refs(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _refs(v)


def resolve(value: Any, ids: Ids) -> Any:
    if isinstance(value, IdRef):
        return value.literal(ids)
    if isinstance(value, Mapping):
        return {k: resolve(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, ids) for v in value]
    return value


def category_key(key: str) -> IdKey:
    return ("category", "", key)


def stage_key(parent: str, key: str) -> IdKey:
    return ("stage", parent, key)


def field_key(entity: str, key: str) -> IdKey:
    return ("field", entity, key)


def full_field_name(f: UserField) -> str:
    return FIELD_PREFIX + f.field_name


# ---- building --------------------------------------------------------------------------------


@dataclass
class _Builder:
    current: Portal
    desired: Portal
    categories: list[Cmd] = field(default_factory=list)
    lookups: list[Cmd] = field(default_factory=list)
    changes: list[Cmd] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    new: dict[str, Category] = field(default_factory=dict)  # categories made by this list

    def key(self, base: str, parent: str) -> str:
        """A command key unique in the list: ``base``, else ``base_parent``, else numbered."""
        base = _slug(base)
        for candidate in (base, f"{base}_{_slug(parent)}" if parent else base):
            if candidate not in self.keys:
                self.keys.add(candidate)
                return candidate
        n = 2
        while f"{base}_{n}" in self.keys:
            n += 1
        self.keys.add(f"{base}_{n}")
        return f"{base}_{n}"

    # -- where a stage lives
    def entity_id(self, parent: str) -> str | IdRef:
        if parent == LEAD:
            return "STATUS"
        now = self.current.category(parent)
        if parent not in self.new and now is not None and now.id is not None:
            return "DEAL_STAGE" if now.id == 0 else f"DEAL_STAGE_{now.id}"
        return IdRef(category_key(parent), "DEAL_STAGE_")

    def status_id(self, parent: str, code: str) -> str | IdRef:
        if parent == LEAD:
            return code
        now = self.current.category(parent)
        if parent not in self.new and now is not None and now.id is not None:
            return code if now.id == 0 else f"C{now.id}:{code}"
        return IdRef(category_key(parent), "C", f":{code}")

    def stage_id(self, ref: Ref, code: str) -> int | IdRef:
        """A stage's row id: known, or looked up once (a preset of a new category, or a
        preset lead status of a portal not read)."""
        if isinstance(ref.id, int):
            return ref.id
        key = stage_key(ref.parent or "", ref.key)
        if not any(key in {b.key for b in c.binds} for c in self.lookups):
            params = {
                "filter": {
                    "ENTITY_ID": self.entity_id(ref.parent or ""),
                    "STATUS_ID": self.status_id(ref.parent or "", code),
                }
            }
            self.lookups.append(
                Cmd(
                    self.key(f"find_{code}", ref.parent or ""),
                    "crm.status.list",
                    params,
                    (Bind(key, (0, "ID")),),
                )
            )
        return IdRef(key)

    # -- operations
    def run(self, ops: Sequence[Operation]) -> list[Batch]:
        ops = _failure_first(ops, self.desired)
        stage_edits = _group_stage_edits(ops)
        done: set[tuple[str, str]] = set()
        for op in ops:
            if isinstance(op, Conflict):
                continue
            entity = op.ref.entity
            if isinstance(op, Create) and isinstance(op.desired, Category):
                self.create_category(op)
            elif entity is Entity.STAGE and isinstance(op, Rename | Recolour | Reorder):
                target = (op.ref.parent or "", op.ref.key)
                if target not in done:
                    done.add(target)
                    self.update_stage(op.ref, stage_edits[target])
            elif entity is Entity.PIPELINE and isinstance(op, Rename | Reorder):
                if ("", op.ref.key) not in done:
                    done.add(("", op.ref.key))
                    self.update_category(op)
            else:
                self.one(op)
        return [
            *_pack("categories", self.categories),
            *_pack("lookups", self.lookups),
            *_pack("changes", self.changes),
        ]

    def create_category(self, op: Create) -> None:
        want = op.desired
        assert isinstance(want, Category)
        self.new[want.key] = want
        params = {"entityTypeId": 2, "fields": {"name": want.name, "sort": want.sort}}
        self.categories.append(
            Cmd(
                self.key(f"cat_{want.key}", ""),
                "crm.category.add",
                params,
                (Bind(category_key(want.key), ("category", "id")),),
                op,
            )
        )
        # The portal seeds the presets (§0): diff them like any current stages, in the order
        # the module docstring gives (deletes of the fresh presets first).
        from .diff import diff

        fresh = seeded(want.key, want.name, want.sort)
        sub = diff(Portal(categories=(fresh,)), Portal(categories=(want,)))
        deletes = [o for o in sub if isinstance(o, Delete)]
        rest = _failure_first([o for o in sub if not isinstance(o, Delete)], self.desired)
        builder_ops = [*deletes, *rest]
        stage_edits = _group_stage_edits(builder_ops)
        done: set[str] = set()
        for o in builder_ops:
            if isinstance(o, Rename | Recolour | Reorder):
                if o.ref.key not in done:
                    done.add(o.ref.key)
                    self.update_stage(o.ref, stage_edits[(want.key, o.ref.key)], fresh)
            elif not isinstance(o, Conflict):
                self.one(o, fresh)

    def update_category(self, op: Rename | Reorder) -> None:
        want = self.desired.category(op.ref.key)
        assert want is not None and isinstance(op.ref.id, int)
        params = {
            "entityTypeId": 2,
            "id": op.ref.id,
            "fields": {"name": want.name, "sort": want.sort},
        }
        self.changes.append(
            Cmd(self.key(f"setcat_{want.key}", ""), "crm.category.update", params, (), op)
        )

    def update_stage(self, ref: Ref, ops: list[Operation], fresh: Category | None = None) -> None:
        want = _stage(self.desired, ref)
        assert want is not None
        now = _stage(self.current, ref) if fresh is None else _seeded_stage(fresh, want.status_id)
        code = now.status_id if now is not None else want.status_id
        fields: dict[str, Any] = {}
        name = want.name or (now.name if now is not None and now.id is not None else "")
        if name:
            fields["NAME"] = name
        fields["SORT"] = want.sort
        color = want.color if want.color is not None else (now.color if now else None)
        if color is not None:
            fields["COLOR"] = color
        params = {"id": self.stage_id(ref, code), "fields": fields}
        self.changes.append(
            Cmd(
                self.key(f"set_{code}", ref.parent or ""),
                "crm.status.update",
                params,
                (),
                ops[0],
            )
        )

    def one(self, op: Operation, fresh: Category | None = None) -> None:
        ref = op.ref
        parent = ref.parent or ""
        if isinstance(op, Create):
            thing = op.desired
            if isinstance(thing, Stage):
                fields: dict[str, Any] = {
                    "ENTITY_ID": self.entity_id(parent),
                    "STATUS_ID": thing.status_id,
                    "NAME": thing.name or thing.status_id,
                    "SORT": thing.sort,
                }
                if thing.color is not None:
                    fields["COLOR"] = thing.color
                if thing.semantics.value:
                    fields["SEMANTICS"] = thing.semantics.value
                self.changes.append(
                    Cmd(
                        self.key(f"add_{thing.status_id}", parent),
                        "crm.status.add",
                        {"fields": fields},
                        (Bind(stage_key(parent, thing.key)),),
                        op,
                    )
                )
                return
            if isinstance(thing, UserField):
                self.changes.append(
                    Cmd(
                        self.key(f"field_{thing.field_name}", thing.entity),
                        f"crm.{thing.entity}.userfield.add",
                        {"fields": _field_add(thing)},
                        (Bind(field_key(thing.entity, thing.key)),),
                        op,
                    )
                )
                return
            raise TypeError(type(thing))
        if isinstance(op, FieldChange):
            before, after = op.current, op.desired
            assert isinstance(before, UserField) and isinstance(after, UserField)
            assert isinstance(ref.id, int)
            have = {v.value: v for v in before.values}
            edit: dict[str, Any] = {"LABEL": after.label, "MANDATORY": _yn(after.mandatory)}
            items: list[dict[str, Any]] = []
            if any(c.attribute == "LIST" for c in op.changes) and not after.merge_list:
                # The order changed or values were added: an existing item whose sort differs
                # gets its new SORT by ID (values not named are kept, so this never deletes).
                items = [
                    {"ID": have[v.value].id, "SORT": v.sort}
                    for v in after.values
                    if v.value in have and have[v.value].sort != v.sort
                ]
            items += [
                {"VALUE": v.value, "SORT": v.sort} for v in after.values if v.value not in have
            ]
            if items:
                edit["LIST"] = items
            self.changes.append(
                Cmd(
                    self.key(f"setfield_{before.field_name}", before.entity),
                    f"crm.{before.entity}.userfield.update",
                    {"id": ref.id, "fields": edit},
                    (),
                    op,
                )
            )
            return
        if isinstance(op, Delete):
            if ref.entity is Entity.STAGE:
                now = _stage(self.current, ref) if fresh is None else _seeded_stage(fresh, ref.key)
                code = now.status_id if now is not None else ref.key
                params = {"id": self.stage_id(ref, code), "params": {"FORCED": "Y"}}
                self.changes.append(
                    Cmd(self.key(f"del_{code}", parent), "crm.status.delete", params, (), op)
                )
                return
            assert isinstance(ref.id, int)
            if ref.entity is Entity.PIPELINE:
                self.changes.append(
                    Cmd(
                        self.key(f"delcat_{ref.key}", ""),
                        "crm.category.delete",
                        {"entityTypeId": 2, "id": ref.id},
                        (),
                        op,
                    )
                )
                return
            if ref.entity is Entity.ENUM:
                # A LIST item is deleted by naming its ID with DEL=Y in the field's update
                # (items not named are kept; [UNCONFIRMED] in the REST docs, see the fake's
                # ``_list_items``).
                owner = next(f for f in self.current.fields if ref.id in {v.id for v in f.values})
                self.changes.append(
                    Cmd(
                        self.key(f"delenum_{owner.field_name}_{ref.id}", owner.entity),
                        f"crm.{owner.entity}.userfield.update",
                        {"id": owner.id, "fields": {"LIST": [{"ID": ref.id, "DEL": "Y"}]}},
                        (),
                        op,
                    )
                )
                return
            if ref.entity is Entity.FIELD:
                self.changes.append(
                    Cmd(
                        self.key(f"delfield_{ref.key}", parent),
                        f"crm.{parent}.userfield.delete",
                        {"id": ref.id},
                        (),
                        op,
                    )
                )
                return
        raise ValueError(f"no command for {op!r}")


def _slug(text: str) -> str:
    return "".join(c if c.isascii() and c.isalnum() else "_" for c in text.lower())


def _yn(flag: bool) -> str:
    return "Y" if flag else "N"


def _group_stage_edits(ops: Iterable[Operation]) -> dict[tuple[str, str], list[Operation]]:
    out: dict[tuple[str, str], list[Operation]] = {}
    for op in ops:
        if op.ref.entity is Entity.STAGE and isinstance(op, Rename | Recolour | Reorder):
            out.setdefault((op.ref.parent or "", op.ref.key), []).append(op)
    return out


def _failure_first(ops: Sequence[Operation], desired: Portal) -> list[Operation]:
    """``ops`` with the updates of failure stages moved before those of the success stage
    (in the slots they held): moved up to their sorts in that order, the order in-progress <
    success < failure holds after every command (the presets WON 60, LOSE 70 move to 9000,
    9100)."""
    out = list(ops)

    def semantics(op: Operation) -> Semantics | None:
        if op.ref.entity is not Entity.STAGE or not isinstance(op, Rename | Recolour | Reorder):
            return None
        stage = _stage(desired, op.ref)
        return stage.semantics if stage is not None else None

    slots = [i for i, op in enumerate(out) if semantics(op) not in (None, Semantics.PROCESS)]
    ends = [out[i] for i in slots]
    ends.sort(key=lambda op: semantics(op) is not Semantics.FAILURE)
    for i, op in zip(slots, ends, strict=True):
        out[i] = op
    return out


def _directory(portal: Portal, parent: str | None) -> tuple[Stage, ...]:
    if parent == LEAD:
        return portal.lead_statuses or ()
    category = portal.category(parent or "")
    return category.stages if category is not None else ()


def _stage(portal: Portal, ref: Ref) -> Stage | None:
    """The stage ``ref`` names: by id when it has one, else by key."""
    stages = _directory(portal, ref.parent)
    if ref.id is not None:
        found = next((s for s in stages if s.id == ref.id), None)
        if found is not None:
            return found
    return next((s for s in stages if s.key == ref.key), None) or next(
        (s for s in stages if not s.key and s.status_id == ref.key), None
    )


def _seeded_stage(fresh: Category, code: str) -> Stage | None:
    """A preset of a new category by its code (diff matched it by STATUS_ID)."""
    return next((s for s in fresh.stages if s.status_id == code), None)


def _field_add(f: UserField) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "FIELD_NAME": f.field_name,
        "USER_TYPE_ID": f.user_type,
        "XML_ID": f.key,
        "LABEL": f.label,
        "SORT": f.sort,
        "MULTIPLE": _yn(f.multiple),
        "MANDATORY": _yn(f.mandatory),
    }
    if f.values:
        fields["LIST"] = [{"VALUE": v.value, "SORT": v.sort} for v in f.values]
    if f.settings:
        fields["SETTINGS"] = dict(f.settings)
    return fields


def _pack(phase: str, commands: list[Cmd]) -> list[Batch]:
    """Full batches of ≤ 50 in order (a phase only refers to ids earlier phases bind)."""
    return [
        Batch(phase, tuple(commands[i : i + MAX_BATCH])) for i in range(0, len(commands), MAX_BATCH)
    ]


def build(ops: Sequence[Operation], current: Portal, desired: Portal) -> list[Batch]:
    """The batches that make ``ops`` (see the module docstring): every id a command refers
    to is known in ``current`` or bound by an earlier batch."""
    batches = _Builder(current, desired).run(ops)
    bound: set[IdKey] = set()
    for batch in batches:
        for command in batch.commands:
            missing = command.refs - bound
            if missing:
                raise MissingId(f"{command.key} refers to {sorted(missing)} before it is known")
        for command in batch.commands:
            bound.update(b.key for b in command.binds)
    return batches


def commands(batches: Iterable[Batch]) -> list[Cmd]:
    return [c for b in batches for c in b.commands]
