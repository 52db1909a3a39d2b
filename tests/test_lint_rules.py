"""The methodology lint rules, case by case.

* ``tests/lint/<rule-name>.yaml`` holds one rule's ``pass`` and ``fail`` cases; one
  parametrised test runs them all.  A case is a complete ``.funnel`` text (``source``), which
  must compile without errors, optional ``options`` for the rule (as in
  ``[lint.rules.<name>]``), and for a failing case the findings expected, exactly, as
  ``[line, code]`` pairs (``expect``).  Only the codes in the file's ``codes`` list (default:
  the rule's own code) are compared, so a naming case can also say which rule *did not*
  fire.  ``help`` (optional) is a text the first finding's help line must contain.
* Every rule's documented ``bad`` example triggers the rule and its ``good`` example does
  not (fragments are placed in :data:`HARNESS`).
* The methodology's anti-examples under ``tests/lint/anti/`` produce exactly the findings in
  their ``.expected`` siblings (``pytest --bless`` rewrites them), and the reference
  pipelines under ``examples/`` produce none.
* Presets nest, select / ignore work by code and by name, severities can be overridden.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

import funnelc
from funnelc.compiler import Result
from funnelc.diagnostics import Diagnostic, Severity
from funnelc.lint.engine import LintConfig, config_from_table, fails, find_rule, selected_rules
from funnelc.lint.rule import PRESETS, Rule
from funnelc.lint.rules import RULES
from tests.conftest import EXAMPLES, TESTS, check_golden

CASES = TESTS / "lint"
ANTI = CASES / "anti"

HARNESS = """\
reason no_budget "Нет бюджета"
pipeline harness "Проверка" {{
  segment "Клиенты для проверки правила"
  deal {{
    stage new "Новый клиент" {{ goal "Клиент рассказал о задаче" exit "Задача записана" sla 1d }}
{fragment}
    won paid "Оплата получена"
    lost failed "Не реализовано" {{ reasons no_budget }}
    lost pit "Умиральная яма"
  }}
  timeout -> pit
  revive pit -> new after 30d "Маркетинг прогревает"
}}
"""
"""A minimal pipeline for rule examples that are fragments of a deal phase."""


def _lint(
    source: str, config: LintConfig | None = None, path: str = "case.funnel"
) -> tuple[Result, list[Diagnostic]]:
    result = funnelc.compile_text(source, path, lint=config or LintConfig(preset="strict"))
    errors = [d for d in result.diagnostics if d.code.startswith("F")]
    assert not errors, f"the case does not compile: {[(d.code, d.message) for d in errors]}"
    return result, [d for d in result.diagnostics if d.code.startswith("L")]


def _line(result: Result, diagnostic: Diagnostic) -> int:
    assert diagnostic.span is not None
    return result.sources[diagnostic.span.path].position(diagnostic.span.start).line


# ---- the YAML cases -----------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    rule: Rule
    name: str
    source: str
    expect: tuple[tuple[int, str], ...]
    codes: frozenset[str]
    options: Mapping[str, object] = field(default_factory=dict)
    help: str | None = None


def _cases() -> list[Any]:
    params: list[Any] = []
    for path in sorted(CASES.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        rule = find_rule(path.stem)
        assert rule is not None, f"{path.name} is not named after a rule"
        codes = frozenset(data.get("codes", [rule.code]))
        for outcome in ("pass", "fail"):
            for index, item in enumerate(data.get(outcome) or []):
                expect = tuple((int(line), str(code)) for line, code in item.get("expect", []))
                assert (outcome == "fail") == bool(expect), f"{path.name}: {item.get('name')}"
                case = Case(
                    rule,
                    item.get("name", f"{outcome}-{index}"),
                    item["source"],
                    tuple(sorted(expect)),
                    codes,
                    item.get("options", {}),
                    item.get("help"),
                )
                params.append(pytest.param(case, id=f"{path.stem}/{outcome}/{case.name}"))
    return params


@pytest.mark.parametrize("case", _cases())
def test_rule_case(case: Case) -> None:
    config = LintConfig(preset="strict", rule_options={case.rule.name: dict(case.options)})
    result, found = _lint(case.source, config)
    relevant = [d for d in found if d.code in case.codes]
    actual = sorted((_line(result, d), d.code) for d in relevant)
    assert actual == list(case.expect), [(d.code, d.message, d.help) for d in relevant]
    if case.help is not None:
        first = min(relevant, key=lambda d: (_line(result, d), d.code))
        assert first.help is not None and case.help in first.help, first.help


def test_every_methodology_rule_has_cases() -> None:
    have = {path.stem for path in CASES.glob("*.yaml")}
    for rule in RULES:
        if rule.group != "lint":
            assert rule.name in have, f"tests/lint/{rule.name}.yaml is missing"


def test_options_in_cases_are_real_options() -> None:
    for param in _cases():
        case = param.values[0]
        for option in case.options:
            assert option in case.rule.options, f"{case.rule.name} has no option {option}"


# ---- the rules' own documentation ---------------------------------------------------------
def _example(text: str) -> str:
    if "pipeline " in text:
        return text
    fragment = "\n".join(f"    {line}" for line in text.splitlines())
    return HARNESS.format(fragment=fragment)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_bad_example_triggers_the_rule(rule: Rule) -> None:
    _, found = _lint(_example(rule.bad))
    assert rule.code in {d.code for d in found}, [(d.code, d.message) for d in found]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_good_example_does_not(rule: Rule) -> None:
    _, found = _lint(_example(rule.good))
    assert rule.code not in {d.code for d in found}, [(d.code, d.message) for d in found]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_rule_record(rule: Rule) -> None:
    assert rule.summary and rule.rationale and rule.bad.strip() and rule.good.strip()
    assert rule.preset in PRESETS
    assert set(rule.option_docs) == set(rule.options), "every option is documented"
    if rule.group != "lint":
        module = "funnelc.lint.rules." + rule.name.replace("-", "_")
        assert rule.check.__module__ == module, "a rule lives in a module named after it"
        assert rule.principle.startswith("M")


def test_codes_and_names_are_unique() -> None:
    assert len({r.code for r in RULES}) == len(RULES)
    assert len({r.name for r in RULES}) == len(RULES)
    assert [r.code for r in RULES] == sorted(r.code for r in RULES)


# ---- anti-examples and reference pipelines ------------------------------------------------
def _report(result: Result, found: list[Diagnostic]) -> str:
    lines = []
    for d in found:
        assert d.span is not None
        pos = result.sources[d.span.path].position(d.span.start)
        lines.append((pos.line, pos.column, d.code))
    return "".join(f"{line}:{column} {code}\n" for line, column, code in sorted(lines))


@pytest.mark.parametrize("name", ["manager_actions", "activities", "in_progress"])
def test_anti_example(name: str, bless: bool) -> None:
    path = ANTI / f"{name}.funnel"
    result, found = _lint(path.read_text(encoding="utf-8"), LintConfig(), path=str(path))
    check_golden(ANTI / f"{name}.expected", _report(result, found).encode(), bless)


def test_examples_are_lint_clean() -> None:
    result = funnelc.compile(EXAMPLES, lint=True)
    assert result.diagnostics == (), [(d.code, d.message) for d in result.diagnostics]


def test_examples_under_strict_have_no_warnings() -> None:
    """``strict`` adds only ``info`` reminders to the reference pipelines."""
    result = funnelc.compile(EXAMPLES, lint=LintConfig(preset="strict"))
    assert not fails(result.diagnostics, strict=True), [
        (d.code, d.message) for d in result.diagnostics
    ]


# ---- presets and configuration ------------------------------------------------------------
def test_presets_nest() -> None:
    chosen = [{r.code for r in selected_rules(LintConfig(preset=p))} for p in PRESETS]
    assert chosen[0] < chosen[1] < chosen[2]
    assert find_rule("in-progress-stage") in selected_rules(LintConfig(preset="minimal"))
    assert find_rule("after-sale") not in selected_rules(LintConfig())


NO_SEGMENT = """\
pipeline p "Продажи" {
  deal {
    stage new "Новый клиент"
    won paid "Оплата получена"
    lost failed "Не реализовано"
  }
}
"""


@pytest.mark.parametrize("key", ["L010", "segment", "SEGMENT", "l010"])
def test_ignore_by_code_or_name(key: str) -> None:
    _, found = _lint(NO_SEGMENT, LintConfig())
    assert "L010" in {d.code for d in found}
    _, found = _lint(NO_SEGMENT, LintConfig(ignore=(key,)))
    assert "L010" not in {d.code for d in found}


@pytest.mark.parametrize("key", ["L013", "after-sale"])
def test_select_by_code_or_name(key: str) -> None:
    _, found = _lint(NO_SEGMENT, LintConfig(preset="minimal"))
    assert not found
    _, found = _lint(NO_SEGMENT, LintConfig(preset="minimal", select=(key,)))
    assert {d.code for d in found} == {"L013"}


def test_severity_override_and_strict() -> None:
    _, found = _lint(NO_SEGMENT, LintConfig())
    assert found and all(d.severity is Severity.WARNING for d in found)
    assert not fails(found, strict=False)
    assert fails(found, strict=True)
    config = LintConfig(severities={"segment": Severity.ERROR})
    _, found = _lint(NO_SEGMENT, config)
    by_code = {d.code: d.severity for d in found}
    assert by_code["L010"] is Severity.ERROR
    assert fails(found, strict=False)


def test_rule_options_from_the_config_table() -> None:
    table = {
        "rules": {
            "required-fields": {"min-fields": 2, "severity": "info"},
            "lead-boundary": {"acceptance-words": ["квалифицирован"]},
        }
    }
    config, problems = config_from_table(table, Path("funnelc.toml"))
    assert problems == []
    assert config.rule_options["required-fields"] == {"min-fields": 2}
    assert config.severities["required-fields"] is Severity.INFO
    _, problems = config_from_table(
        {"rules": {"required-fields": {"min-fields": "2"}}}, Path("funnelc.toml")
    )
    assert len(problems) == 1


def test_in_progress_is_an_error_even_under_minimal() -> None:
    source = (ANTI / "in_progress.funnel").read_text(encoding="utf-8")
    result = funnelc.compile_text(source, lint=LintConfig(preset="minimal"))
    assert {d.code for d in result.diagnostics} == {"L002"}
    assert not result.ok
