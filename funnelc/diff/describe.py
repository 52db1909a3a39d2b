"""The words of a diff, shared by its formats: one line per change, and the one-line summary.

Every text is a message (``_``/``ngettext``) rendered in the language current when it is
called (the CLI's ``--lang``).  The values taken from the user's files — ids, display names,
goals — are put in by a :class:`Quote`, which each format chooses: the terminal writes
them as they are, Markdown escapes them (``targets/markdown.py``), so no user text is ever
read as markup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from funnelc.diff.model_diff import Change, ChangeKind, Value
from funnelc.i18n import N_, _, ngettext, ngettext_noop


@dataclass(frozen=True, slots=True)
class Quote:
    """How a format writes user values: a display name, an id, and a free text value."""

    name: Callable[[str], str]
    ident: Callable[[str], str]
    text: Callable[[str], str]


PLAIN = Quote(
    name=lambda s: f"\u00ab{s}\u00bb",
    ident=lambda s: f"`{s}`",
    text=lambda s: f"\u00ab{s}\u00bb",
)
"""The terminal's and the JSON's quoting: the text as it is."""

_ATTRIBUTES = {
    "goal": N_("goal"),
    "exits": N_("exit criteria"),
    "sla": N_("SLA"),
    "probability": N_("probability"),
    "key": N_("key flag"),
    "requires": N_("required fields"),
    "name": N_("name"),
    "type": N_("type"),
    "options": N_("options"),
    "label": N_("label"),
    "delay": N_("delay"),
}
_PHASES = {"lead": N_("lead"), "deal": N_("deal")}
_KINDS = {"open": N_("open stage"), "won": N_("won outcome"), "lost": N_("lost outcome")}
_EDGES = {
    "explicit": N_("edge"),
    "revive": N_("revival"),
    "timeout": N_("timeout"),
    "next": N_("next move"),
    "advance": N_("edge"),
    "handoff": N_("handoff"),
    "win": N_("edge"),
    "lose": N_("edge"),
}


def _value(attribute: str, value: Value, q: Quote) -> str:
    if value is None or value == ():
        return _("none")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int):
        return f"{value}%" if attribute == "probability" else str(value)
    if isinstance(value, tuple):
        if attribute in ("requires", "options"):
            return ", ".join(q.ident(v) if attribute == "requires" else q.text(v) for v in value)
        return "; ".join(q.text(v) for v in value)
    if attribute in ("sla", "delay", "type"):
        return q.ident(value) if attribute == "type" else value
    return q.text(value)


def _stage(change: Change, q: Quote) -> str:
    return f"{q.ident(change.subject)} {q.name(change.name)}"


_REKEYS = {
    ChangeKind.PIPELINE_REKEYED: (
        N_("pipeline {name} re-keyed: {before} → {after}, with {was}"),
        N_("pipeline {name} re-keyed: {before} → {after}, without {was}"),
    ),
    ChangeKind.STAGE_REKEYED: (
        N_("stage {name} re-keyed: {before} → {after}, with {was}"),
        N_("stage {name} re-keyed: {before} → {after}, without {was}"),
    ),
}
"""A re-key's line, with ``was`` stated and without."""
_RENAMES = {
    ChangeKind.STAGE_RENAMED: N_("stage {id} renamed: {before} → {after}"),
    ChangeKind.REASON_RENAMED: N_("loss reason {id} renamed: {before} → {after}"),
}


def _attribute_change(template: str, attribute: str, change: Change, q: Quote, **where: str) -> str:
    """``template`` (``{attribute} of … : {before} → {after}``) filled in for ``change``."""
    return _(template).format(
        attribute=_(_ATTRIBUTES[attribute]),
        before=_value(attribute, change.before, q),
        after=_value(attribute, change.after, q),
        **where,
    )


