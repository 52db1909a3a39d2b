"""Document symbols (pipelines → phases → stages, with fields and loss reasons) and folding
ranges, from the declared modules of a build.  Pure: spans out."""

from __future__ import annotations

from dataclasses import dataclass

from funnelc.lsp.analysis import Build
from funnelc.model import Phase, Pipeline, StageKind
from funnelc.source import SourceFile, Span


@dataclass(frozen=True, slots=True)
class Symbol:
    name: str
    detail: str
    kind: str
    """``pipeline``, ``phase``, ``stage``, ``outcome``, ``field`` or ``reason``."""
    span: Span
    selection: Span
    children: tuple[Symbol, ...] = ()


def _phase_span(pipeline: Pipeline, phase: Phase, source: SourceFile | None) -> Span | None:
    """The span of ``lead { … }`` or ``deal { … }``: the lead block's own, else from the
    keyword before its first stage to the brace after its last."""
    if phase is Phase.LEAD and pipeline.lead is not None:
        return pipeline.lead.span
    stages = [s for s in pipeline.stages if s.phase is phase]
    if not stages:
        return None
    start, end = stages[0].span.start, stages[-1].span.end
    if source is not None:
        keyword = source.text.rfind(phase.value, pipeline.span.start, start)
        if keyword != -1:
            start = keyword
        closing = source.text.find("}", end, pipeline.span.end)
        if closing != -1:
            end = closing + 1
    return Span(stages[0].span.path, start, end)


def document_symbols(build: Build, path: str) -> list[Symbol]:
    source = build.sources.get(path)
    symbols: list[Symbol] = []
    for module in build.modules:
        if module.path != path:
            continue
        for f in module.fields:
            symbols.append(Symbol(f.id.name, f.name.value, "field", f.span, f.id.span))
        for r in module.reasons:
            symbols.append(Symbol(r.id.name, r.name.value, "reason", r.span, r.id.span))
        for p in module.pipelines:
            children: list[Symbol] = []
            children.extend(
                Symbol(f.id.name, f.name.value, "field", f.span, f.id.span) for f in p.fields
            )
            children.extend(
                Symbol(r.id.name, r.name.value, "reason", r.span, r.id.span) for r in p.reasons
            )
            for phase in Phase:
                span = _phase_span(p, phase, source)
                if span is None:
                    continue
                stages = tuple(
                    Symbol(
                        s.id.name,
                        s.name.value,
                        "stage" if s.kind is StageKind.OPEN else "outcome",
                        s.span,
                        s.id.span,
                    )
                    for s in p.stages
                    if s.phase is phase
                )
                selection = Span(span.path, span.start, span.start + len(phase.value))
                children.append(Symbol(phase.value, "", "phase", span, selection, stages))
            children.sort(key=lambda s: s.span.start)
            symbols.append(
                Symbol(p.id.name, p.name.value, "pipeline", p.span, p.id.span, tuple(children))
            )
    symbols.sort(key=lambda s: s.span.start)
    return symbols


def folding_ranges(build: Build, path: str) -> list[tuple[int, int, str]]:
    """``(start line, end line, kind)`` (0-based) of every block spanning lines, and of runs
    of comment lines (``kind`` is ``region`` or ``comment``)."""
    source = build.sources.get(path)
    if source is None:
        return []
    found: set[tuple[int, int, str]] = set()

    def fold(span: Span) -> None:
        first = source.position(span.start).line - 1
        last = source.position(max(span.end - 1, span.start)).line - 1
        if last > first:
            found.add((first, last, "region"))

    def walk(symbols: list[Symbol] | tuple[Symbol, ...]) -> None:
        for s in symbols:
            fold(s.span)
            walk(s.children)

    walk(document_symbols(build, path))
    run: list[int] = []
    lines = source.text.split("\n")
    for number, line in [*enumerate(lines), (len(lines), "")]:
        if line.lstrip().startswith("#"):
            run.append(number)
            continue
        if len(run) > 1:
            found.add((run[0], run[-1], "comment"))
        run = []
    return sorted(found)
