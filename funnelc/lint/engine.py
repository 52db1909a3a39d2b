"""Pass 5, lint: run the methodology rules on a valid project.

Which rules run is decided by the preset (``minimal`` ⊂ ``recommended`` ⊂ ``strict``;
``recommended`` by default) and the project config's ``select`` / ``ignore`` lists (codes or
names); each rule's options and severity can be set in ``[lint.rules.<name>]``.  Findings become
diagnostics with the rule's code; inline suppressions (:mod:`funnelc.lint.suppress`) are
applied last, and suppressions that are malformed or suppress nothing are reported.

The engine imports the rules through :mod:`funnelc.lint.rules` only; rules never import the
engine or the CLI.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from funnelc import codes
from funnelc.diagnostics import Diagnostic, Label, Severity, suggest
from funnelc.i18n import N_, Fragment, Msg, Text, _, as_fragment, lazy
from funnelc.lint.rule import Finding, LintContext, Rule
from funnelc.model import Project

if TYPE_CHECKING:
    from funnelc.lint.name_cache import NameCache
    from funnelc.lint.suppress import Suppression


@dataclass(frozen=True, slots=True)
class LintConfig:
    preset: str = "recommended"
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    strict: bool = False
    rule_options: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    """Options by rule name (``[lint.rules.<name>]`` minus ``severity``)."""
    severities: Mapping[str, Severity] = field(default_factory=dict)
    """Severity overrides by rule name."""


def all_rules() -> tuple[Rule, ...]:
    from funnelc.lint.rules import RULES

    return RULES


def find_rule(code_or_name: str) -> Rule | None:
    key = code_or_name.strip()
    for rule in all_rules():
        if key.upper() == rule.code or key.lower() == rule.name:
            return rule
    return None


def _rule_hint(name: str) -> str:
    pool = [r.code for r in all_rules()] + [r.name for r in all_rules()]
    return suggest(name, pool, _("`funnelc rules` lists the rules"))


def config_from_table(
    table: Mapping[str, object], path: Path
) -> tuple[LintConfig, list[Diagnostic]]:
    """Read the ``[lint]`` table of the project config: its shape by the declarative spec
    (:data:`funnelc.config.SETTINGS`), then what only the rules know (their names, options)."""
    from funnelc.config import SETTINGS, check_table

    (lint_setting,) = (s for s in SETTINGS if s.key == "lint")
    values, problems = check_table(table, lint_setting.table, path, prefix="lint.")

    def bad(reason: str, hint: str = "") -> None:
        from funnelc.source import display_path

        problems.append(codes.make("F604", None, path=display_path(path), reason=reason, hint=hint))

    def names(key: str) -> tuple[str, ...]:
        value = values.get(key, [])
        assert isinstance(value, list)
        for item in value:
            if find_rule(item) is None:
                bad(
                    _("unknown rule `{name}` in `lint.{key}`").format(name=item, key=key),
                    _rule_hint(item),
                )
        return tuple(value)

    select, ignore = names("select"), names("ignore")
    options: dict[str, dict[str, object]] = {}
    severities: dict[str, Severity] = {}
    rules_table = values.get("rules", {})
    assert isinstance(rules_table, dict)
    for key, value in rules_table.items():
        rule = find_rule(key)
        if rule is None:
            bad(_("unknown rule `{name}` in `[lint.rules]`").format(name=key), _rule_hint(key))
            continue
        if not isinstance(value, dict):
            bad(_("`[lint.rules.{name}]` must be a table").format(name=key))
            continue
        for option, setting in value.items():
            if option == "severity":
                if setting not in ("error", "warning", "info"):
                    bad(_('severity must be "error", "warning" or "info"'))
                else:
                    severities[rule.name] = Severity(setting)
            elif option not in rule.options:
                bad(
                    _("rule `{rule}` has no option `{option}`").format(
                        rule=rule.name, option=option
                    ),
                    _("its options: {options}").format(options=", ".join(rule.options) or "—"),
                )
            elif type(setting) is not type(rule.options[option]):
                bad(
                    _("option `{option}` of `{rule}` must be like {example!r}").format(
                        option=option, rule=rule.name, example=rule.options[option]
                    )
                )
            else:
                options.setdefault(rule.name, {})[option] = setting
    return (
        LintConfig(
            preset=str(values.get("preset", "recommended")),
            select=select,
            ignore=ignore,
            strict=bool(values.get("strict", False)),
            rule_options=options,
            severities=severities,
        ),
        problems,
    )


def selected_rules(config: LintConfig) -> list[Rule]:
    chosen = [r for r in all_rules() if r.in_preset(config.preset)]
    for item in config.select:
        rule = find_rule(item)
        if rule is not None and rule not in chosen:
            chosen.append(rule)
    ignored = {rule.code for item in config.ignore if (rule := find_rule(item)) is not None}
    return [r for r in all_rules() if r in chosen and r.code not in ignored]


def _diagnostic(rule: Rule, finding: Finding, severity: Severity) -> Diagnostic:
    args = dict(finding.args)
    # The arguments as fragments, once for the message, the help line and the labels.
    filled = tuple(sorted([(k, as_fragment(v)) for k, v in args.items()]))
    message = Msg(finding.message, filled)
    help_line = Msg(finding.help, filled) if finding.help else None
    fix = finding.fix
    if fix is not None:
        fix = replace(fix, title=lazy(fix.title, **args))
    return Diagnostic(
        code=rule.code,
        severity=severity,
        message=message,
        span=finding.span,
        labels=tuple(Label(lb.span, _label_message(lb, args, filled)) for lb in finding.labels)
        if finding.labels
        else (),
        help=help_line,
        args=args,
        fix=fix,
    )


def _label_message(
    label: Label, args: Mapping[str, object], filled: tuple[tuple[str, Fragment], ...]
) -> object:
    """A rule's label template (an English id, or a message already) filled from ``args``
    (``filled``: the same as fragments), unrendered."""
    template = label.message_source
    if isinstance(template, str) and not isinstance(template, Text):
        return Msg(template, filled)
    return lazy(label.message, **args)


def _engine_rule(name: str) -> Rule:
    rule = find_rule(name)
    assert rule is not None, name
    return rule


def lint(
    project: Project, config: LintConfig | None = None, *, names: NameCache | None = None
) -> list[Diagnostic]:
    """Every finding of the selected rules on every pipeline, suppressions applied.

    ``names`` is the session's stage-name verdict cache (a fresh one if not given); this run's
    names are kept in it whole, older ones only up to its capacity.  Nothing is written to disk
    here: the session does that when it was asked to.
    """
    config = config or LintConfig()
    if names is None:
        from funnelc.lint.name_cache import NameCache

        names = NameCache()
    names.begin_run()
    memo: dict[str, object] = {}
    rules = selected_rules(config)
    raw: list[tuple[Rule, Diagnostic]] = []
    for pipeline in project.pipelines:
        for rule in rules:
            if rule.group == "lint":
                continue  # the engine's own rules (suppressions) are produced below
            options = {**rule.options, **config.rule_options.get(rule.name, {})}
            severity = config.severities.get(rule.name, rule.severity)
            context = LintContext(project, pipeline, options, memo, names)
            for finding in rule.check(context):
                raw.append((rule, _diagnostic(rule, finding, severity)))
    return _apply_suppressions(project, raw, config, {r.name for r in rules})


def _may_have_pragmas(project: Project) -> bool:
    """Whether a comment could be a ``# funnelc: allow`` pragma (it names funnelc); without
    one, :mod:`funnelc.lint.suppress` is not even imported."""
    return any(
        "funnelc" in comment.text.lower()
        for module in project.modules
        for comment in module.comments
    )


def _apply_suppressions(
    project: Project, raw: Iterable[tuple[Rule, Diagnostic]], config: LintConfig, enabled: set[str]
) -> list[Diagnostic]:
    if not _may_have_pragmas(project):
        return [diagnostic for _rule, diagnostic in raw]  # nothing suppressed, nothing to report
    from funnelc.lint.suppress import covers, parse_suppressions

    suppressions = parse_suppressions(project, project.sources)
    used: set[int] = set()
    kept: list[Diagnostic] = []
    valid: list[tuple[int, Suppression, set[str]]] = []
    problems: list[tuple[str, Diagnostic]] = []
    for index, suppression in enumerate(suppressions):
        codes_named: set[str] = set()
        for name in suppression.rules:
            rule = find_rule(name)
            if rule is None:
                problems.append(
                    (
                        "unknown-rule-in-suppression",
                        _finding_diagnostic(
                            "unknown-rule-in-suppression",
                            Finding(
                                suppression.span,
                                N_("`{name}` is not a lint rule"),
                                {"name": name},
                                help=_rule_hint(name),
                            ),
                            config,
                        ),
                    )
                )
            else:
                codes_named.add(rule.code)
        if not suppression.reason:
            problems.append(
                (
                    "suppression-without-reason",
                    _finding_diagnostic(
                        "suppression-without-reason",
                        Finding(
                            suppression.span,
                            N_("a suppression must say why the rule does not apply"),
                            help=N_(
                                "add the reason after `--`: "
                                "`# funnelc: allow result-named-stage -- the customer's own term`"
                            ),
                        ),
                        config,
                    ),
                )
            )
            used.add(index)  # reported already; "unused" would be noise
            continue
        if not suppression.rules:
            continue
        valid.append((index, suppression, codes_named))
    for rule, diagnostic in raw:
        assert diagnostic.span is not None
        hit = next(
            (
                index
                for index, suppression, named in valid
                if rule.code in named and covers(suppression, diagnostic.span)
            ),
            None,
        )
        if hit is None:
            kept.append(diagnostic)
        else:
            used.add(hit)
    for index, suppression, named in valid:
        if index not in used and named:
            problems.append(
                (
                    "unused-suppression",
                    _finding_diagnostic(
                        "unused-suppression",
                        Finding(
                            suppression.span,
                            N_("this suppression suppresses nothing"),
                            help=N_(
                                "remove it, or check that it sits on or above the line it is for"
                            ),
                        ),
                        config,
                    ),
                )
            )
    kept.extend(d for name, d in problems if name in enabled)
    return kept


def _finding_diagnostic(name: str, finding: Finding, config: LintConfig) -> Diagnostic:
    rule = _engine_rule(name)
    return _diagnostic(rule, finding, config.severities.get(rule.name, rule.severity))


def fails(diagnostics: Iterable[Diagnostic], strict: bool) -> bool:
    """Whether the run fails: any error, or with ``strict`` any warning."""
    return any(
        d.severity is Severity.ERROR or (strict and d.severity is Severity.WARNING)
        for d in diagnostics
    )
