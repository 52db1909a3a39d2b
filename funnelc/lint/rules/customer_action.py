"""L003 customer-action (M3): stage names and goals say what the customer did, not the
manager.

"КП отправлено" is grammatically a result, but sending a proposal does not mean the customer
read it; a stage is passed when the customer has done something.  Open stages' names and
every goal are judged by :func:`funnelc.lint.names.classify`; an in-progress name is left to
L002, so one name yields one finding.  The first stage of a phase is *not* exempt (unlike L001):
a deal may arrive in a stage, but "Звонок" is still the manager's act.  A goal whose subject is
the customer ("Клиент получил КП и обсудил его с нами") is the customer's, whatever else it
mentions, so it is not checked further: the classifier is made for short names, and a
sentence with the customer as its subject may well name the seller in passing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from funnelc.diagnostics import Severity
from funnelc.i18n import N_
from funnelc.lint.rule import Finding, LintContext, Rule
from funnelc.lint.rules._common import normalise, rename_fix, verdict

CUSTOMER_SUBJECTS = frozenset(
    {
        "клиент",
        "клиенты",
        "покупатель",
        "покупатели",
        "заказчик",
        "заказчики",
        "лпр",
        "контрагент",
        "customer",
        "customers",
        "client",
        "clients",
        "buyer",
        "buyers",
        "prospect",
        "prospects",
    }
)
"""First words (in the nominative) that make the customer the subject of a goal."""

_WORD = re.compile(r"\w+")


def _customer_is_subject(text: str) -> bool:
    first = _WORD.search(normalise(text))
    return first is not None and first.group() in CUSTOMER_SUBJECTS


def check(context: LintContext) -> Iterator[Finding]:
    from funnelc.lint.name_types import NameKind

    for stage in context.pipeline.stages:
        if stage.is_open:
            found = verdict(context, stage.name.value)
            if found.kind is NameKind.MANAGER_ACTION:
                yield Finding(
                    stage.name.span,
                    N_('stage `{stage}` is named after what the manager did: "{name}"'),
                    {
                        "stage": stage.id.name,
                        "name": stage.name.value,
                        "suggestion": found.suggestion or "",
                    },
                    fix=rename_fix(stage.name.span, found.suggestion),
                    help=(
                        N_('name what the customer did instead, e.g. "{suggestion}"')
                        if found.suggestion
                        else N_(
                            "name what the customer did instead: a stage is passed when the "
                            'customer has done something ("КП получено и обсуждено", not '
                            '"КП отправлено")'
                        )
                    ),
                )
        if stage.goal is None or _customer_is_subject(stage.goal.value):
            continue
        found = verdict(context, stage.goal.value)
        if found.kind is not NameKind.MANAGER_ACTION:
            continue
        yield Finding(
            stage.goal.span,
            N_('the goal of `{stage}` is what the manager does: "{goal}"'),
            {
                "stage": stage.id.name,
                "goal": stage.goal.value,
                "suggestion": found.suggestion or "",
            },
            help=(
                N_(
                    "a goal is a change in the customer's state: write what the customer does, "
                    'e.g. "{suggestion}"; the manager\'s work belongs in a `task`'
                )
                if found.suggestion
                else N_(
                    "a goal is a change in the customer's state: write what the customer does "
                    '("Клиент прочитал КП и обсудил его"); the manager\'s work belongs in a '
                    "`task`"
                )
            ),
        )


RULE = Rule(
    code="L003",
    name="customer-action",
    group="naming",
    severity=Severity.WARNING,
    principle="M3",
    preset="recommended",
    summary="stage names and goals describe what the customer did, not what the manager did",
    rationale=(
        '"КП отправлено" (proposal sent), "Звонок", "Счёт выставлен" are the manager\'s '
        "actions: sending a quote does not mean the customer read it, and a deal moved on "
        "because the manager was busy has not moved at all. A stage is passed when the "
        'customer has done something: "КП получено и обсуждено", "Клиент ответил на '
        'звонок", "Счёт оплачен". The same holds for a stage\'s goal; what the manager must '
        "do goes into a `task`."
    ),
    bad='stage sent "КП отправлено"',
    good='stage received "КП получено и обсуждено"',
    check=check,
)
