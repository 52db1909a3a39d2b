"""L011 loss-reasons (M11): every lost outcome says why deals end there.

The dying pit (a lost outcome some SLA times out into) is exempt: deals land there because
nobody moved them in time, which is its own reason.  Unless it is the only lost outcome of its
phase — then deals refused for a real reason end there too, and it needs reasons as well.
"""

from __future__ import annotations

from collections.abc import Iterator

from funnelc.diagnostics import Severity
from funnelc.i18n import N_
from funnelc.lint.rule import Finding, LintContext, Rule
from funnelc.lint.rules._common import facts
from funnelc.model import StageKind


def check(context: LintContext) -> Iterator[Finding]:
    pipeline = context.pipeline
    known = facts(context, pipeline)
    pit_ids = {s.id.name for s in known.pits}
    available = [r.id.name for r in pipeline.reasons]
    args_base = {"reasons": ", ".join(available[:4])}
    help_line = (
        N_("list why deals end here, e.g. `reasons {reasons}`; the reasons must be declared")
        if available
        else N_(
            'declare the reasons (`reason no_budget "Нет бюджета"`) and list them here: '
            "`reasons no_budget`"
        )
    )
    for stage in pipeline.stages:
        if stage.kind is not StageKind.LOST or stage.reasons:
            continue
        if stage.id.name in pit_ids:
            if known.lost.get(stage.phase, 0) > 1:  # other lost outcomes in its phase
                continue
            yield Finding(
                stage.id.span,
                N_(
                    "`{stage}` is the only lost outcome of its phase but has no loss reasons: "
                    "refused deals end there too"
                ),
                {**args_base, "stage": stage.id.name},
                help=N_(
                    'add a lost outcome for refusals, e.g. `lost failed "Не реализовано" '
                    "{{ reasons no_budget }}`, and keep `{stage}` for expired deals"
                ),
            )
            continue
        yield Finding(
            stage.id.span,
            N_("lost outcome `{stage}` has no loss reasons"),
            {**args_base, "stage": stage.id.name},
            help=help_line,
        )


RULE = Rule(
    code="L011",
    name="loss-reasons",
    group="outcomes",
    severity=Severity.WARNING,
    principle="M11",
    preset="recommended",
    summary="every lost outcome other than the pit lists loss reasons",
    rationale=(
        "A funnel must show why customers are lost: with loss reasons on every lost outcome "
        'the CRM asks for one when a deal is lost, and the report can say "20% never '
        'answered the phone". The pit, where deals go when their SLA runs out, needs none '
        "— unless it is the only lost outcome of its phase, so that refused deals end there "
        "too."
    ),
    bad=(
        'reason no_budget "Нет бюджета"\n'
        'pipeline p "Продажи" {\n'
        "  deal {\n"
        '    stage new "Новый клиент"\n'
        '    won paid "Оплата получена"\n'
        '    lost failed "Не реализовано"\n'
        "  }\n"
        "}\n"
    ),
    good=(
        'reason no_budget "Нет бюджета"\n'
        'pipeline p "Продажи" {\n'
        "  deal {\n"
        '    stage new "Новый клиент"\n'
        '    won paid "Оплата получена"\n'
        '    lost failed "Не реализовано" { reasons no_budget }\n'
        "  }\n"
        "}\n"
    ),
    check=check,
)
