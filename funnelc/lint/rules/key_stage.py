"""L009 key-stage (M9): every pipeline has a key stage, and it is the qualification.

More than one key stage is already an error (F209), so this rule reports a pipeline with
none, and a key stage that is not the qualification.  What makes a stage the qualification
is spelt out, not guessed:

* its name, goal or an exit criterion says so (``квалифик…``, ``qualif…``, or a word the
  ``qualification-words`` option lists); or
* its name, goal, exit criteria and the names of its required fields establish at least
  ``min-criteria`` of the qualification criteria M9 names: the budget, the deadline, the
  decision maker, the customer's problem or need, the benefit, the deal plan.

The second way is how the real-estate funnels qualify a buyer: at the meeting ("Встреча
состоялась") the buyer confirms the budget, the payment method and the deadline — a
qualification in all but name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from funnelc.diagnostics import Label, Severity
from funnelc.i18n import N_
from funnelc.lint.rule import Finding, LintContext, Rule
from funnelc.lint.rules._common import facts, normalise, stems_pattern, string_list
from funnelc.model import Field, Pipeline, Stage

QUALIFICATION_WORDS: list[str] = ["квалифик", "qualif"]

CRITERIA: Mapping[str, tuple[str, ...]] = {
    "budget": ("бюджет", "budget"),
    "deadline": ("срок", "дедлайн", "deadline", "timeline", "timeframe", "time frame"),
    "decision maker": (
        "лпр",
        "лицо, принимающ",
        "decision maker",
        "decision-maker",
        "economic buyer",
    ),
    "need": ("проблем", "потребност", "боль", "problem", "need", "pain"),
    "benefit": ("выгод", "ценност", "benefit"),
    "deal plan": ("план сделки", "deal plan", "action plan"),
}
"""The qualification criteria of M9 and word beginnings that name them."""

_CRITERIA_PATTERNS = {name: stems_pattern(stems) for name, stems in CRITERIA.items()}


def _texts(fields: Mapping[str, Field], stage: Stage) -> list[str]:
    texts = [stage.name.value]
    if stage.goal is not None:
        texts.append(stage.goal.value)
    texts.extend(t.value for t in stage.exits)
    for ref in stage.requires:
        declared = fields.get(ref.name)
        if declared is not None:
            texts.append(declared.name.value)
    return texts


def criteria_met(fields: Mapping[str, Field], stage: Stage) -> list[str]:
    """Which of M9's criteria the stage's name, goal, exits and required fields establish;
    ``fields`` are the pipeline's fields by id (:attr:`PipelineFacts.fields`), looked up
    rather than searched, so checking every stage stays linear."""
    text = normalise(" | ".join(_texts(fields, stage)))
    return [name for name, pattern in _CRITERIA_PATTERNS.items() if pattern.search(text)]


def _said(stage: Stage) -> list[str]:
    said = [stage.name.value, *(t.value for t in stage.exits)]
    if stage.goal is not None:
        said.append(stage.goal.value)
    return said


def _qualifies(
    fields: Mapping[str, Field], stage: Stage, words: re.Pattern[str], minimum: int
) -> bool:
    if any(words.search(normalise(text)) for text in _said(stage)):
        return True
    return minimum <= 0 or len(criteria_met(fields, stage)) >= minimum


def _candidate(
    pipeline: Pipeline, fields: Mapping[str, Field], words: re.Pattern[str], minimum: int
) -> Stage | None:
    """The open stage (not marked key) that looks most like the qualification: one that says
    so, else the one that establishes the most criteria (at least ``minimum``, and one)."""
    best: tuple[int, Stage] | None = None
    for stage in pipeline.open_stages:
        if stage.key:
            continue
        if any(words.search(normalise(text)) for text in _said(stage)):
            return stage
        met = len(criteria_met(fields, stage))
        if met >= max(minimum, 1) and (best is None or met > best[0]):
            best = (met, stage)
    return best[1] if best is not None else None


def check(context: LintContext) -> Iterator[Finding]:
    pipeline = context.pipeline
    words = stems_pattern(string_list(context.option("qualification-words")))
    minimum = context.option("min-criteria")
    assert isinstance(minimum, int)
    fields = facts(context, pipeline).fields
    keys = [s for s in pipeline.stages if s.key]
    if keys and _qualifies(fields, keys[0], words, minimum):
        return
    candidate = _candidate(pipeline, fields, words, minimum)
    if not keys:
        if candidate is not None:
            help_line = N_(
                "`{candidate}` looks like the qualification; mark it: "
                '`stage {candidate} "…" key {{ … }}`'
            )
        else:
            help_line = N_(
                "add the stage where the decision maker confirms the problem, budget and "
                "deadline, and mark it `key`: "
                '`stage qualified "Квалификация пройдена" key {{ … }}`'
            )
        yield Finding(
            pipeline.id.span,
            N_("pipeline `{pipeline}` has no key stage"),
            {
                "pipeline": pipeline.id.name,
                "candidate": candidate.id.name if candidate is not None else "",
            },
            help=help_line,
        )
        return
    key = keys[0]
    args = {
        "stage": key.id.name,
        "candidate": candidate.id.name if candidate is not None else "",
    }
    if candidate is not None:
        yield Finding(
            key.id.span,
            N_("the key stage `{stage}` is not the qualification"),
            args,
            help=N_("`{candidate}` looks like the qualification; move `key` there"),
            labels=(Label(candidate.id.span, N_("the qualification, it seems")),),
        )
    else:
        yield Finding(
            key.id.span,
            N_("the key stage `{stage}` is not the qualification"),
            args,
            help=N_(
                "at the key stage the customer is qualified: say what is confirmed in its "
                'goal or exit criteria (e.g. `exit "ЛПР подтвердил бюджет и срок"`), or move '
                "`key` to the qualification stage; the criteria are the budget, the deadline, the "
                "decision maker, the need, the benefit and the deal plan"
            ),
        )


RULE = Rule(
    code="L009",
    name="key-stage",
    group="stages",
    severity=Severity.WARNING,
    principle="M9",
    preset="recommended",
    summary="every pipeline has a key stage, and the key stage is the qualification",
    rationale=(
        "In solution sales the key stage is the qualification: the decision maker has "
        "confirmed the problem, the solution and the benefit, there is a deadline and a "
        "budget, and a deal plan is agreed. Conversion into it is the number a sales team "
        "steers by, so each pipeline marks it with `key`. A key stage counts as the "
        "qualification when its name, goal or an exit criterion mentions qualification, or "
        "when its name, goal, exit criteria and required fields establish at least "
        "`min-criteria` of those criteria (budget, deadline, decision maker, need, benefit, "
        'deal plan) — a real-estate "Встреча состоялась" where the buyer confirms budget '
        "and deadline is one."
    ),
    bad=(
        'pipeline p "Продажи" {\n'
        "  deal {\n"
        '    stage new "Новый клиент"\n'
        '    stage met "Встреча состоялась" key { goal "Клиент пришёл на показ" }\n'
        '    won paid "Оплата получена"\n'
        '    lost failed "Не реализовано"\n'
        "  }\n"
        "}\n"
    ),
    good=(
        'pipeline p "Продажи" {\n'
        "  deal {\n"
        '    stage new "Новый клиент"\n'
        '    stage met "Встреча состоялась" key { goal "ЛПР подтвердил бюджет и срок" }\n'
        '    won paid "Оплата получена"\n'
        '    lost failed "Не реализовано"\n'
        "  }\n"
        "}\n"
    ),
    check=check,
    options={"qualification-words": QUALIFICATION_WORDS, "min-criteria": 2},
    option_docs={
        "qualification-words": (
            "word beginnings that mark a stage as the qualification when its name, goal or "
            "an exit criterion contains one (a list in the config replaces the default one)"
        ),
        "min-criteria": (
            "how many of M9's qualification criteria (budget, deadline, decision maker, need, "
            "benefit, deal plan) the stage's name, goal, exits and required fields must "
            "establish otherwise; 0 accepts any key stage"
        ),
    },
)
