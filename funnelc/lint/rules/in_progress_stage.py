"""L002 in-progress-stage (M2): no stage is called "В работе", "In progress" or the like.

The worst naming mistake of all, hence an error and a member of the ``minimal`` preset.  The
classifier (:mod:`funnelc.lint.names`) recognises the phrase anywhere in the name ("Сделка в
работе") and its variants ("В процессе", "WIP", "In work"); it deliberately accepts "Лид
принят в работу", the acceptance stage M8 recommends.  Every open stage is checked, the first
of a phase too.
"""

from __future__ import annotations

from collections.abc import Iterator

from funnelc.diagnostics import Severity
from funnelc.i18n import N_
from funnelc.lint.rule import Finding, LintContext, Rule
from funnelc.lint.rules._common import example_names, verdict


def check(context: LintContext) -> Iterator[Finding]:
    from funnelc.lint.name_types import NameKind

    for stage in context.pipeline.open_stages:
        found = verdict(context, stage.name.value)
        if found.kind is not NameKind.IN_PROGRESS:
            continue
        yield Finding(
            stage.name.span,
            N_(
                'stage `{stage}` is called "{name}", which says nothing: every stage is in progress'
            ),
            {
                "stage": stage.id.name,
                "name": stage.name.value,
                "examples": example_names(found.language),
            },
            help=N_(
                "name the result a deal in this column has reached, like {examples}; if the "
                "column collects deals at different points, split it into stages that each "
                "end with a result"
            ),
        )


RULE = Rule(
    code="L002",
    name="in-progress-stage",
    group="naming",
    severity=Severity.ERROR,
    principle="M2",
    preset="minimal",
    summary='no stage is called "В работе", "In progress" or a variant of it',
    rationale=(
        'A stage called "in progress" or "in work" says nothing, because every stage is in '
        "progress: it tells neither the manager what has happened nor what ends the stage, "
        "and deals of every kind pile up in it. It is the worst naming mistake, so it is an "
        "error, not a warning."
    ),
    bad='stage work "В работе"',
    good='stage met "Встреча состоялась"',
    check=check,
)