def describe(change: Change, q: Quote = PLAIN) -> str:
    """One line that says what ``change`` is, in the current language."""
    k = change.kind
    stage = _stage(change, q)
    if k is ChangeKind.PIPELINE_ADDED:
        return _("pipeline {pipeline} added").format(pipeline=stage)
    if k is ChangeKind.PIPELINE_REMOVED:
        return _("pipeline {pipeline} removed").format(pipeline=stage)
    if k in _REKEYS:
        with_was, without_was = _REKEYS[k]
        return _(with_was if change.declared else without_was).format(
            name=q.name(change.name),
            before=q.ident(change.was),
            after=q.ident(change.subject),
            was=q.ident("was"),
        )
    if k in _RENAMES:
        return _(_RENAMES[k]).format(
            id=q.ident(change.subject),
            before=q.name(str(change.before)),
            after=q.name(str(change.after)),
        )
    if k is ChangeKind.PIPELINE_RENAMED:
        return _("pipeline renamed: {before} → {after}").format(
            before=q.name(str(change.before)), after=q.name(str(change.after))
        )
    if k is ChangeKind.STAGE_ADDED:
        if change.stage_kind == "open":
            return _("stage {stage} added to the {phase} phase").format(
                stage=stage, phase=_(_PHASES[str(change.after)])
            )
        return _("{kind} {stage} added").format(kind=_(_KINDS[change.stage_kind]), stage=stage)
    if k is ChangeKind.STAGE_REMOVED:
        if change.stage_kind == "open":
            return _("stage {stage} removed").format(stage=stage)
        return _("{kind} {stage} removed").format(kind=_(_KINDS[change.stage_kind]), stage=stage)
    if k is ChangeKind.STAGE_REORDERED:
        return _("stage {stage} moved from place {before} to place {after} in its phase").format(
            stage=stage, before=change.before, after=change.after
        )
    if k is ChangeKind.STAGE_MOVED:
        return _("stage {stage} moved from the {before} phase to the {after} phase").format(
            stage=stage, before=_(_PHASES[str(change.before)]), after=_(_PHASES[str(change.after)])
        )
    if k is ChangeKind.STAGE_KIND_CHANGED:
        return _("stage {stage} changed from {before} to {after}").format(
            stage=stage, before=_(_KINDS[str(change.before)]), after=_(_KINDS[str(change.after)])
        )
    if k is ChangeKind.STAGE_CHANGED:
        template = N_("{attribute} of stage {stage}: {before} → {after}")
        return _attribute_change(template, change.attribute, change, q, stage=stage)
    if k in (ChangeKind.EDGE_ADDED, ChangeKind.EDGE_REMOVED, ChangeKind.EDGE_CHANGED):
        edge_kind, _sep, detail = change.attribute.partition(":")
        edge = _("{kind} {source} → {target}").format(
            kind=_(_EDGES.get(edge_kind, "edge")),
            source=q.name(change.name),
            target=q.name(change.target_name),
        )
        if k is ChangeKind.EDGE_ADDED:
            return _("{edge} added").format(edge=edge)
        if k is ChangeKind.EDGE_REMOVED:
            return _("{edge} removed").format(edge=edge)
        template = N_("{attribute} of {edge}: {before} → {after}")
        return _attribute_change(template, detail, change, q, edge=edge)
    if k is ChangeKind.FIELD_ADDED:
        return _("field {field} added ({type})").format(
            field=stage, type=q.ident(str(change.after))
        )
    if k is ChangeKind.FIELD_REMOVED:
        return _("field {field} removed").format(field=stage)
    if k is ChangeKind.FIELD_CHANGED:
        template = N_("{attribute} of field {field}: {before} → {after}")
        return _attribute_change(template, change.attribute, change, q, field=stage)
    if k is ChangeKind.REASON_ADDED:
        return _("loss reason {reason} added").format(reason=stage)
    return _("loss reason {reason} removed").format(reason=stage)


