"""L005 required-fields (M5): from the key stage on, every deal stage requires card fields.

"Past the key stage" includes the key stage itself: the key stage is the qualification (M9),
and what qualifies a deal — budget, deadline, decision maker — is exactly what its card must
record before the deal may move on.  Stages are taken in the order they are written in the
deal phase; a key stage in the lead phase makes every deal stage count (lead stages are not
checked); a pipeline without a key stage is left to L009.  That every required field is
declared with a type needs no rule: ``resolve`` rejects an unknown field (F103), and the
grammar does not allow a field without a type.
"""

from __future__ import annotations

from collections.abc import Iterator

from funnelc.diagnostics import Label, Severity
from funnelc.i18n import N_
from funnelc.lint.rule import Finding, LintContext, Rule
from funnelc.model import Phase, Stage


def _from_key(stages: tuple[Stage, ...], key: Stage) -> tuple[Stage, ...]:
    if key.phase is Phase.LEAD:
        return stages
    for index, stage in enumerate(stages):
        if stage is key:
            return stages[index:]
    return ()


def check(context: LintContext) -> Iterator[Finding]:
    pipeline = context.pipeline
    minimum = context.option("min-fields")
    assert isinstance(minimum, int)
    key = next((s for s in pipeline.stages if s.key and s.is_open), None)
    if key is None or minimum <= 0:
        return
    required_ids = {ref.name for s in pipeline.stages for ref in s.requires}
    spare = [f.id.name for f in pipeline.fields if f.id.name not in required_ids][:3]
    help_line = (
        N_(
            "back the stage's exit criterion with a card field, e.g. `requires {spare}`: the "
            "CRM then refuses to move a deal on until it is filled"
        )
        if spare
        else N_(
            'declare a field (`field budget "Бюджет" money`) and add `requires budget` to the '
            "stage: the CRM then refuses to move a deal on until it is filled"
        )
    )
    for stage in _from_key(pipeline.stages_in(Phase.DEAL), key):
        count = len({ref.name for ref in stage.requires})
        if count >= minimum:
            continue
        message = (
            N_("stage `{stage}` requires no card field")
            if count == 0
            else N_(
                "stage `{stage}` requires too few card fields: {count}, at least {minimum} expected"
            )
        )
        labels = () if stage is key else (Label(key.id.span, N_("the key stage")),)
        yield Finding(
            stage.id.span,
            message,
            {
                "stage": stage.id.name,
                "count": str(count),
                "minimum": str(minimum),
                "spare": ", ".join(spare),
            },
            help=help_line,
            labels=labels,
        )


RULE = Rule(
    code="L005",
    name="required-fields",
    group="stages",
    severity=Severity.WARNING,
    principle="M5",
    preset="recommended",
    summary=(
        "the key stage and every deal stage after it require at least `min-fields` card fields"
    ),
    rationale=(
        "A stage's target actions are backed by required fields in the deal card: the CRM "
        "refuses to move a deal on until they are filled, so the result a stage names is "
        "recorded, not just claimed. From the key stage (the qualification) on, a deal is "
        "worth the effort, and its card must say why: budget, deadline, the decision maker, "
        "the amount. The key stage itself counts; stages are taken in the order they are "
        "written, and a key stage in the lead phase makes every deal stage count. Fields of "
        "lead stages are recommended but not checked."
    ),
    bad=(
        'field budget "Бюджет" money\n'
        'pipeline p "Продажи" {\n'
        "  deal {\n"
        '    stage new "Новый клиент"\n'
        '    stage qualified "Квалификация пройдена" key\n'
        '    won paid "Оплата получена"\n'
        '    lost failed "Не реализовано"\n'
        "  }\n"
        "}\n"
    ),
    good=(
        'field budget "Бюджет" money\n'
        'pipeline p "Продажи" {\n'
        "  deal {\n"
        '    stage new "Новый клиент"\n'
        '    stage qualified "Квалификация пройдена" key { requires budget }\n'
        '    won paid "Оплата получена"\n'
        '    lost failed "Не реализовано"\n'
        "  }\n"
        "}\n"
    ),
    check=check,
    options={"min-fields": 1},
    option_docs={
        "min-fields": "how many fields each stage from the key stage on must require (0: none)"
    },
)
