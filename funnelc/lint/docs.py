"""The rules' documentation, generated from the rules themselves.

``funnelc rules`` (a table, or JSON), ``funnelc explain CODE|NAME`` (one rule) and
``docs/lint.md`` (all of them, plus the principles no rule can check) come from the same
:class:`~funnelc.lint.rule.Rule` records, so they cannot disagree; a test regenerates
``docs/lint.md`` and compares.  Regenerate it with ``python -m funnelc.lint.docs > docs/lint.md``.
"""

from __future__ import annotations

import json
import sys

from funnelc.i18n import N_, Msg, render
from funnelc.lint.rule import PRESETS, Rule


def _t(message: str, lang: str) -> str:
    return render(Msg(message), lang)


UNCHECKED: tuple[tuple[str, str], ...] = (
    (
        "M10 (the product sold does not matter)",
        "Whether two segments really take different steps to a purchase is a fact about the "
        "customers, not the file; funnelc only checks that each pipeline names its segment and "
        "that no two name the same one.",
    ),
    (
        "M11 (losses attributable to a stage)",
        "Attribution happens in the CRM when a deal is lost; the file can only make it possible "
        "(every open stage may lose into every lost outcome, and lost outcomes carry reasons).",
    ),
    (
        "M5 (required fields declared with a type)",
        "Not a lint rule because the compiler already enforces it: a required field that is "
        "not declared is the error F103, and the grammar gives every field a type.",
    ),
    (
        "M12 (won and lost are both explicit outcomes)",
        "Not a lint rule because the compiler already enforces it: the errors F202 and F203.",
    ),
    (
        "M13 (does the customer need an after-sale pipeline)",
        "Only the team can decide; L013 `after-sale` (in the `strict` preset) only asks.",
    ),
    (
        "M14 (build the pipeline from real deals)",
        "It is about how the file was written — from the last ~20 won deals — which no check of "
        "the file can see.",
    ),
)


def _rules() -> tuple[Rule, ...]:
    from funnelc.lint.rules import RULES

    return RULES


_HEADER = (N_("code"), N_("name"), N_("group"), N_("severity"), N_("preset"), N_("principle"))


def rules_table(lang: str = "en") -> str:
    """The rules as aligned plain-text columns (stable, so scripts and tests can read it; in
    another language only the header is translated, the cells are ids)."""
    header = tuple(_t(h, lang) for h in _HEADER)
    rows = [header] + [
        (r.code, r.name, r.group, r.severity.value, r.preset, r.principle) for r in _rules()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return "\n".join(lines) + "\n"


def rule_dict(rule: Rule, lang: str = "en") -> dict[str, object]:
    return {
        "code": rule.code,
        "name": rule.name,
        "group": rule.group,
        "severity": rule.severity.value,
        "preset": rule.preset,
        "principle": rule.principle,
        "summary": _t(rule.summary, lang),
        "options": dict(rule.options),
    }


def rules_json(lang: str = "en") -> str:
    data = [rule_dict(r, lang) for r in _rules()]
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def _presets_of(rule: Rule) -> str:
    return ", ".join(f"`{p}`" for p in PRESETS if rule.in_preset(p))


def explain_rule(rule: Rule, heading: str = "#", lang: str = "en") -> str:
    """One rule in Markdown: what ``funnelc explain`` prints and ``docs/lint.md`` contains
    (in ``lang``: the summary, rationale and option docs come from the message catalogue)."""
    summary = _t(rule.summary, lang)
    lines = [
        f"{heading} {rule.code}: {rule.name}",
        "",
        f"{summary[:1].upper()}{summary[1:]}.",
        "",
        f"- {_t(N_('principle'), lang)}: {rule.principle}",
        f"- {_t(N_('group'), lang)}: {rule.group}",
        f"- {_t(N_('default severity'), lang)}: {rule.severity.value}",
        f"- {_t(N_('presets'), lang)}: {_presets_of(rule)}",
    ]
    if rule.options:
        lines.append(f"- {_t(N_('options'), lang)}:")
        for name, default in rule.options.items():
            doc = _t(rule.option_docs[name], lang) if rule.option_docs.get(name) else ""
            shown = json.dumps(default, ensure_ascii=False)
            lines.append(
                f"  - `{name}` ({_t(N_('default'), lang)} `{shown}`)" + (f": {doc}" if doc else "")
            )
    lines += [
        "",
        f"{heading}# {_t(N_('Why'), lang)}",
        "",
        _t(rule.rationale, lang),
        "",
        f"{heading}# {_t(N_('Bad'), lang)}",
        "",
        "```funnel",
        rule.bad.rstrip("\n"),
        "```",
        "",
        f"{heading}# {_t(N_('Good'), lang)}",
        "",
        "```funnel",
        rule.good.rstrip("\n"),
        "```",
        "",
    ]
    return "\n".join(lines)


def lint_md() -> str:
    """The whole of ``docs/lint.md``."""
    parts = [
        "# Methodology lint",
        "",
        "<!-- Generated by `python -m funnelc.lint.docs > docs/lint.md`; do not edit by hand. -->",
        "",
        "`funnelc check` and `funnelc build` check every pipeline against the principles of the",
        "sales methodology (M1–M14). Each rule has a code and a name; either may be used in the",
        "configuration, in suppressions and with `funnelc explain`.",
        "",
        "## Configuration",
        "",
        "```toml",
        "[lint]",
        'preset = "recommended"        # minimal ⊂ recommended ⊂ strict',
        'select = ["after-sale"]       # add rules outside the preset (code or name)',
        'ignore = ["L010"]             # switch rules off',
        "strict = false                # true: warnings fail `check` and `build` too",
        "",
        "[lint.rules.required-fields]",
        "min-fields = 2",
        'severity = "error"            # error, warning or info',
        "```",
        "",
        "A finding can be suppressed for one line (a comment at its end) or for the statement",
        "below the comment (a whole stage or pipeline when it has a block), and the reason is",
        "required:",
        "",
        "```funnel",
        "# funnelc: allow result-named-stage -- the customer's own term",
        'stage talks "Переговоры" { goal "…" exit "…" sla 5d }',
        "```",
        "",
        "Warnings never fail a build unless `--strict` (or `strict = true`) is given.",
        "Messages are in English, or in Russian with `--lang ru` or a Russian locale.",
        "",
        "## Rules",
        "",
        "| code | name | group | severity | preset | principle |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for rule in _rules():
        parts.append(
            f"| {rule.code} | [{rule.name}](#{rule.code.lower()}-{rule.name}) | {rule.group} | "
            f"{rule.severity.value} | {rule.preset} | {rule.principle} |"
        )
    parts.append("")
    for rule in _rules():
        parts.append(explain_rule(rule, heading="###"))
    parts += ["## Principles no rule checks", ""]
    for principle, reason in UNCHECKED:
        parts.append(f"- **{principle}** — {reason}")
    parts.append("")
    return "\n".join(parts)


if __name__ == "__main__":
    sys.stdout.write(lint_md())
