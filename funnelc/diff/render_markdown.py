"""``funnelc diff --format markdown``: a pull-request comment.

The comment is, in this order:

1. a heading and the one-line summary (``+2 stages, −1 edge, SLA of «Квалификация пройдена»
   14d → 10d``);
2. the breaking changes, one line each with its code;
3. per changed pipeline, a Mermaid diagram of the new version in which added stages and edges
   are green, changed ones orange, and removed ones drawn ghosted (grey, dashed) where they
   were: the old and the new pipeline merged for drawing (:func:`merged_project`);
4. the details — one line per change — in a collapsed ``<details>`` block.

GitHub refuses a comment longer than 65 536 characters, so the comment is kept within
:data:`LIMIT`: first the details are shortened from the end (with a line that says how many
were left out), then diagrams are left out from the last pipeline back; the summary and the
breaking changes are never shortened.  All text from the user's files is escaped with
``targets/markdown.py`` (names, ids) or ``targets/mermaid.py`` (labels in the diagram).
"""

from __future__ import annotations

import importlib
import re
from dataclasses import replace
from typing import TYPE_CHECKING

from funnelc.diagnostics import render_message
from funnelc.diff.describe import Quote, describe, summary
from funnelc.diff.model_diff import ChangeKind, ProjectDiff, mapped_edges
from funnelc.diff.report import Report
from funnelc.i18n import _, ngettext, using
from funnelc.model import Edge, EdgeKind, Phase, Project, Stage, StageKey, StageKind

if TYPE_CHECKING:
    from targets import markdown, mermaid
else:
    markdown = importlib.import_module("funnelc.targets.markdown")
    mermaid = importlib.import_module("funnelc.targets.mermaid")

LIMIT = 65_536
"""GitHub's limit on the length of an issue or pull-request comment, in characters."""

MARKDOWN = Quote(
    name=lambda s: f"\u00ab{markdown.inline(s)}\u00bb",
    ident=lambda s: markdown.code(s),
    text=lambda s: f"\u00ab{markdown.inline(s)}\u00bb",
)


_LINK = re.compile(r"^  \S+ (?:-->|==>|-\.->)", re.M)
"""An edge statement of :func:`funnelc.targets.mermaid.flowchart` (two spaces, a node id, an
arrow): what Mermaid counts for ``maxEdges``."""
_CODE = re.compile(r"`([^`\n]*)`")


def message_markdown(text: str) -> str:
    """A diagnostic message in Markdown: its `` `code` `` parts as code spans, the rest escaped
    (spaces between them kept as they are, inside the line)."""
    out: list[str] = []
    for index, part in enumerate(_CODE.split(text)):
        if index % 2:
            out.append(markdown.code(part))
            continue
        core = part.strip(" ")
        if not core:
            out.append(part)
            continue
        start = part.index(core)
        out.append(part[:start] + markdown.inline(core) + part[start + len(core) :])
    return "".join(out)


def merged_project(
    diff: ProjectDiff, pid: str
) -> tuple[Project, dict[StageKey, str], dict[mermaid.EdgeKey, str]]:
    """A project whose pipeline ``pid`` is the new one with the removed stages and edges put
    back, and the diff classes of its stages and edges (``added``, ``changed``, ``removed``)."""
    new = diff.new
    pipeline = new.pipeline(pid)
    assert pipeline is not None
    match = diff.matches.get(pid)
    nodes: dict[StageKey, str] = {}
    edges: dict[mermaid.EdgeKey, str] = {}
    if match is None:  # an added pipeline: everything is new
        for stage in pipeline.stages:
            nodes[StageKey(pid, stage.id.name)] = "added"
        for e in new.edges_of(pid):
            edges[mermaid.edge_key(e)] = "added"
        _phase_edges(pid, pipeline.stages, nodes, edges)
        return new, nodes, edges
    merged = replace(pipeline, stages=match.merged)
    old_edges = [e for e in mapped_edges(diff.old, diff.renames) if e.source.pipeline == pid]
    now: dict[tuple[EdgeKind, StageKey, StageKey], Edge] = {}
    for e in new.edges_of(pid):
        now.setdefault((e.kind, e.source, e.target), e)
    then: dict[tuple[EdgeKind, StageKey, StageKey], Edge] = {}
    for e in old_edges:
        then.setdefault((e.kind, e.source, e.target), e)
    present = {StageKey(pid, s.id.name) for s in match.merged}
    extra: list[Edge] = []
    for key, e in then.items():
        if key in now:
            continue
        if e.target.pipeline == pid and e.target not in present:
            continue
        extra.append(e)
        edges[mermaid.edge_key(e)] = "removed"
    for key, e in now.items():
        if key not in then:
            edges[mermaid.edge_key(e)] = "added"
        elif _details(e) != _details(then[key]) and e.kind in (
            EdgeKind.EXPLICIT,
            EdgeKind.REVIVE,
        ):
            edges[mermaid.edge_key(e)] = "changed"
    for sid in match.added:
        nodes[StageKey(pid, sid)] = "added"
    for sid in match.removed:
        nodes[StageKey(pid, sid)] = "removed"
    for sid in match.changed:
        nodes[StageKey(pid, sid)] = "changed"
    _phase_edges(pid, match.merged, nodes, edges)
    project = Project(
        modules=new.modules,
        pipelines=tuple(merged if p.id.name == pid else p for p in new.pipelines),
        edges=(*new.edges, *extra),
        sources=new.sources,
    )
    return project, nodes, edges


