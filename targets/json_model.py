"""The ``json`` target: the compiled model of one pipeline as a JSON document.

This is the output other tools build on (CRM import scripts, dashboards, reviews in a pull
request), so it is stable: it is described by ``funnel-model.schema.json`` next to this module
(``$id`` :data:`funnelc.schema.SCHEMA_ID`), and every incompatible change bumps
``format_version``.  ``docs/targets/json.md`` documents it field by field.

Key order is chosen, not sorted: a document reads from the top like the ``.funnel`` file it came
from (identity, then declarations, then stages in source order, then edges), and every object
starts with its ``id`` and ends with its ``source``.  Lists keep source order, which is
meaningful (stage order *is* the funnel).  Nothing in a document depends on the time, the
machine or the funnelc release, so the same input always gives the same bytes.

Positions (``source.line`` / ``source.column``) are computed from the texts the project keeps
(:attr:`~funnelc.model.Project.sources`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from funnelc.diagnostics import Diagnostic
from funnelc.emit import NO_CAPABILITIES, Capabilities, EmitOptions, Emitted, Target
from funnelc.model import (
    Duration,
    Edge,
    Field,
    LeadPhase,
    LossReason,
    Pipeline,
    Project,
    Stage,
    StageKey,
    StageKind,
)
from funnelc.schema import FORMAT_VERSION, SCHEMA_ID
from funnelc.source import SourceFile, Span, output_path

Document = dict[str, Any]


class _Locator:
    """Turns spans into ``{file, line, column}``."""

    def __init__(self, sources: Mapping[str, SourceFile]) -> None:
        self._sources = sources

    def __call__(self, span: Span) -> dict[str, Any]:
        position = self._sources[span.path].position(span.start)
        # The path within the project, so the output is the same from any directory and OS.
        return {
            "file": output_path(self._sources, span.path),
            "line": position.line,
            "column": position.column,
        }


def _duration(duration: Duration | None) -> dict[str, Any] | None:
    if duration is None:
        return None
    return {
        "value": duration.value,
        "unit": duration.unit.value,
        "iso8601": duration.iso8601,
        "text": str(duration),
    }


def _lead(lead: LeadPhase | None, locate: _Locator) -> dict[str, Any] | None:
    if lead is None:
        return None
    return {
        "definition": lead.definition.value if lead.definition else None,
        "accept": [t.value for t in lead.accept],
        "source": locate(lead.span),
    }


def _field(field: Field, locate: _Locator) -> dict[str, Any]:
    return {
        "id": field.id.name,
        "name": field.name.value,
        "type": field.type.kind,
        "options": list(field.type.options),
        "source": locate(field.span),
    }


def _reason(reason: LossReason, locate: _Locator) -> dict[str, Any]:
    return {"id": reason.id.name, "name": reason.name.value, "source": locate(reason.span)}


def _timeout(pipeline: Pipeline, stage: Stage) -> str | None:
    """Where the stage's SLA sends a stuck deal: its own ``timeout ->`` or the pipeline's.

    Only stages with an SLA time out; a ``timeout ->`` on a stage without one has no effect,
    so it is not shown as if it had.
    """
    if stage.sla is None:
        return None
    ref = stage.timeout or pipeline.timeout
    return ref.name if ref is not None else None


def _stage(pipeline: Pipeline, stage: Stage, order: int, locate: _Locator) -> dict[str, Any]:
    return {
        "id": stage.id.name,
        "name": stage.name.value,
        "phase": stage.phase.value,
        "kind": stage.kind.value,
        "order": order,
        "key": stage.key,
        "goal": stage.goal.value if stage.goal else None,
        "exits": [t.value for t in stage.exits],
        "requires": [r.name for r in stage.requires],
        "sla": _duration(stage.sla),
        "probability": stage.probability,
        "tasks": [t.value for t in stage.tasks],
        "color": stage.color.value if stage.color else None,
        "timeout": _timeout(pipeline, stage),
        "loss_reasons": [r.name for r in stage.reasons] if stage.kind is StageKind.LOST else [],
        "source": locate(stage.span),
    }


def _stage_key(key: StageKey) -> dict[str, Any]:
    return {"pipeline": key.pipeline, "stage": key.stage}


def _edge(edge: Edge) -> dict[str, Any]:
    return {
        "kind": edge.kind.value,
        "from": _stage_key(edge.source),
        "to": _stage_key(edge.target),
        "label": edge.label,
        "delay": _duration(edge.delay),
        "sla": _duration(edge.sla),
        "criteria": list(edge.criteria),
    }


def document(project: Project, pipeline: Pipeline) -> Document:
    """The model of ``pipeline`` as JSON-ready data (see the module docstring for the order)."""
    locate = _Locator(project.sources)
    return {
        "$schema": SCHEMA_ID,
        "format_version": FORMAT_VERSION,
        "id": pipeline.id.name,
        "name": pipeline.name.value,
        "segment": pipeline.segment.value if pipeline.segment else None,
        "source": locate(pipeline.span),
        "lead": _lead(pipeline.lead, locate),
        "fields": [_field(f, locate) for f in pipeline.fields],
        "loss_reasons": [_reason(r, locate) for r in pipeline.reasons],
        "stages": [_stage(pipeline, s, i, locate) for i, s in enumerate(pipeline.stages)],
        "edges": [_edge(e) for e in project.edges_of(pipeline.id.name)],
    }


def dumps(doc: Document) -> bytes:
    """The bytes of a document: UTF-8 with Cyrillic unescaped, two-space indent, final LF."""
    return (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=False) + "\n").encode("utf-8")


@dataclass(frozen=True, slots=True)
class JsonModelTarget:
    """The ``json`` target (see the module docstring)."""

    name: str = "json"
    description: str = "the compiled model of each pipeline as JSON, described by a JSON Schema"

    capabilities: ClassVar[Capabilities] = NO_CAPABILITIES

    def check(self, project: Project, options: EmitOptions) -> list[Diagnostic]:
        return []

    def emit(self, project: Project, pipeline: Pipeline, options: EmitOptions) -> Emitted:
        """``<pipeline id>.json``; with ``options.validate_output`` the document is checked
        against the schema first, and a mismatch raises: it is a bug in funnelc, not in the
        user's input."""
        doc = document(project, pipeline)
        if options.validate_output:
            from funnelc.schema import validate_document

            errors = validate_document(doc)
            if errors:
                raise AssertionError(
                    f"the json document of pipeline `{pipeline.id.name}` does not match its"
                    " schema (a bug in funnelc):\n" + "\n".join(errors)
                )
        return Emitted(files={f"{pipeline.id.name}.json": dumps(doc)})


TARGET = JsonModelTarget()

if TYPE_CHECKING:
    # mypy checks here that the target keeps to the contract of ``funnelc.emit``.
    _CONFORMS: Target = TARGET
