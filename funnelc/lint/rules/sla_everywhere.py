"""L006 sla-everywhere (M6): every open deal stage has an SLA, and every SLA — of a lead
stage or a deal stage — times out into a lost outcome (the pit), never into an open stage.

A timeout into a won outcome is already an error (F215); a timeout into an open stage is
legal but defeats the SLA: the expired deal stays on the board, just in another column.  When
the pipeline's default ``timeout -> x`` is the culprit it is reported once, at that line.
"""

from __future__ import annotations

from collections.abc import Iterator

from funnelc.diagnostics import Label, Severity
from funnelc.i18n import N_
from funnelc.lint.rule import Finding, LintContext, Rule
from funnelc.lint.rules._common import add_to_stage, facts
from funnelc.model import Phase, Ref, Stage


def check(context: LintContext) -> Iterator[Finding]:
    pipeline = context.pipeline
    known = facts(context, pipeline)  # the pit is found once, not per stage
    stages = known.stages
    pit = known.pits[0].id.name if known.pits else None
    for stage in pipeline.stages_in(Phase.DEAL):
        if stage.sla is not None:
            continue
        if stage.timeout is not None or pipeline.timeout is not None:
            help_line = N_(
                "add `sla <time>` (e.g. `sla 5d`): when the time runs out the deal leaves for "
                "the pit instead of hanging on the board forever"
            )
        elif pit is not None:
            help_line = N_(
                "add `sla <time>` (e.g. `sla 5d`) to the stage and `timeout -> {pit}` to the "
                "pipeline: when the time runs out the deal leaves for the pit instead of "
                "hanging on the board forever"
            )
        else:
            help_line = _NO_PIT
        yield Finding(
            stage.id.span,
            N_("deal stage `{stage}` has no SLA"),
            {"stage": stage.id.name, "pit": pit or "pit"},
            help=help_line,
            fix=add_to_stage(
                context,
                stage,
                SLA_PLACEHOLDER,
                N_("add `sla 5d`, a placeholder for the stage's real time limit"),
            ),
        )
    default_users: list[Stage] = []
    for stage in pipeline.open_stages:
        if stage.sla is None:
            continue
        ref: Ref | None = stage.timeout or pipeline.timeout
        if ref is None:
            continue  # F204 has reported it
        target = stages.get(ref.name) if ref.pipeline is None else None
        if target is None or not target.is_open:
            continue
        if stage.timeout is None:
            default_users.append(stage)
            continue
        yield Finding(
            ref.span,
            N_("the SLA of `{stage}` times out into the open stage `{target}`"),
            {"stage": stage.id.name, "target": target.id.name, "pit": pit or "pit"},
            help=_TO_PIT if pit is not None else _TO_NEW_PIT,
            labels=(Label(stage.sla.span, N_("this SLA")),),
        )
    if default_users and pipeline.timeout is not None:
        yield Finding(
            pipeline.timeout.span,
            N_("the default timeout sends expired deals to the open stage `{target}`"),
            {"target": pipeline.timeout.name, "pit": pit or "pit"},
            help=_TO_PIT if pit is not None else _TO_NEW_PIT,
        )


SLA_PLACEHOLDER = "sla 5d"

_NO_PIT = N_(
    "add `sla <time>` (e.g. `sla 5d`) to the stage, and a pit for the deals whose time runs "
    'out: `lost pit "Сделка зависла"` in the deal phase and `timeout -> pit` in the pipeline'
)
_TO_PIT = N_(
    "an expired deal has not moved on: send it to the pit, `timeout -> {pit}`, and revive it "
    "from there"
)
_TO_NEW_PIT = N_(
    "an expired deal has not moved on: send it to a pit, a lost outcome of its own "
    '(`lost pit "Сделка зависла"`, then `timeout -> pit`), and revive it from there'
)


RULE = Rule(
    code="L006",
    name="sla-everywhere",
    group="timing",
    severity=Severity.WARNING,
    principle="M6",
    preset="recommended",
    summary=(
        "every open deal stage has an SLA, and every SLA times out into a lost outcome, "
        "not an open stage"
    ),
    rationale=(
        "A deal stage without a maximum time lets deals hang on the board forever, and "
        "conversion cannot be computed while they do. When the SLA runs out, the deal must "
        "leave for the dying pit, a lost outcome, where it counts as lost and can be revived; "
        "sending it to another open stage only moves the problem one column. Lead stages may "
        "go without an SLA, but an SLA they have must also lead to a lost outcome."
    ),
    bad=(
        'pipeline p "Продажи" {\n'
        "  deal {\n"
        '    stage new "Новый клиент" { sla 1d }\n'
        '    stage met "Встреча состоялась"\n'
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
        '    stage met "Встреча состоялась" { sla 5d }\n'
        '    won paid "Оплата получена"\n'
        '    lost pit "Умиральная яма"\n'
        "  }\n"
        "  timeout -> pit\n"
        "}\n"
    ),
    check=check,
)
