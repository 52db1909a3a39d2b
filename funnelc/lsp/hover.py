"""Hover: what an id names (a pipeline, a stage or outcome, a field, a loss reason) and, in a
suppression comment, what a rule is about.  Pure: a build and an offset in, Markdown out."""

from __future__ import annotations

import re

from funnelc.i18n import _
from funnelc.lsp.analysis import Build, Declared
from funnelc.model import Field, LossReason, Pipeline, Stage, StageKind
from funnelc.source import Span

_PRAGMA = re.compile(r"#\s*funnelc\s*:\s*allow\b", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z0-9_-]+")


def hover(build: Build, path: str, offset: int) -> tuple[str, Span] | None:
    """Markdown for what is under ``offset`` in ``path`` and the span it is about."""
    source = build.sources.get(path)
    if source is None:
        return None
    rule = rule_at(source.text, offset)
    if rule is not None:
        text, start, end = rule
        return text, Span(path, start, end)
    found = build.index.at(path, offset)
    if found is None:
        return None
    declared = build.index.declared.get(found.key)
    if declared is None:
        return None
    return describe(build, declared), found.span


def rule_at(text: str, offset: int) -> tuple[str, int, int] | None:
    """The explanation of the rule named under ``offset`` in a ``# funnelc: allow`` comment."""
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    line_end = len(text) if line_end == -1 else line_end
    line = text[line_start:line_end]
    pragma = _PRAGMA.search(line)
    if pragma is None or line_start + pragma.end() > offset:
        return None
    body_end = line.find("--", pragma.end())
    if body_end != -1 and line_start + body_end <= offset:
        return None  # in the reason
    for word in _WORD.finditer(line, pragma.end()):
        if word.start() + line_start <= offset <= word.end() + line_start:
            from funnelc.lint.docs import explain_rule
            from funnelc.lint.engine import find_rule

            rule = find_rule(word.group())
            if rule is None:
                return None
            return explain_rule(rule), line_start + word.start(), line_start + word.end()
    return None


def _title(kind: str, ident: str, name: str) -> str:
    return f"**{kind}** `{ident}` — {name}"


def describe(build: Build, declared: Declared) -> str:
    entity = declared.entity
    lines: list[str]
    if isinstance(entity, Pipeline):
        lines = [_title(_("pipeline"), entity.id.name, entity.name.value)]
        if entity.segment is not None:
            lines.append(f"segment: {entity.segment.value}")
        stages = [s for s in entity.stages if s.is_open]
        lines.append(f"{_('stages')}: {len(stages)}")
        return "\n\n".join(lines)
    if isinstance(entity, Stage):
        return _stage(build, entity, declared.pipeline)
    if isinstance(entity, Field):
        lines = [_title(_("field"), entity.id.name, entity.name.value)]
        kind = entity.type.kind
        if entity.type.options:
            kind += " (" + ", ".join(entity.type.options) + ")"
        lines.append(f"`{kind}`")
        return "\n\n".join(lines)
    assert isinstance(entity, LossReason)
    return _title(_("loss reason"), entity.id.name, entity.name.value)


def _stage(build: Build, stage: Stage, pipeline: Pipeline | None) -> str:
    kind = {
        StageKind.OPEN: _("stage"),
        StageKind.WON: _("won outcome"),
        StageKind.LOST: _("lost outcome"),
    }[stage.kind]
    owner = f" ({pipeline.id.name}, {stage.phase.value})" if pipeline is not None else ""
    lines = [_title(kind, stage.id.name, stage.name.value) + owner]
    if stage.key:
        lines.append("key")
    if stage.goal is not None:
        lines.append(f"goal: {stage.goal.value}")
    lines.extend(f"exit: {e.value}" for e in stage.exits)
    if stage.requires:
        lines.append("requires: " + ", ".join(f"`{r.name}`" for r in stage.requires))
    if stage.sla is not None:
        lines.append(f"sla: {stage.sla}")
    if stage.probability is not None:
        lines.append(f"probability: {stage.probability}%")
    if stage.reasons:
        lines.append("reasons: " + ", ".join(f"`{r.name}`" for r in stage.reasons))
    leads = _leads_to(build, stage, pipeline)
    if leads:
        lines.append(f"{_('leads to')}: " + ", ".join(leads))
    return "\n\n".join(lines)


def _leads_to(build: Build, stage: Stage, pipeline: Pipeline | None) -> list[str]:
    """Where a deal goes from ``stage``: the resolved edges (with their kinds) when the build
    resolved, else what the stage itself says."""
    if pipeline is None:
        return []
    if build.project is not None:
        shown: list[str] = []
        for edge in build.project.edges_of(pipeline.id.name):
            if edge.source.pipeline == pipeline.id.name and edge.source.stage == stage.id.name:
                target = (
                    edge.target.stage
                    if edge.target.pipeline == pipeline.id.name
                    else str(edge.target)
                )
                item = f"`{target}` ({edge.kind.value})"
                if item not in shown:
                    shown.append(item)
        return shown
    refs = [r for r in (stage.then, stage.next, stage.timeout) if r is not None]
    return [f"`{r}`" for r in refs]
