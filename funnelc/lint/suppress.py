"""Inline suppressions: ``# funnelc: allow <rule>[, <rule>] -- <reason>``.

A suppression at the end of a line covers findings that start on that line.  A suppression on
a line of its own covers the statement that starts on the next line, all of it: written above
a stage with a ``{ … }`` body it covers the whole stage, above a pipeline the whole pipeline.
A reason is required (the reviewer of the pull request must see why the methodology is
bent); a suppression without one, one naming no known rule, and one that suppressed nothing
are reported themselves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from funnelc.model import Module, Pipeline, Project
from funnelc.source import SourceFile, Span

_PRAGMA = re.compile(r"#\s*funnelc\s*:\s*allow\b(?P<body>.*)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Suppression:
    span: Span
    """Where the comment is (for reporting it)."""
    rules: tuple[str, ...]
    """Rule codes or names as written."""
    reason: str
    covers: Span
    """The text it covers."""


def _statement_spans(module: Module, pipelines: Iterable[Pipeline]) -> list[Span]:
    """Every node a suppression may cover, as spans into ``module``'s file."""
    spans: list[Span] = []
    for pipeline in pipelines:
        if pipeline.span.path != module.path:
            continue
        spans.append(pipeline.span)
        if pipeline.lead is not None:
            spans.append(pipeline.lead.span)
        spans.extend(s.span for s in pipeline.stages)
        spans.extend(e.span for e in pipeline.edges)
        spans.extend(r.span for r in pipeline.revives)
        spans.extend(f.span for f in pipeline.fields)
        spans.extend(r.span for r in pipeline.reasons)
        if pipeline.segment is not None:
            spans.append(pipeline.segment.span)
        if pipeline.timeout is not None:
            spans.append(pipeline.timeout.span)
        if pipeline.lead is not None:
            spans.extend(t.span for t in pipeline.lead.accept)
            if pipeline.lead.definition is not None:
                spans.append(pipeline.lead.definition.span)
    return spans


def parse_suppressions(project: Project, sources: Mapping[str, SourceFile]) -> list[Suppression]:
    found: list[Suppression] = []
    for module in project.modules:
        source = sources.get(module.path)
        if source is None:
            continue
        statements = _statement_spans(module, project.pipelines)
        for comment in module.comments:
            match = _PRAGMA.search(comment.text)
            if match is None:
                continue
            body, _dashes, reason = match.group("body").partition("--")
            rules = tuple(r for r in re.split(r"[\s,]+", body.strip()) if r)
            line = source.position(comment.span.start).line
            line_start = source.offset(line, 1)
            before = source.text[line_start : comment.span.start]
            if before.strip():
                # At the end of a line: that line.
                line_end = line_start + len(source.line_text(line))
                covers = Span(source.path, line_start, line_end)
            else:
                covers = _next_statement(source, line, statements)
            found.append(Suppression(comment.span, rules, reason.strip(), covers))
    return found


def _next_statement(source: SourceFile, line: int, statements: list[Span]) -> Span:
    """The largest statement that starts on the first line after ``line`` with code on it."""
    target = line + 1
    while target <= source.line_count:
        text = source.line_text(target).strip()
        if text and not text.startswith("#"):
            break
        target += 1
    if target > source.line_count:
        return Span(source.path, len(source.text), len(source.text))
    start = source.offset(target, 1)
    end = start + len(source.line_text(target))
    best = Span(source.path, start, end)
    for span in statements:
        # By where it ends, not by its length: a statement starting late on an indented line
        # may be shorter than the line and still run past it (and re-indenting the line must
        # not change what the suppression covers).
        if start <= span.start < end and span.end > best.end:
            best = Span(source.path, start, span.end)
    return best


def covers(suppression: Suppression, span: Span) -> bool:
    return (
        span.path == suppression.covers.path
        and suppression.covers.start <= span.start <= suppression.covers.end
    )