def _details(e: Edge) -> tuple[str | None, str | None]:
    """What a drawn edge shows besides its ends (a Duration compares by its span too)."""
    return e.label, str(e.delay) if e.delay is not None else None


def _phase_edges(
    pid: str,
    stages: tuple[Stage, ...],
    nodes: dict[StageKey, str],
    edges: dict[mermaid.EdgeKey, str],
) -> None:
    """The summary edges (any stage → a lost outcome, timeouts into the default target) take
    the class of the outcome they lead to."""
    for stage in stages:
        key = StageKey(pid, stage.id.name)
        cls = nodes.get(key)
        if cls not in ("added", "removed") or stage.kind is not StageKind.LOST:
            continue
        for phase in (Phase.LEAD, Phase.DEAL):
            for kind in (EdgeKind.LOSE, EdgeKind.TIMEOUT):
                edges[(kind.value, mermaid.phase_key(pid, phase), key)] = cls


def _diagram(report: Report, pid: str) -> str:
    project, nodes, edges = merged_project(report.diff, pid)
    pipeline = project.pipeline(pid)
    assert pipeline is not None
    chart = mermaid.flowchart(
        project,
        pipeline,
        language=report.language,
        node_classes=nodes,
        edge_classes=edges,
        class_defs=mermaid.DIFF_CLASS_DEFS,
        link_styles=mermaid.DIFF_LINK_STYLES,
    )
    if (
        mermaid.text_size(chart) > mermaid.MAX_TEXT_SIZE
        or len(_LINK.findall(chart)) > mermaid.MAX_EDGES
    ):
        return markdown.inline(_("The diagram is too large for Mermaid and is left out."))
    return "```mermaid\n" + chart + "```"


def render(report: Report, lang: str = "en", limit: int = LIMIT) -> str:
    """The comment in ``lang``, at most ``limit`` characters (unless the summary and the
    breaking changes alone are longer)."""
    with using(lang):
        return _render(report, lang, limit)


def _render(report: Report, lang: str, limit: int) -> str:
    head = [
        "### " + markdown.inline(_("Funnel changes")),
        "",
        markdown.inline(_("{old} → {new}").format(old=report.old_label, new=report.new_label)),
        "",
        "**" + summary(report.changes, report.unallowed, MARKDOWN) + "**",
    ]
    if report.breaking:
        head += ["", "#### " + markdown.inline(_("Breaking changes")), ""]
        for d in report.breaking:
            word = _("error") if d.is_error else _("allowed")
            head.append(
                f"- **{d.code}** ({markdown.inline(word)}): "
                + message_markdown(render_message(d, lang))
            )
    diagrams: list[list[str]] = []
    details: list[str] = []
    for pid, changes in report.by_pipeline():
        title = f"#### {markdown.inline(report.pipeline_name(pid))} {markdown.code(pid)}"
        if changes[0].kind is ChangeKind.PIPELINE_REMOVED:
            diagrams.append(["", title, "", markdown.inline(_("The pipeline was removed."))])
        else:
            diagrams.append(["", title, "", _diagram(report, pid)])
        details.append("")
        details.append(f"**{markdown.inline(report.pipeline_name(pid))}** {markdown.code(pid)}")
        details.append("")
        for change in changes:
            details.append("- " + describe(change, MARKDOWN))
    if not report.changes:
        return "\n".join(head) + "\n"

    def assemble(shown_details: int, shown_diagrams: int) -> str:
        body = list(head)
        for block in diagrams[:shown_diagrams]:
            body += block
        left_out = len(diagrams) - shown_diagrams
        if left_out:
            body += [
                "",
                markdown.inline(
                    ngettext(
                        "{count} more diagram left out to keep the comment short",
                        "{count} more diagrams left out to keep the comment short",
                        left_out,
                    ).format(count=left_out)
                ),
            ]
        count = len(report.changes)
        body += [
            "",
            "<details><summary>"
            + markdown.inline(
                ngettext("Details: {count} change", "Details: {count} changes", count).format(
                    count=count
                )
            )
            + "</summary>",
        ]
        body += details[:shown_details]
        hidden = sum(1 for line in details[shown_details:] if line.startswith("- "))
        if hidden:
            body += [
                "",
                "- "
                + markdown.inline(
                    ngettext(
                        "… and {count} more change: run `funnelc diff` to see all",
                        "… and {count} more changes: run `funnelc diff` to see all",
                        hidden,
                    ).format(count=hidden)
                ),
            ]
        body += ["", "</details>"]
        return "\n".join(body) + "\n"

    # Shorten the details first (the longest prefix that fits, by binary search), then leave
    # out diagrams from the last pipeline back; never the head.
    text = assemble(len(details), len(diagrams))
    for shown_diagrams in range(len(diagrams), -1, -1):
        if len(assemble(0, shown_diagrams)) > limit and shown_diagrams:
            continue
        low, high = 0, len(details)
        while low < high:
            middle = (low + high + 1) // 2
            if len(assemble(middle, shown_diagrams)) <= limit:
                low = middle
            else:
                high = middle - 1
        text = assemble(low, shown_diagrams)
        break
    return text


__all__ = ["LIMIT", "MARKDOWN", "merged_project", "message_markdown", "render"]
