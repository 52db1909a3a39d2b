"""The operations that bring a CRM account from its current state to the desired one.

Both CRM targets describe an account as a typed, immutable *state* (``targets/<crm>/state.py``)
and compute ``diff(current, desired) -> list[Operation]`` (``targets/<crm>/diff.py``).  An
operation is one of the frozen records below, each with the ``reason`` it is needed (a
:class:`funnelc.i18n.Text`, rendered in any language later).  ``diff`` returns them in the order
they can be applied: parents are created before their children, renames and changes come
before reorders, deletes come last.  Requests (``targets/<crm>/requests.py``) and the
``funnelc plan`` summary are both made from these records; nothing else decides what changes.

Identity: every object of a state has a ``key`` (the funnel's name for it; the lock file maps
keys to CRM ids) and, in a current state read from a CRM, its ``id``.  :class:`Ref` names an
object by both.  This module is light (no model, no codes): the CLI imports it cheaply.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar


class Entity(StrEnum):
    """What kind of CRM object an operation is about."""

    PIPELINE = "pipeline"
    """An amoCRM pipeline or a Bitrix24 deal category."""
    STAGE = "stage"
    """An amoCRM status or a Bitrix24 stage / lead status."""
    FIELD = "field"
    """A custom field (amoCRM) or user field (Bitrix24)."""
    LOSS_REASON = "loss_reason"
    """An amoCRM loss reason (account-wide)."""
    ENUM = "enum"
    """A value of a choice / multichoice field (amoCRM enum, Bitrix24 ``LIST`` item); its
    ``parent`` names the field (``field key`` on amoCRM, ``entity/field key`` on Bitrix24),
    its ``key`` is the value.  Only ever deleted: a new value is part of a field change."""


@dataclass(frozen=True, slots=True)
class Ref:
    """An object of the account: its ``entity``, its ``key`` (lock-file identity), the key of
    the pipeline it belongs to (``parent``, for stages; ``"lead"`` for Bitrix24 lead statuses;
    the field, for enum values),
    and its CRM ``id`` when it exists already (``None`` for one that is created)."""

    entity: Entity
    key: str
    parent: str | None = None
    id: int | str | None = None

    @property
    def path(self) -> str:
        """``parent/key`` or ``key``: how a summary names the object."""
        return f"{self.parent}/{self.key}" if self.parent is not None else self.key


@dataclass(frozen=True, slots=True)
class Create:
    """Create ``desired`` (a state object: a pipeline with its stages, a stage, a field, a
    reason).  A pipeline's create carries its stages; they get no operations of their own."""

    ref: Ref
    desired: object
    reason: str


@dataclass(frozen=True, slots=True)
class Rename:
    ref: Ref
    before: str
    after: str
    reason: str


@dataclass(frozen=True, slots=True)
class Recolour:
    ref: Ref
    before: str | None
    after: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class Reorder:
    """Give a stage or pipeline the sort ``after`` (``before`` is the current one)."""

    ref: Ref
    before: int
    after: int
    reason: str


@dataclass(frozen=True, slots=True)
class Change:
    """Any other attribute of a pipeline or stage (descriptions, the inbox switch…)."""

    ref: Ref
    attribute: str
    before: object
    after: object
    reason: str


@dataclass(frozen=True, slots=True)
class AttributeChange:
    attribute: str
    before: object
    after: object


@dataclass(frozen=True, slots=True)
class FieldChange:
    """Edit a field in one request: ``changes`` lists what differs; ``desired`` is the whole
    desired field and ``current`` the current one (a CRM edit must send the name and, for
    lists, every enum with its id — see the CRM's ``requests.py``)."""

    ref: Ref
    changes: tuple[AttributeChange, ...]
    current: object
    desired: object
    reason: str


@dataclass(frozen=True, slots=True)
class Delete:
    """Delete an object the funnels no longer have.  ``system`` objects are never deleted
    (diff renames them instead, so it never emits this for one).  Whether a stage (or an enum
    value) holds deals is not part of a state: ``funnelc plan`` asks the CRM and refuses the
    delete."""

    ref: Ref
    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class Conflict:
    """A change the CRM cannot make (an immutable property such as Bitrix24 ``STATUS_ID`` or
    ``SEMANTICS``, a field's type).  Never applied, never worked around by deleting:
    ``way_out`` tells the user what to do."""

    ref: Ref
    attribute: str
    before: object
    after: object
    reason: str
    way_out: str


