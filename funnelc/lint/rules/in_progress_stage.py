"""L002 in-progress-stage (M2): no stage is called "В работе", "In progress" or the like.

The worst naming mistake of all, hence an error and a member of the ``minimal`` preset.  The
classifier (:mod:`funnelc.lint.names`) recognises the phrase anywhere in the name ("Сделка в
работе") and its variants ("В процессе", "WIP", "In work"); it deliberately accepts "Лид
принят в работу", the acceptance stage M8 recommends.  Every open stage is checked, the first
of a phase too.

The fix, when there is one, is the classifier's suggestion for what is left of the name once
the phrase is taken out ("Согласование договора в процессе" → "Договор согласован"); a bare
"В работе", or "Сделка в работе", leaves nothing to suggest from, and gets none.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from funnelc.diagnostics import Severity
from funnelc.i18n import N_
from funnelc.lint.rule import Finding, LintContext, Rule
from funnelc.lint.rules._common import example_names, rename_fix, verdict


def check(context: LintContext) -> Iterator[Finding]:
    from funnelc.lint.name_types import NameKind

    for stage in context.pipeline.open_stages:
        found = verdict(context, stage.name.value)
        if found.kind is not NameKind.IN_PROGRESS:
            continue
        suggestion = _suggestion(context, stage.name.value)
        yield Finding(
            stage.name.span,
            N_(
                'stage `{stage}` is called "{name}", which says nothing: every stage is in progress'
            ),
            {
                "stage": stage.id.name,
                "name": stage.name.value,
                "examples": example_names(found.language),
                "suggestion": suggestion or "",
            },
            help=N_(
                "name the result a deal in this column has reached, like {examples}; if the "
                "column collects deals at different points, split it into stages that each "
                "end with a result"
            ),
            fix=rename_fix(stage.name.span, suggestion),
        )


_PUNCTUATION = " \t:;,.-–—()[]«»\"'"


def without_phrase(name: str) -> str | None:
    """``name`` with its in-progress phrase (the longest found, as whole words) taken out, or
    ``None`` when no phrase is found as written or nothing is left."""
    from funnelc.lint.names import IN_PROGRESS_PHRASES, IN_PROGRESS_WHOLE_NAMES

    words = list(re.finditer(r"\w+", name))
    norms = [w.group().casefold().replace("ё", "е") for w in words]
    for phrase in sorted(IN_PROGRESS_PHRASES + IN_PROGRESS_WHOLE_NAMES, key=len, reverse=True):
        width = len(phrase)
        for i in range(len(words) - width + 1):
            if tuple(norms[i : i + width]) == phrase:
                start, end = words[i].start(), words[i + width - 1].end()
                rest = re.sub(r"\s+", " ", f"{name[:start]} {name[end:]}").strip(_PUNCTUATION)
                return rest or None
    return None


def _suggestion(context: LintContext, name: str) -> str | None:
    """A result name for an in-progress name: the classifier's suggestion for the rest of the
    name, or the rest itself when it already names a result."""
    from funnelc.lint.name_types import NameKind

    rest = without_phrase(name)
    if rest is None:
        return None
    found = verdict(context, rest)
    if found.kind is NameKind.RESULT:
        return rest[:1].upper() + rest[1:]
    if found.kind in (NameKind.PROCESS, NameKind.MANAGER_ACTION):
        return found.suggestion
    return None


RULE = Rule(
    code="L002",
    name="in-progress-stage",
    group="naming",
    severity=Severity.ERROR,
    principle="M2",
    preset="minimal",
    summary='no stage is called "В работе", "In progress" or a variant of it',
    rationale=(
        'A stage called "in progress" or "in work" says nothing, because every stage is in '
        "progress: it tells neither the manager what has happened nor what ends the stage, "
        "and deals of every kind pile up in it. It is the worst naming mistake, so it is an "
        "error, not a warning."
    ),
    bad='stage work "В работе"',
    good='stage met "Встреча состоялась"',
    check=check,
)
