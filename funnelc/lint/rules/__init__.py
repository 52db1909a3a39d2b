"""The registry of methodology rules, in code order.

Add a rule by writing a module here, named after the rule, that defines ``check`` and
``RULE``, and listing it below; docs/lint.md, ``funnelc rules`` and ``funnelc explain`` pick it
up from the rule's own data.  A rule's ``bad`` and ``good`` examples are complete ``.funnel``
texts when they declare a ``pipeline``; otherwise they are fragments of a deal phase, which
the tests place in a minimal pipeline (tests/test_lint_rules.py checks that ``bad`` triggers
its rule and ``good`` does not).
"""

from __future__ import annotations

from funnelc.lint.rule import Rule
from funnelc.lint.rules import (
    after_sale,
    customer_action,
    goal_and_exit,
    in_progress_stage,
    key_stage,
    lead_boundary,
    loss_reasons,
    pit_revival,
    required_fields,
    result_named_stage,
    rising_probabilities,
    segment,
    sla_everywhere,
    suppressions,
)

RULES: tuple[Rule, ...] = tuple(
    sorted(
        (
            result_named_stage.RULE,
            in_progress_stage.RULE,
            customer_action.RULE,
            goal_and_exit.RULE,
            required_fields.RULE,
            sla_everywhere.RULE,
            pit_revival.RULE,
            lead_boundary.RULE,
            key_stage.RULE,
            segment.RULE,
            loss_reasons.RULE,
            rising_probabilities.RULE,
            after_sale.RULE,
            suppressions.UNUSED,
            suppressions.WITHOUT_REASON,
            suppressions.UNKNOWN_RULE,
        ),
        key=lambda rule: rule.code,
    )
)
