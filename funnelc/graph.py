"""The stage graph as networkx graphs, for validation and for people who script around funnelc.

One :class:`networkx.DiGraph` per pipeline, whose nodes are the pipeline's
:class:`~funnelc.model.StageKey` s and whose edges carry the set of edge kinds between two
stages (a stage can both ``lose`` and ``timeout`` into the pit, so one graph edge may stand for
several typed edges), and one graph of the whole project with the cross-pipeline edges too.
networkx is imported here and nowhere on the parse path, because importing it costs more than
parsing a typical file.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING

from funnelc.model import Edge, EdgeKind, Pipeline, Project, StageKey

if TYPE_CHECKING:
    import networkx as nx

FORWARD_KINDS: frozenset[EdgeKind] = frozenset(
    {EdgeKind.ADVANCE, EdgeKind.HANDOFF, EdgeKind.WIN, EdgeKind.EXPLICIT}
)
"""The moves that take a deal towards a result; reachability is judged over these."""


def _add(graph: nx.DiGraph, edges: Iterable[Edge]) -> None:
    for edge in edges:
        if graph.has_edge(edge.source, edge.target):
            data = graph.edges[edge.source, edge.target]
            data["kinds"] = data["kinds"] | {edge.kind}
            data["edges"] = (*data["edges"], edge)
        else:
            graph.add_edge(edge.source, edge.target, kinds=frozenset({edge.kind}), edges=(edge,))


def pipeline_graph(project: Project, pipeline: Pipeline) -> nx.DiGraph:
    """The graph of one pipeline: its stages and the edges between them."""
    import networkx as nx

    graph = nx.DiGraph(pipeline=pipeline.id.name)
    pid = pipeline.id.name
    for stage in pipeline.stages:
        graph.add_node(StageKey(pid, stage.id.name), stage=stage)
    _add(
        graph,
        (e for e in project.edges_of(pid) if e.source.pipeline == pid and e.target.pipeline == pid),
    )
    return graph


def project_graph(project: Project) -> nx.DiGraph:
    """The graph of the whole build, cross-pipeline ``next`` and ``revive`` edges included."""
    import networkx as nx

    graph = nx.DiGraph()
    for pipeline in project.pipelines:
        for stage in pipeline.stages:
            graph.add_node(StageKey(pipeline.id.name, stage.id.name), stage=stage)
    _add(graph, project.edges)
    return graph


def forward_graph(project: Project, pipeline: Pipeline) -> nx.DiGraph:
    """The pipeline's stages with only the forward moves between them (no edge data): the
    graph reachability is judged on, built directly because it is built for every check."""
    import networkx as nx

    pid = pipeline.id.name
    graph = nx.DiGraph()
    graph.add_nodes_from(StageKey(pid, s.id.name) for s in pipeline.stages)
    graph.add_edges_from(
        (e.source, e.target)
        for e in project.edges_of(pid)
        if e.source.pipeline == pid and e.target.pipeline == pid and e.kind in FORWARD_KINDS
    )
    return graph


def restricted(graph: nx.DiGraph, kinds: Collection[EdgeKind]) -> nx.DiGraph:
    """A copy of ``graph`` (all nodes) keeping only the edges that have one of ``kinds``.

    A plain copy rather than ``nx.subgraph_view``: the view calls its filter on every edge
    visit, which made validation of a 10 000-stage pipeline several times slower.
    """
    import networkx as nx

    wanted = frozenset(kinds)
    kept = nx.DiGraph(graph.graph)
    kept.add_nodes_from(graph.nodes(data=True))
    kept.add_edges_from(
        (u, v, data) for u, v, data in graph.edges(data=True) if data["kinds"] & wanted
    )
    return kept


__all__ = [
    "FORWARD_KINDS",
    "StageKey",
    "forward_graph",
    "pipeline_graph",
    "project_graph",
    "restricted",
]
