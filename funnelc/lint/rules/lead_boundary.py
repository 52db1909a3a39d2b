"""L008 lead-boundary (M8): a pipeline with a lead phase says what a lead is, when sales
accepts one, and starts its deal phase with the acceptance.

The acceptance-name check is deliberately lenient: the first deal stage's name must mention
acceptance or a handover in some form ("Лид принят в работу", "Передан в продажи",
"Lead accepted"), matched by word stems that the ``acceptance-words`` option can extend.
A pipeline without a lead phase has no boundary to check.
"""

from __future__ import annotations

from collections.abc import Iterator

from funnelc.diagnostics import Label, Severity
from funnelc.i18n import N_
from funnelc.lint.rule import Finding, LintContext, Rule
from funnelc.lint.rules._common import mentions, stems_pattern, string_list
from funnelc.model import Phase
from funnelc.source import Span

ACCEPTANCE_WORDS: list[str] = [
    "принят",
    "принял",
    "взят",
    "передан",
    "accept",
    "handed",
    "handover",
    "hand-off",
    "handoff",
    "taken over",
]


def check(context: LintContext) -> Iterator[Finding]:
    pipeline = context.pipeline
    lead = pipeline.lead
    if lead is None:
        return
    keyword = Span(lead.span.path, lead.span.start, lead.span.start + len("lead"))
    args = {"pipeline": pipeline.id.name}
    if lead.definition is None or not lead.definition.value.strip():
        yield Finding(
            keyword,
            N_("the lead phase of `{pipeline}` does not define what a lead is"),
            args,
            help=N_(
                'add `definition "<who counts as a lead>"` to the `lead` block, e.g. '
                '`definition "Компания из целевого сегмента оставила контакты"`: marketing and '
                "sales must agree on it"
            ),
        )
    if not any(text.value.strip() for text in lead.accept):
        yield Finding(
            keyword,
            N_("the lead phase of `{pipeline}` has no acceptance criteria"),
            args,
            help=N_(
                'add `accept "<condition>"` lines to the `lead` block, e.g. '
                '`accept "ЛПР известен"`: sales accepts a lead only when they hold'
            ),
        )
    deal = pipeline.stages_in(Phase.DEAL)
    if not deal:
        return
    first = deal[0]
    words = stems_pattern(string_list(context.option("acceptance-words")))
    if mentions([first.name.value], words):
        return
    last_lead = pipeline.stages_in(Phase.LEAD)
    labels = (
        (Label(last_lead[-1].name.span, N_("the last lead stage hands the lead over to it")),)
        if last_lead
        else ()
    )
    yield Finding(
        first.name.span,
        N_("the first deal stage `{stage}` does not say that sales accepted the lead"),
        {**args, "stage": first.id.name},
        help=N_(
            "start the deal phase with the acceptance, e.g. "
            '`stage accepted "Лид принят в работу"`, so that the boundary between marketing '
            "and sales is a stage of its own"
        ),
        labels=labels,
    )


RULE = Rule(
    code="L008",
    name="lead-boundary",
    group="boundaries",
    severity=Severity.WARNING,
    principle="M8",
    preset="recommended",
    summary=(
        "a pipeline with a lead phase defines a lead, lists acceptance criteria, and its first "
        "deal stage is the acceptance"
    ),
    rationale=(
        "Where a lead becomes a deal is a choice marketing and sales must make together and "
        "write down: what a lead is (`definition`) and what sales checks before taking it "
        "(`accept`). It is convenient when marketing hands leads over at the last lead stage, "
        'so that the first deal stage is "Лид принят в работу" (lead accepted); its name '
        "must mention the acceptance or the handover."
    ),
    bad=(
        'pipeline p "Продажи" {\n'
        "  lead {\n"
        '    stage new "Заявка оставлена"\n'
        "  }\n"
        "  deal {\n"
        '    stage met "Встреча состоялась"\n'
        '    won paid "Оплата получена"\n'
        '    lost failed "Не реализовано"\n'
        "  }\n"
        "}\n"
    ),
    good=(
        'pipeline p "Продажи" {\n'
        "  lead {\n"
        '    definition "Компания из целевого сегмента оставила контакты"\n'
        '    stage new "Заявка оставлена"\n'
        '    accept "ЛПР известен"\n'
        "  }\n"
        "  deal {\n"
        '    stage accepted "Лид принят в работу"\n'
        '    won paid "Оплата получена"\n'
        '    lost failed "Не реализовано"\n'
        "  }\n"
        "}\n"
    ),
    check=check,
    options={"acceptance-words": ACCEPTANCE_WORDS},
    option_docs={
        "acceptance-words": (
            "word beginnings, any of which the first deal stage's name must contain "
            "(case and ё/е do not matter; a list in the config replaces the default one)"
        )
    },
)
