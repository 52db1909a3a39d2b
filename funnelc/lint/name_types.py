"""The classifier's verdict types, apart from the classifier itself.

:mod:`funnelc.lint.names` (the classifier, its tables and pymorphy3) is imported only when a name
must really be classified; the verdict cache and the rules need only these two types, so a warm
``funnelc check`` never imports the classifier.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["NameKind", "NameVerdict"]


class NameKind(enum.Enum):
    """What a stage name says about the stage, in the methodology's terms."""

    RESULT = "result"  # M1-compliant: an achieved result
    PROCESS = "process"  # a noun or activity: no result stated
    IN_PROGRESS = "in_progress"  # M2: "В работе" and friends
    MANAGER_ACTION = "manager_action"  # M3: what the seller did, not the customer
    UNKNOWN = "unknown"  # nothing to analyse (empty, digits, punctuation, other scripts)


@dataclass(frozen=True, slots=True, kw_only=True)
class NameVerdict:
    """The classifier's answer for one stage name.

    ``evidence`` is a short, human-readable reason ("проведена: PRTS perf past") for the
    diagnostic.  ``suggestion`` is a proposed result-form name or None.  ``guessed`` is True when
    the verdict rests on a repaired typo or on an out-of-dictionary word rather than on a
    dictionary parse, so that a lint rule may soften its message.
    """

    kind: NameKind
    language: str  # "ru" or "en"
    evidence: str
    suggestion: str | None = None
    guessed: bool = False
