"""L010 segment (M10): every pipeline names its segment, and no two pipelines name the same.

Segments are compared case-insensitively, with ``ё`` as ``е``, whitespace collapsed and
trailing punctuation ignored.  A duplicate is reported on the later pipeline (in build order:
files in the order they were read, pipelines in source order), with a label on the first.
"""

from __future__ import annotations

from collections.abc import Iterator

from funnelc.diagnostics import Label, Severity
from funnelc.i18n import N_
from funnelc.lint.rule import Finding, LintContext, Rule
from funnelc.lint.rules._common import normalise, per_project
from funnelc.model import Pipeline, Project


def _key(pipeline: Pipeline) -> str:
    if pipeline.segment is None:
        return ""
    return normalise(pipeline.segment.value).rstrip(" .;:!,")


def check(context: LintContext) -> Iterator[Finding]:
    pipeline = context.pipeline
    key = _key(pipeline)
    if not key:
        yield Finding(
            pipeline.segment.span if pipeline.segment is not None else pipeline.id.span,
            N_("pipeline `{pipeline}` does not name its segment"),
            {"pipeline": pipeline.id.name},
            help=N_(
                'add `segment "<who these customers are>"`, e.g. `segment "Компании, которые '
                'сами оставили заявку на сайте"`: one pipeline per group of customers who take '
                "the same steps to a purchase"
            ),
        )
        return
    first = per_project(context, "segments", _first_by_segment).get(key)
    if first is None or first is pipeline or first.segment is None:
        return
    assert pipeline.segment is not None
    yield Finding(
        pipeline.segment.span,
        N_("pipelines `{other}` and `{pipeline}` are for the same segment"),
        {"pipeline": pipeline.id.name, "other": first.id.name},
        help=N_(
            "a segment gets one pipeline (M10): merge the two, or say in each "
            "`segment` how their customers' steps to a purchase differ"
        ),
        labels=(Label(first.segment.span, N_("the same segment in `{other}`")),),
    )


def _first_by_segment(project: Project) -> dict[str, Pipeline]:
    """The first pipeline of the build that names each segment."""
    first: dict[str, Pipeline] = {}
    for pipeline in project.pipelines:
        key = _key(pipeline)
        if key:
            first.setdefault(key, pipeline)
    return first


RULE = Rule(
    code="L010",
    name="segment",
    group="boundaries",
    severity=Severity.WARNING,
    principle="M10",
    preset="recommended",
    summary="every pipeline names its segment, and no two pipelines name the same one",
    rationale=(
        "A segment is a group of customers who take the same sequence of steps to a "
        "purchase; each segment gets its own pipeline, whatever the product. Writing the "
        "segment down makes the choice reviewable, and two pipelines for the same segment "
        "mean either a duplicate funnel or a segment described too vaguely."
    ),
    bad=(
        'pipeline p "Продажи" {\n'
        "  deal {\n"
        '    stage new "Новый клиент"\n'
        '    won paid "Оплата получена"\n'
        '    lost failed "Не реализовано"\n'
        "  }\n"
        "}\n"
    ),
    good=(
        'pipeline p "Продажи" {\n'
        '  segment "Покупатели из нашего города, которые смотрят объекты вживую"\n'
        "  deal {\n"
        '    stage new "Новый клиент"\n'
        '    won paid "Оплата получена"\n'
        '    lost failed "Не реализовано"\n'
        "  }\n"
        "}\n"
    ),
    check=check,
)