Operation = Create | Rename | Recolour | Reorder | Change | FieldChange | Delete | Conflict
"""One step of a plan (see the module docstring)."""

OPERATION_KINDS: dict[type[object], str] = {
    Create: "create",
    Rename: "rename",
    Recolour: "recolour",
    Reorder: "reorder",
    Change: "change",
    FieldChange: "field-change",
    Delete: "delete",
    Conflict: "conflict",
}
"""The name of each kind of operation, as a machine-readable plan writes it."""


def kind(operation: Operation) -> str:
    return OPERATION_KINDS[type(operation)]


def writes(operations: Iterable[Operation]) -> bool:
    """Whether applying ``operations`` changes anything (a conflict changes nothing)."""
    return any(not isinstance(op, Conflict) for op in operations)


_C = TypeVar("_C")
_D = TypeVar("_D")


@dataclass(frozen=True, slots=True)
class Matched(Generic[_C, _D]):
    """The outcome of :func:`match`: pairs (current, desired), and what is left on each side."""

    pairs: tuple[tuple[_C, _D], ...]
    created: tuple[_D, ...]
    removed: tuple[_C, ...]


def match(
    current: Sequence[_C],
    desired: Sequence[_D],
    keys: Sequence[tuple[Callable[[_C], object], Callable[[_D], object]]],
) -> Matched[_C, _D]:
    """Pair current objects with desired ones: by the first pair of key functions (the lock
    file's key), then by the next (a natural identity: a system role, a code, a name) among the
    objects still unpaired, and so on.  A key function returning ``None`` or ``""`` never
    matches.  Pairs come in the desired order; ``removed`` in the current order.  Linear."""
    paired: dict[int, int] = {}  # desired index → current index
    taken: set[int] = set()
    for current_key, desired_key in keys:
        index: dict[object, int] = {}
        for i, obj in enumerate(current):
            if i in taken:
                continue
            value = current_key(obj)
            if value not in (None, "") and value not in index:
                index[value] = i
        for j, want in enumerate(desired):
            if j in paired:
                continue
            value = desired_key(want)
            if value in (None, ""):
                continue
            i = index.pop(value, -1)
            if i >= 0:
                paired[j] = i
                taken.add(i)
    pairs = tuple((current[paired[j]], d) for j, d in enumerate(desired) if j in paired)
    created = tuple(d for j, d in enumerate(desired) if j not in paired)
    removed = tuple(c for i, c in enumerate(current) if i not in taken)
    return Matched(pairs, created, removed)


def moved(current_order: Sequence[str], desired_order: Sequence[str]) -> set[str]:
    """The keys that must move so that ``current_order`` (the keys of paired objects, sorted
    as the CRM sorts them now) becomes ``desired_order``: every key outside one longest common
    increasing run, so a single stage moved gives a single reorder.  O(n log n)."""
    import bisect

    position = {key: i for i, key in enumerate(desired_order)}
    sequence = [position[key] for key in current_order if key in position]
    tails: list[int] = []  # smallest tail value of an increasing run of each length
    tail_index: list[int] = []
    previous = [-1] * len(sequence)
    for i, value in enumerate(sequence):
        at = bisect.bisect_left(tails, value)
        if at == len(tails):
            tails.append(value)
            tail_index.append(i)
        else:
            tails[at] = value
            tail_index[at] = i
        previous[i] = tail_index[at - 1] if at else -1
    keep: set[int] = set()
    i = tail_index[-1] if tail_index else -1
    while i >= 0:
        keep.add(sequence[i])
        i = previous[i]
    return {key for key in desired_order if position[key] not in keep}


def list_values(
    attribute: str,
    current: Sequence[tuple[str, int | None]],
    desired: Sequence[str],
    parent: str,
) -> tuple[AttributeChange | None, list[Delete]]:
    """A list field's values: the change of ``attribute`` when values are added or the kept
    ones are reordered, and a :class:`Delete` of each current ``(value, id)`` the funnel
    dropped, under ``parent``.  A dropped value is never part of the change: held (no
    ``--allow-delete``, or deals hold it), it must not show as pending on every plan."""
    from funnelc.i18n import _

    now = tuple(value for value, _id in current)
    wanted = set(desired)
    change = None
    if tuple(v for v in now if v in wanted) != tuple(desired):
        change = AttributeChange(attribute, now, tuple(desired))
    deletes = [
        Delete(
            Ref(Entity.ENUM, value, parent, ident), value, _("the field no longer has this value")
        )
        for value, ident in current
        if value not in wanted
    ]
    return change, deletes
