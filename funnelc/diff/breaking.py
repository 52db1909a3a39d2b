"""Breaking changes: the changes of a diff that would hurt a live CRM, as diagnostics F950–F979.

=====  ===================================  ==============================================
code   name                                 when
=====  ===================================  ==============================================
F950   breaking-stage-removed               an open stage removed
F951   breaking-pipeline-removed            a pipeline removed
F952   breaking-rekeyed-without-was         a stage re-keyed with no ``was`` (matched by name)
F953   breaking-stage-moved-phase           a stage moved between lead and deal
F954   breaking-outcome-removed             a won or lost outcome removed
F955   breaking-required-field-removed      a field removed that a stage required (old version)
F956   breaking-bitrix24-semantics          Bitrix24 target: a stage's SEMANTICS changes
F957   breaking-bitrix24-status-id          Bitrix24 target: a stage's STATUS_ID changes
F958   breaking-pipeline-rekeyed-without-was  a pipeline re-keyed with no ``was`` (by name)
=====  ===================================  ==============================================

F956 and F957 are checked only when the build has the ``bitrix24`` target; the STATUS_IDs are
those the target itself derives (its ``status-ids`` option included), old and new.

A diagnostic points at the new version where the thing still exists, and says where the old
version had it otherwise.  ``[breaking] allow = ["F951", "breaking-stage-removed"]`` in the
config turns those codes into warnings that do not fail the run.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from funnelc import codes
from funnelc.diagnostics import Diagnostic, Severity
from funnelc.diff.codes import BREAKING_CODES
from funnelc.diff.model_diff import Change, ChangeKind, ProjectDiff
from funnelc.i18n import _, lazy
from funnelc.model import Project, StageKind
from funnelc.source import Span

_NAMES = {c.name: c.code for c in BREAKING_CODES}
_CODES = {c.code for c in BREAKING_CODES}


@dataclass(frozen=True, slots=True)
class BreakingConfig:
    """``[breaking]`` of the project config: the codes allowed (never failing the run)."""

    allow: frozenset[str] = frozenset()


def config_from_table(table: Mapping[str, object], where: str) -> tuple[BreakingConfig, list[str]]:
    """The ``[breaking]`` table checked: ``allow`` is a list of codes (``F950``) or names
    (``breaking-stage-removed``).  Returns the problems as messages for F604."""
    problems: list[str] = []
    allow: set[str] = set()
    for key in table:
        if key != "allow":
            problems.append(_("unknown key `{key}` in `[breaking]`").format(key=key))
    raw = table.get("allow", [])
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        problems.append(_("`[breaking] allow` must be a list of codes"))
        raw = []
    for value in raw:
        assert isinstance(value, str)
        code = value.upper() if value.upper() in _CODES else _NAMES.get(value.lower())
        if code is None:
            problems.append(
                _("`[breaking] allow`: `{value}` is not a breaking-change code (F950–F958)").format(
                    value=value
                )
            )
        else:
            allow.add(code)
    del where
    return BreakingConfig(frozenset(allow)), problems


def _where(project: Project, span: Span) -> str:
    source = project.sources.get(span.path)
    if source is None:
        return span.path
    return f"{source.path}:{source.position(span.start).line}"


def _old_note(project: Project, span: Span) -> str:
    return _("it was at {where} in the old version").format(where=_where(project, span))


def _phase_word(value: object) -> str:
    return _("lead") if value == "lead" else _("deal")


_SEMANTICS = {"": "in progress", "S": "success", "F": "failure"}


def _semantics(value: str) -> str:
    """A SEMANTICS value with its meaning: ``S (success)``."""
    return lazy("{code} ({meaning})", code=value or "-", meaning=lazy(_SEMANTICS.get(value, value)))


def _bitrix24_places(
    project: Project, options: Mapping[str, Mapping[str, object]]
) -> dict[tuple[str, str], tuple[str, str]] | None:
    """(pipeline, stage) → (STATUS_ID without its category prefix, SEMANTICS) as the
    ``bitrix24`` target maps them; ``None`` if the target refuses the build."""
    from funnelc.emit import EmitOptions

    if TYPE_CHECKING:
        from targets import bitrix24
    else:
        bitrix24 = importlib.import_module("funnelc.targets.bitrix24")

    try:
        analysis = bitrix24.analyse(project, EmitOptions(target_options=options))
    except Exception:  # a target that cannot map an old version: the check is skipped
        return None
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for pid, plan in analysis.plans.items():
        for sid, (_directory, b) in plan.places.items():
            out[(pid, sid)] = (b.code, b.semantics)
    return out


def breaking_changes(
    diff: ProjectDiff,
    *,
    targets: Sequence[str] = (),
    target_options: Mapping[str, Mapping[str, object]] | None = None,
    old_target_options: Mapping[str, Mapping[str, object]] | None = None,
    config: BreakingConfig | None = None,
) -> list[Diagnostic]:
    """The breaking changes of ``diff``, errors unless ``config`` allows them (warnings then),
    in the order of the changes."""
    config = config or BreakingConfig()
    old, new = diff.old, diff.new
    out: list[Diagnostic] = []

    def new_span(change: Change) -> Span | None:
        pipeline = new.pipeline(change.pipeline)
        stage = pipeline.stage(change.subject) if pipeline is not None else None
        return stage.id.span if stage is not None else None

    for change in diff.changes:
        if change.kind is ChangeKind.PIPELINE_REMOVED:
            gone = old.pipeline(change.pipeline)
            assert gone is not None
            out.append(
                codes.make(
                    "F951",
                    None,
                    notes=[_old_note(old, gone.id.span)],
                    pipeline=change.pipeline,
                )
            )
        elif change.kind is ChangeKind.STAGE_REMOVED:
            gone_pipeline = diff.old_pipeline(change.pipeline)
            stage = gone_pipeline.stage(change.subject) if gone_pipeline is not None else None
            notes = [_old_note(old, stage.id.span)] if stage is not None else []
            if change.stage_kind == StageKind.OPEN.value:
                out.append(
                    codes.make(
                        "F950", None, notes=notes, stage=change.subject, pipeline=change.pipeline
                    )
                )
            else:
                outcome = (
                    lazy("won outcome") if change.stage_kind == "won" else lazy("lost outcome")
                )
                out.append(
                    codes.make(
                        "F954",
                        None,
                        notes=notes,
                        outcome=outcome,
                        stage=change.subject,
                        pipeline=change.pipeline,
                    )
                )
        elif change.kind is ChangeKind.PIPELINE_REKEYED and not change.declared:
            pipeline = new.pipeline(change.pipeline)
            out.append(
                codes.make(
                    "F958",
                    pipeline.id.span if pipeline is not None else None,
                    old=change.was,
                    new=change.subject,
                )
            )
        elif change.kind is ChangeKind.STAGE_REKEYED and not change.declared:
            out.append(
                codes.make(
                    "F952",
                    new_span(change),
                    old=change.was,
                    new=change.subject,
                    pipeline=change.pipeline,
                )
            )
        elif change.kind is ChangeKind.STAGE_MOVED:
            out.append(
                codes.make(
                    "F953",
                    new_span(change),
                    stage=change.subject,
                    pipeline=change.pipeline,
                    before=_phase_word(change.before),
                    after=_phase_word(change.after),
                )
            )
        elif change.kind is ChangeKind.FIELD_REMOVED:
            out.extend(_required_field(diff, change))
    if "bitrix24" in targets:
        out.extend(_bitrix24(diff, target_options or {}, old_target_options))
    return [_allowed(d) if d.code in config.allow else d for d in out]


def _required_field(diff: ProjectDiff, change: Change) -> Iterable[Diagnostic]:
    old = diff.old
    pipeline = diff.old_pipeline(change.pipeline)
    if pipeline is None:
        return []
    for stage in pipeline.stages:
        for ref in stage.requires:
            if ref.name == change.subject and ref.pipeline is None:
                return [
                    codes.make(
                        "F955",
                        None,
                        notes=[_old_note(old, ref.span)],
                        field=change.subject,
                        pipeline=change.pipeline,
                        stage=stage.id.name,
                    )
                ]
    return []


def _bitrix24(
    diff: ProjectDiff,
    options: Mapping[str, Mapping[str, object]],
    old_options: Mapping[str, Mapping[str, object]] | None,
) -> list[Diagnostic]:
    before = _bitrix24_places(diff.old, old_options if old_options is not None else options)
    after = _bitrix24_places(diff.new, options)
    if before is None or after is None:
        return []
    out: list[Diagnostic] = []
    for pid, match in diff.matches.items():
        pipeline = diff.new.pipeline(pid)
        assert pipeline is not None
        back = {new: old for old, new in match.rekeyed.items()}
        for stage in pipeline.stages:
            sid = stage.id.name
            if sid in match.added:
                continue
            was = back.get(sid, sid)
            then, now = before.get((match.old_pipeline, was)), after.get((pid, sid))
            if then is None or now is None:
                continue
            if then[1] != now[1]:
                out.append(
                    codes.make(
                        "F956",
                        stage.id.span,
                        stage=sid,
                        pipeline=pid,
                        before=_semantics(then[1]),
                        after=_semantics(now[1]),
                    )
                )
            if then[0] != now[0]:
                out.append(
                    codes.make(
                        "F957", stage.id.span, stage=sid, pipeline=pid, before=then[0], after=now[0]
                    )
                )
    return out


def _allowed(diagnostic: Diagnostic) -> Diagnostic:
    note = _("allowed by `[breaking] allow` in the project config")
    return replace(diagnostic, severity=Severity.WARNING, notes=(*diagnostic.notes, note))


def fails(diagnostics: Iterable[Diagnostic]) -> bool:
    """Whether an unallowed breaking change is among ``diagnostics`` (exit code 1)."""
    return any(d.is_error for d in diagnostics)


__all__ = ["BreakingConfig", "breaking_changes", "config_from_table", "fails"]
