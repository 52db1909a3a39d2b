"""L007 pit-revival (M7): a lost outcome that receives timeouts (the dying pit) is revived.

The pit is where deals go when they overstay a stage; they are not refusals but deals nobody
worked, so marketing or telemarketing should bring them back: a ``revive`` edge from the pit
into the lead phase (or the first stage when there is none), here or in another pipeline.
"""

from __future__ import annotations

from collections.abc import Iterator

from funnelc.diagnostics import Severity
from funnelc.i18n import N_
from funnelc.lint.rule import Finding, LintContext, Rule
from funnelc.lint.rules._common import facts
from funnelc.model import EdgeKind


def check(context: LintContext) -> Iterator[Finding]:
    pipeline = context.pipeline
    known = facts(context, pipeline)
    revived = {edge.source.stage for edge in known.edges(EdgeKind.REVIVE)}
    entry = pipeline.entry
    for pit in known.pits:
        if pit.id.name in revived:
            continue
        yield Finding(
            pit.id.span,
            N_("deals that time out into `{stage}` are never revived"),
            {"stage": pit.id.name, "entry": entry.id.name if entry else "new"},
            help=N_(
                "let marketing bring them back as new leads: "
                '`revive {stage} -> {entry} after 30d "<who warms them up and how>"`'
            ),
        )


RULE = Rule(
    code="L007",
    name="pit-revival",
    group="timing",
    severity=Severity.WARNING,
    principle="M7",
    preset="recommended",
    summary="a lost outcome that receives timeouts (the pit) has a `revive` edge",
    rationale=(
        "Deals in the dying pit were not refused; nobody moved them in time. Marketing or "
        "telemarketing should work them and turn them back into new leads, which the file "
        "says with a revival edge from the pit into the lead phase (or into the first stage "
        "of a pipeline without one). A pit without one is a place where deals are forgotten."
    ),
    bad=(
        'pipeline p "Продажи" {\n'
        "  deal {\n"
        '    stage new "Новый клиент" { sla 1d }\n'
        '    won paid "Оплата получена"\n'
        '    lost pit "Умиральная яма"\n'
        "  }\n"
        "  timeout -> pit\n"
        "}\n"
    ),
    good=(
        'pipeline p "Продажи" {\n'
        "  deal {\n"
        '    stage new "Новый клиент" { sla 1d }\n'
        '    won paid "Оплата получена"\n'
        '    lost pit "Умиральная яма"\n'
        "  }\n"
        "  timeout -> pit\n"
        '  revive pit -> new after 30d "Маркетинг прогревает рассылкой"\n'
        "}\n"
    ),
    check=check,
)
