"""L001 result-named-stage (M1): an open stage is named after the result a deal has reached.

The name is judged by :func:`funnelc.lint.names.classify` (pymorphy3 for Russian: a perfective
past participle or past-tense verb among the top-scored parses; a short heuristic for English).
Only a *process* name is reported here: an in-progress name is L002's, a manager's action
L003's, so one name yields one finding.  The first stage of each phase is exempt — it is where
a deal arrives ("Новый клиент", "New lead"), not a result it reached — and so are names the
classifier cannot read (digits, other scripts).
"""

from __future__ import annotations

from collections.abc import Iterator

from funnelc.diagnostics import Severity
from funnelc.i18n import N_
from funnelc.lint.rule import Finding, LintContext, Rule
from funnelc.lint.rules._common import example_names, phase_heads, rename_fix, verdict


def check(context: LintContext) -> Iterator[Finding]:
    from funnelc.lint.name_types import NameKind

    pipeline = context.pipeline
    heads = phase_heads(pipeline)
    for stage in pipeline.open_stages:
        if stage.id.name in heads:
            continue
        found = verdict(context, stage.name.value)
        if found.kind is not NameKind.PROCESS:
            continue
        args = {
            "stage": stage.id.name,
            "name": stage.name.value,
            "suggestion": found.suggestion or "",
            "examples": example_names(found.language),
        }
        if found.suggestion:
            help_line = N_(
                'name the result that ends the stage, e.g. "{suggestion}": then it is clear '
                "when a deal is done here and what the next step is"
            )
        else:
            help_line = N_(
                "name the result that ends the stage with a perfective participle or a "
                "past-tense verb, like {examples}: then it is clear when a deal is done here"
            )
        yield Finding(
            stage.name.span,
            N_('stage `{stage}` is named after a process, not a result: "{name}"'),
            args,
            help=help_line,
            fix=rename_fix(stage.name.span, found.suggestion),
        )


RULE = Rule(
    code="L001",
    name="result-named-stage",
    group="naming",
    severity=Severity.WARNING,
    principle="M1",
    preset="recommended",
    summary="an open stage's name states a result the deal has reached, not a process",
    rationale=(
        'A process name ("Телефонные переговоры", "Negotiation") leaves open how long a deal '
        "may sit in the stage and what ends it. A result name — a perfective participle or "
        'past-tense verb: "Встреча проведена", "Договор подписан", "Meeting held" — says '
        "what has happened to a deal in this column, so the next step is obvious and a task "
        "can be set for it. The first stage of each phase is exempt: it names the arrival "
        '("Новый клиент", "New lead").'
    ),
    bad='stage talks "Телефонные переговоры"',
    good='stage talks "Переговоры проведены"',
    check=check,
)
