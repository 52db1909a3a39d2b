"""The registry of methodology rules, in code order.

Add a rule by writing a module here that defines ``RULE`` and listing it below; docs/lint.md,
``funnelc rules`` and ``funnelc explain`` pick it up from the rule's own data.
"""

from __future__ import annotations

from funnelc.lint.rule import Rule
from funnelc.lint.rules import goal_and_exit, suppressions

RULES: tuple[Rule, ...] = tuple(
    sorted(
        (
            goal_and_exit.RULE,
            suppressions.UNUSED,
            suppressions.WITHOUT_REASON,
            suppressions.UNKNOWN_RULE,
        ),
        key=lambda rule: rule.code,
    )
)