_COUNTED: tuple[tuple[ChangeKind, tuple[str, str]], ...] = (
    (ChangeKind.PIPELINE_ADDED, ngettext_noop("+{count} pipeline", "+{count} pipelines")),
    (ChangeKind.PIPELINE_REMOVED, ngettext_noop("−{count} pipeline", "−{count} pipelines")),
    (ChangeKind.STAGE_ADDED, ngettext_noop("+{count} stage", "+{count} stages")),
    (ChangeKind.STAGE_REMOVED, ngettext_noop("−{count} stage", "−{count} stages")),
    (ChangeKind.STAGE_RENAMED, ngettext_noop("{count} stage renamed", "{count} stages renamed")),
    (ChangeKind.STAGE_REKEYED, ngettext_noop("{count} stage re-keyed", "{count} stages re-keyed")),
    (
        ChangeKind.STAGE_REORDERED,
        ngettext_noop("{count} stage reordered", "{count} stages reordered"),
    ),
    (
        ChangeKind.STAGE_MOVED,
        ngettext_noop("{count} stage moved between phases", "{count} stages moved between phases"),
    ),
    (
        ChangeKind.STAGE_KIND_CHANGED,
        ngettext_noop("{count} stage changed kind", "{count} stages changed kind"),
    ),
    (ChangeKind.EDGE_ADDED, ngettext_noop("+{count} edge", "+{count} edges")),
    (ChangeKind.EDGE_REMOVED, ngettext_noop("−{count} edge", "−{count} edges")),
    (ChangeKind.EDGE_CHANGED, ngettext_noop("{count} edge changed", "{count} edges changed")),
    (ChangeKind.FIELD_ADDED, ngettext_noop("+{count} field", "+{count} fields")),
    (ChangeKind.FIELD_REMOVED, ngettext_noop("−{count} field", "−{count} fields")),
    (ChangeKind.FIELD_CHANGED, ngettext_noop("{count} field changed", "{count} fields changed")),
    (ChangeKind.REASON_ADDED, ngettext_noop("+{count} loss reason", "+{count} loss reasons")),
    (ChangeKind.REASON_REMOVED, ngettext_noop("−{count} loss reason", "−{count} loss reasons")),
    (
        ChangeKind.REASON_RENAMED,
        ngettext_noop("{count} loss reason renamed", "{count} loss reasons renamed"),
    ),
    (
        ChangeKind.PIPELINE_RENAMED,
        ngettext_noop("{count} pipeline renamed", "{count} pipelines renamed"),
    ),
    (
        ChangeKind.PIPELINE_REKEYED,
        ngettext_noop("{count} pipeline re-keyed", "{count} pipelines re-keyed"),
    ),
)

SHOWN_ATTRIBUTES = 3
"""How many attribute changes the summary spells out (``SLA of «X» 14d → 10d``)."""


def summary(changes: Sequence[Change], breaking: int = 0, q: Quote = PLAIN) -> str:
    """The one-line summary: counts by kind, the first few attribute changes spelled out, and
    the number of breaking changes."""
    if not changes:
        return _("no changes")
    parts: list[str] = []
    if breaking:
        parts.append(
            ngettext("{count} breaking change", "{count} breaking changes", breaking).format(
                count=breaking
            )
        )
    by_kind: dict[ChangeKind, int] = {}
    for change in changes:
        by_kind[change.kind] = by_kind.get(change.kind, 0) + 1
    for kind, (one, many) in _COUNTED:
        if kind in by_kind:
            parts.append(ngettext(one, many, by_kind[kind]).format(count=by_kind[kind]))
    attributes = [c for c in changes if c.kind is ChangeKind.STAGE_CHANGED]
    for change in attributes[:SHOWN_ATTRIBUTES]:
        if change.attribute in ("sla", "probability", "key"):
            template = N_("{attribute} of {name} {before} → {after}")
            parts.append(
                _attribute_change(template, change.attribute, change, q, name=q.name(change.name))
            )
        else:
            parts.append(
                _("{attribute} of {name} changed").format(
                    attribute=_(_ATTRIBUTES[change.attribute]), name=q.name(change.name)
                )
            )
    rest = len(attributes) - SHOWN_ATTRIBUTES
    if rest > 0:
        parts.append(
            ngettext("{count} more stage change", "{count} more stage changes", rest).format(
                count=rest
            )
        )
    return ", ".join(parts)


__all__ = ["PLAIN", "SHOWN_ATTRIBUTES", "Quote", "describe", "summary"]
