"""L012 rising-probabilities (M12, M9): win probabilities rise along the main path.

The main path is the run of open stages from the entry along the default forward moves
(advance and handoff, ``then`` included); loops and side branches written as explicit edges
are not on it.  Stages without a probability are skipped, and the won outcome at the end of
the path counts as 100 %, so an open stage at 100 % is reported too: only a won deal is
certain.  The rule says nothing when no stage of the pipeline has a probability.
"""

from __future__ import annotations

from collections.abc import Iterator

from funnelc.diagnostics import Label, Severity
from funnelc.i18n import N_
from funnelc.lint.rule import Finding, LintContext, Rule
from funnelc.lint.rules._common import facts, main_path
from funnelc.model import EdgeKind, Stage


def check(context: LintContext) -> Iterator[Finding]:
    pipeline = context.pipeline
    if all(s.probability is None for s in pipeline.stages):
        return
    path = main_path(context, pipeline)
    previous: Stage | None = None
    for stage in path:
        if stage.probability is None:
            continue
        if (
            previous is not None
            and previous.probability is not None
            and stage.probability <= previous.probability
        ):
            yield Finding(
                stage.id.span,
                N_(
                    "the probability of `{stage}` ({value}%) does not rise above that of "
                    "`{previous}` ({before}%)"
                ),
                {
                    "stage": stage.id.name,
                    "value": str(stage.probability),
                    "previous": previous.id.name,
                    "before": str(previous.probability),
                },
                help=N_(
                    "a deal that moves on is more likely to be won: give `{stage}` more "
                    "than {before}%, or lower the stages before it"
                ),
                labels=(Label(previous.id.span, N_("{before}% here")),),
            )
        previous = stage
    if not path:
        return
    last = path[-1]
    wins = any(e.source.stage == last.id.name for e in facts(context, pipeline).edges(EdgeKind.WIN))
    if wins and previous is not None and (previous.probability or 0) >= 100:
        yield Finding(
            previous.id.span,
            N_("open stage `{stage}` has a probability of 100%"),
            {"stage": previous.id.name},
            help=N_(
                "only a won deal is certain, and the won outcome counts as 100%: give "
                "`{stage}` less, e.g. 95%"
            ),
        )


RULE = Rule(
    code="L012",
    name="rising-probabilities",
    group="stages",
    severity=Severity.WARNING,
    principle="M12",
    preset="recommended",
    summary=(
        "when stages have win probabilities, they rise along the main path, and only the won "
        "outcome is at 100%"
    ),
    rationale=(
        "A stage's probability is the chance that a deal sitting there is won; each result "
        "the customer reaches on the way should make a win more likely, and the won outcome "
        "is certain. A probability that falls or stays flat along the main path (from the "
        "entry along the default forward moves) is a typo, or a stage that adds nothing — "
        "and it skews the weighted forecast the CRM computes from these numbers."
    ),
    bad=(
        'pipeline p "Продажи" {\n'
        "  deal {\n"
        '    stage new "Новый клиент" { probability 10% }\n'
        '    stage met "Встреча состоялась" { probability 40% }\n'
        '    stage agreed "Условия согласованы" { probability 30% }\n'
        '    won paid "Оплата получена"\n'
        '    lost failed "Не реализовано"\n'
        "  }\n"
        "}\n"
    ),
    good=(
        'pipeline p "Продажи" {\n'
        "  deal {\n"
        '    stage new "Новый клиент" { probability 10% }\n'
        '    stage met "Встреча состоялась" { probability 40% }\n'
        '    stage agreed "Условия согласованы" { probability 70% }\n'
        '    won paid "Оплата получена"\n'
        '    lost failed "Не реализовано"\n'
        "  }\n"
        "}\n"
    ),
    check=check,
)
