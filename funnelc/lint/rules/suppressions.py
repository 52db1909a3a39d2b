"""The engine's own rules (group ``lint``): problems with inline suppressions.

They have no check of their own — :mod:`funnelc.lint.engine` produces them while applying
suppressions — but they are rules like the others, so they can be selected, ignored,
documented and explained the same way.
"""

from __future__ import annotations

from collections.abc import Iterator

from funnelc.diagnostics import Severity
from funnelc.lint.rule import Finding, LintContext, Rule


def _none(context: LintContext) -> Iterator[Finding]:
    return iter(())


UNUSED = Rule(
    code="L100",
    name="unused-suppression",
    group="lint",
    severity=Severity.WARNING,
    principle="—",
    preset="minimal",
    summary="a `# funnelc: allow` comment that suppresses nothing",
    rationale=(
        "A suppression that no longer matches a finding hides nothing today but will silently "
        "hide the next real problem on that line; remove it once the stage is fixed."
    ),
    bad=('# funnelc: allow result-named-stage -- legacy name\nstage signed "Договор подписан"'),
    good='stage signed "Договор подписан"',
    check=_none,
)

WITHOUT_REASON = Rule(
    code="L101",
    name="suppression-without-reason",
    group="lint",
    severity=Severity.ERROR,
    principle="—",
    preset="minimal",
    summary="a `# funnelc: allow` comment that does not say why",
    rationale=(
        "Bending the methodology is sometimes right, but the reviewer of the pull request must "
        "see why; a suppression without a reason after `--` is not applied."
    ),
    bad='stage talks "Переговоры" # funnelc: allow result-named-stage',
    good=(
        'stage talks "Переговоры" # funnelc: allow result-named-stage -- the customer\'s own term'
    ),
    check=_none,
)

UNKNOWN_RULE = Rule(
    code="L102",
    name="unknown-rule-in-suppression",
    group="lint",
    severity=Severity.WARNING,
    principle="—",
    preset="minimal",
    summary="a `# funnelc: allow` comment naming a rule that does not exist",
    rationale="A misspelt rule name suppresses nothing; funnelc says so and suggests the rule.",
    bad='stage talks "Переговоры" # funnelc: allow result-named -- our term',
    good='stage talks "Переговоры" # funnelc: allow result-named-stage -- our term',
    check=_none,
)
