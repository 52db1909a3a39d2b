"""L013 after-sale (M13): a won deal leads somewhere — a service or upsell pipeline, or
stages for implementation and service before the win.

A won outcome passes when it has ``next`` (a deal starts in another pipeline), when the
pipeline itself is an after-sale pipeline (some ``next`` edge enters it), or when one of its
open deal stages is an after-sale step by its name or goal (implementation, onboarding,
service, feedback, repeat sale).  It is an ``info`` of the ``strict`` preset: many funnels
rightly end at the payment, and the rule only reminds the team to decide.
"""

from __future__ import annotations

from collections.abc import Iterator

from funnelc.diagnostics import Severity
from funnelc.i18n import N_
from funnelc.lint.rule import Finding, LintContext, Rule
from funnelc.lint.rules._common import edges_into, mentions, per_project, stems_pattern
from funnelc.model import EdgeKind, Phase, Project, StageKey, StageKind

AFTER_SALE_WORDS = (
    "внедр",
    "сопровожд",
    "обслуживан",
    "сервис",
    "обратная связь",
    "обратную связь",
    "отзыв",
    "допрод",
    "повторная продажа",
    "повторные продажи",
    "продлен",
    "implement",
    "onboard",
    "service",
    "feedback",
    "upsell",
    "cross-sell",
    "renewal",
    "repeat sale",
    "repeat purchase",
)
"""Word beginnings that mark a stage as an after-sale step."""

_AFTER_SALE = stems_pattern(AFTER_SALE_WORDS)


def _next_targets(project: Project) -> list[StageKey]:
    """Where ``next`` edges of the build start new deals, in build order, without repeats."""
    seen: dict[StageKey, None] = {}
    for edge in project.edges:
        if edge.kind is EdgeKind.NEXT:
            seen.setdefault(edge.target)
    return list(seen)


def check(context: LintContext) -> Iterator[Finding]:
    pipeline = context.pipeline
    won = [s for s in pipeline.stages if s.kind is StageKind.WON and s.next is None]
    if not won:
        return
    if any(e.kind is EdgeKind.NEXT for e in edges_into(context, pipeline)):
        return
    for stage in pipeline.stages_in(Phase.DEAL):
        texts = [stage.name.value] + ([stage.goal.value] if stage.goal else [])
        if mentions(texts, _AFTER_SALE):
            return
    targets = per_project(context, "next-targets", _next_targets)
    for stage in won:
        target = str(targets[0]) if targets else "service.onboarded"
        yield Finding(
            stage.id.span,
            N_("nothing follows the won outcome `{stage}`"),
            {"stage": stage.id.name, "target": target},
            help=(
                N_(
                    "if the customer needs implementation, service or repeat sales, start a "
                    "deal in an after-sale pipeline, e.g. `next {target}`"
                )
                if targets
                else N_(
                    "if the customer needs implementation, service or repeat sales, start a "
                    "deal in a service pipeline with `next <pipeline>.<stage>` (e.g. "
                    "`next {target}`), or add the after-sale stages before the win"
                )
            ),
        )


RULE = Rule(
    code="L013",
    name="after-sale",
    group="outcomes",
    severity=Severity.INFO,
    principle="M13",
    preset="strict",
    summary=(
        "a won outcome starts a deal in another pipeline (`next`), or the pipeline has "
        "after-sale stages"
    ),
    rationale=(
        "Many funnels need stages for implementation, service, feedback and repeat sales "
        'after the payment, and "next deal initiated" starts a new deal in another '
        "pipeline. A won outcome with nothing after it is often where a customer is "
        "forgotten; the rule asks the team to decide. It is quiet for pipelines that are "
        "themselves the after-sale pipeline (a `next` edge enters them) and for pipelines "
        "with an implementation, service or feedback stage."
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
        "  deal {\n"
        '    stage new "Новый клиент"\n'
        '    won paid "Оплата получена" { next service.onboarded }\n'
        '    lost failed "Не реализовано"\n'
        "  }\n"
        "}\n"
        'pipeline service "Обслуживание" {\n'
        "  deal {\n"
        '    stage onboarded "Новый клиент на сопровождении"\n'
        '    won renewed "Договор продлён"\n'
        '    lost churned "Клиент ушёл"\n'
        "  }\n"
        "}\n"
    ),
    check=check,
)
