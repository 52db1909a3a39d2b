"""What a methodology rule is: plain data plus one check function.

A rule knows its code (``L001``), a readable name (``result-named-stage``), its group, its
default severity, the principle of ``methodology.md`` it enforces, the smallest preset it
belongs to, its options with their defaults, and its documentation (summary, rationale, a bad
and a good example) — from which ``funnelc rules``, ``funnelc explain`` and ``docs/lint.md``
are all generated, so they cannot disagree.

A check receives a :class:`LintContext` (the project, one pipeline, the rule's options) and
yields :class:`Finding` s.  Message and help texts are English templates passed through
:func:`funnelc.i18n._` when the finding becomes a diagnostic, so every rule speaks Russian too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from funnelc.diagnostics import Fix, Label, Severity
from funnelc.model import Pipeline, Project
from funnelc.source import Span

if TYPE_CHECKING:
    from funnelc.lint.name_cache import NameCache

PRESETS: tuple[str, ...] = ("minimal", "recommended", "strict")
"""Presets from the smallest to the largest; each contains the ones before it."""

GROUPS: tuple[str, ...] = ("naming", "stages", "timing", "boundaries", "outcomes", "lint")


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem a rule found.  ``message`` and ``help`` are English templates whose
    ``{fields}`` are filled from ``args`` after translation."""

    span: Span
    message: str
    args: Mapping[str, str] = field(default_factory=dict)
    help: str | None = None
    labels: tuple[Label, ...] = ()
    fix: Fix | None = None
    """An obvious edit; its ``title`` is an English template filled from ``args`` too."""


@dataclass(frozen=True, slots=True)
class LintContext:
    """What a check sees: the project, one pipeline, the rule's options, and the run's state.

    ``memo`` holds what rules compute once per project (edge indexes, pipeline facts); the
    engine makes one per lint run, so nothing outlives the run.  ``names`` is the session's
    stage-name verdict cache (:class:`funnelc.lint.name_cache.NameCache`)."""

    project: Project
    pipeline: Pipeline
    options: Mapping[str, object]
    memo: dict[str, object] = field(default_factory=dict)
    names: NameCache | None = None

    def option(self, name: str) -> object:
        return self.options[name]


Check = Callable[[LintContext], Iterable[Finding]]


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    name: str
    group: str
    severity: Severity
    principle: str
    preset: str
    summary: str
    rationale: str
    bad: str
    good: str
    check: Check = field(repr=False, compare=False)
    options: Mapping[str, object] = field(default_factory=dict)
    option_docs: Mapping[str, str] = field(default_factory=dict)

    def in_preset(self, preset: str) -> bool:
        return PRESETS.index(self.preset) <= PRESETS.index(preset)
