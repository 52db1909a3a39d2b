"""Pass 4, validate: graph-wide checks on a resolved project, with networkx.

``resolve`` has already checked every name and the local shape of each pipeline; what is left
needs the whole graph: every open stage must be reachable from the pipeline's entry, and from
every open stage some won outcome must be reachable, both over the forward moves (advance,
handoff, win, explicit edges).  Timeouts, losses and revivals do not count: a stage reachable
only by failing is a stage no deal is meant to reach.
"""

from __future__ import annotations

from funnelc import codes
from funnelc.diagnostics import Diagnostic
from funnelc.graph import forward_graph
from funnelc.i18n import _
from funnelc.model import Pipeline, Project, StageKey, StageKind


def validate_pipeline(project: Project, pipeline: Pipeline) -> list[Diagnostic]:
    import networkx as nx

    diagnostics: list[Diagnostic] = []
    entry = pipeline.entry
    if entry is None:
        return diagnostics
    pid = pipeline.id.name
    forward = forward_graph(project, pipeline)
    reachable = nx.descendants(forward, StageKey(pid, entry.id.name)) | {
        StageKey(pid, entry.id.name)
    }
    won = {StageKey(pid, s.id.name) for s in pipeline.stages if s.kind is StageKind.WON}
    # Stages that can reach a won outcome: everything with a path into the won set.
    reverse = forward.reverse(copy=False)
    winning: set[StageKey] = set(won)
    for target in won:
        winning |= nx.descendants(reverse, target)
    for stage in pipeline.open_stages:
        node = StageKey(pid, stage.id.name)
        if node not in reachable:
            skipped_by = [
                s.id.name
                for s in pipeline.open_stages
                if s.then is not None and StageKey(pid, s.id.name) in reachable
            ]
            hint = (
                _(
                    "`then` on {stages} skips it; add an explicit edge into it or remove the stage"
                ).format(stages=", ".join(f"`{n}`" for n in skipped_by))
                if skipped_by
                else _("add an edge into it or remove the stage")
            )
            diagnostics.append(
                codes.make(
                    "F301", stage.id.span, stage=stage.id.name, entry=entry.id.name, hint=hint
                )
            )
        elif won and node not in winning:
            diagnostics.append(codes.make("F302", stage.id.span, stage=stage.id.name))
    return diagnostics


def validate(project: Project) -> list[Diagnostic]:
    """Check every pipeline of the project."""
    diagnostics: list[Diagnostic] = []
    for pipeline in project.pipelines:
        diagnostics.extend(validate_pipeline(project, pipeline))
    return diagnostics
