"""L004 goal-and-exit (M4): every open stage has a goal and at least one exit criterion."""

from __future__ import annotations

from collections.abc import Iterator

from funnelc.diagnostics import Severity
from funnelc.i18n import N_
from funnelc.lint.rule import Finding, LintContext, Rule
from funnelc.lint.rules._common import add_to_stage


def check(context: LintContext) -> Iterator[Finding]:
    for stage in context.pipeline.open_stages:
        missing = []
        if stage.goal is None:
            missing.append("goal")
        if not stage.exits:
            missing.append("exit")
        if not missing:
            continue
        if missing == ["goal", "exit"]:
            message = N_("stage `{stage}` has neither a goal nor an exit criterion")
        elif missing == ["goal"]:
            message = N_("stage `{stage}` has no goal")
        else:
            message = N_("stage `{stage}` has no exit criterion")
        yield Finding(
            stage.id.span,
            message,
            {"stage": stage.id.name},
            help=N_(
                'add `goal "<the customer\'s new state>"` and `exit "<what shows it>"`: '
                "without them deals pile up in one column"
            ),
            fix=(
                add_to_stage(
                    context,
                    stage,
                    EXIT_PLACEHOLDER,
                    N_('add `exit "TODO"`, a placeholder for the exit criterion'),
                )
                if "exit" in missing
                else None
            ),
        )


EXIT_PLACEHOLDER = 'exit "TODO"'


RULE = Rule(
    code="L004",
    name="goal-and-exit",
    group="stages",
    severity=Severity.WARNING,
    principle="M4",
    preset="recommended",
    summary="every open stage has a goal and at least one exit criterion",
    rationale=(
        "The goal is the change in the customer's state the stage is for; the exit criterion is "
        "the observable condition for moving the deal on. Without them a manager cannot tell "
        "when a deal is done with a stage, and deals pile up in one column."
    ),
    bad='stage met "Встреча состоялась" { sla 3d }',
    good=(
        'stage met "Встреча состоялась" {\n'
        '  goal "ЛПР рассказал о задаче"\n'
        '  exit "Согласована дата следующей встречи"\n'
        "  sla 3d\n"
        "}"
    ),
    check=check,
)
