"""Lint in the CLI: output formats (human, json, sarif, github), --strict, --lang, and the
agreement of `funnelc rules`, `funnelc explain` and docs/lint.md."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from funnelc.cli import app
from funnelc.lint.docs import explain_rule, lint_md
from funnelc.lint.engine import all_rules
from tests.conftest import ROOT

SARIF_SCHEMA = ROOT / "tests" / "schemas" / "sarif-schema-2.1.0.json"
"""The official SARIF 2.1.0 schema (OASIS), vendored from ../shared/schemas so that the test
never depends on anything outside the repository."""

SAMPLE = """\
pipeline p "Продажи" {
  segment "Все клиенты"
  deal {
    stage a "Заявка получена"
    stage b "Договор подписан" { goal "Клиент подписал договор" exit "Скан договора в карточке" }
    won w "Оплата получена"
    lost l "Сделка проиграна"
  }
}
"""


def invoke(args: list[str]) -> object:
    return CliRunner().invoke(app, args)


@pytest.fixture
def sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "sample.funnel"
    path.write_text(SAMPLE, encoding="utf-8")
    return path


def _run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.stdout, result.stderr


def test_warnings_do_not_fail_unless_strict(sample: Path) -> None:
    code, _, err = _run(["check", "sample.funnel"])
    assert code == 0, err
    assert "L004" in err
    code, _, _ = _run(["check", "sample.funnel", "--strict"])
    assert code == 1


def test_strict_from_the_config(sample: Path) -> None:
    (sample.parent / "funnelc.toml").write_text("[lint]\nstrict = true\n", encoding="utf-8")
    assert _run(["check", "sample.funnel"])[0] == 1


def test_ignore_from_the_config(sample: Path) -> None:
    (sample.parent / "funnelc.toml").write_text(
        '[lint]\nignore = ["goal-and-exit"]\n', encoding="utf-8"
    )
    _, _, err = _run(["check", "sample.funnel"])
    assert "L004" not in err


def test_unknown_rule_in_config_is_a_usage_error(sample: Path) -> None:
    (sample.parent / "funnelc.toml").write_text(
        '[lint]\nignore = ["goal-and-exits"]\n', encoding="utf-8"
    )
    code, _, err = _run(["check", "sample.funnel"])
    assert code == 2
    assert "goal-and-exit" in err


def test_json_format(sample: Path) -> None:
    code, out, err = _run(["check", "sample.funnel", "-f", "json"])
    assert code == 0 and err == ""
    data = json.loads(out)
    assert {d["code"] for d in data} >= {"L004"}
    l004 = next(d for d in data if d["code"] == "L004")
    assert l004["severity"] == "warning"
    assert l004["location"]["start"] == {"line": 4, "column": 11, "offset": 66}


def test_sarif_validates_against_the_official_schema(sample: Path) -> None:
    import jsonschema

    code, out, err = _run(["check", "sample.funnel", "-f", "sarif"])
    assert code == 0 and err == ""
    document = json.loads(out)
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [e.message for e in validator.iter_errors(document)]
    assert errors == []
    run = document["runs"][0]
    assert run["columnKind"] == "unicodeCodePoints"
    result = next(r for r in run["results"] if r["ruleId"] == "L004")
    assert result["level"] == "warning"
    region = result["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (4, 11)
    assert result["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "sample.funnel",
        "uriBaseId": "%SRCROOT%",
    }
    # The project root (here the inputs' root: the sample's directory) as an absolute URI.
    assert run["originalUriBaseIds"] == {
        "%SRCROOT%": {"uri": sample.parent.resolve().as_uri() + "/"}
    }
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert rule_ids == sorted(set(rule_ids)) and "L004" in rule_ids


def test_sarif_for_compiler_errors(sample: Path) -> None:
    sample.write_text(SAMPLE.replace("stage b", "stage a"), encoding="utf-8")
    code, out, _ = _run(["check", "sample.funnel", "-f", "sarif"])
    assert code == 1
    run = json.loads(out)["runs"][0]
    result = run["results"][0]
    assert result["ruleId"] == "F101" and result["level"] == "error"
    assert result["relatedLocations"][0]["physicalLocation"]["region"]["startLine"] == 4


def test_github_annotations(sample: Path) -> None:
    code, out, err = _run(["check", "sample.funnel", "-f", "github"])
    assert code == 0 and err == ""
    line = next(line for line in out.splitlines() if "title=L004" in line)
    assert line.startswith("::warning file=sample.funnel,line=4,col=11,")
    assert "%0Ahelp: " in line  # newlines in the message are escaped
    assert "\n" not in line


def test_lang_ru(sample: Path) -> None:
    _, _, err = _run(["check", "sample.funnel", "--lang", "ru"])
    assert "предупреждение[L004]" in err
    assert "найдено:" in err


def test_rules_explain_and_docs_agree() -> None:
    code, out, _ = _run(["rules"])
    assert code == 0
    listed = [line.split()[0] for line in out.splitlines()[1:]]
    assert listed == [rule.code for rule in all_rules()]
    docs = (ROOT / "docs" / "lint.md").read_text(encoding="utf-8")
    assert docs == lint_md(), "docs/lint.md is stale: python -m funnelc.lint.docs > docs/lint.md"
    for rule in all_rules():
        for key in (rule.code, rule.name):
            code, shown, _ = _run(["explain", key])
            assert code == 0
            assert shown.rstrip("\n") == explain_rule(rule).rstrip("\n")
        assert explain_rule(rule, heading="###") in docs
        row = f"| {rule.code} | [{rule.name}]"
        assert row in docs


def test_rules_json() -> None:
    code, out, _ = _run(["rules", "-f", "json"])
    assert code == 0
    data = json.loads(out)
    assert [d["code"] for d in data] == [rule.code for rule in all_rules()]
    assert all({"code", "name", "group", "severity", "preset", "principle"} <= set(d) for d in data)


ANTI = ROOT / "tests" / "lint" / "anti"


def _expected(name: str) -> list[tuple[int, int, str]]:
    rows = []
    for line in (ANTI / f"{name}.expected").read_text(encoding="utf-8").splitlines():
        where, code = line.split()
        row, column = where.split(":")
        rows.append((int(row), int(column), code))
    return sorted(rows)


@pytest.mark.parametrize("name", ["manager_actions", "activities", "in_progress"])
def test_anti_examples_in_every_format(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`funnelc check` reports the expected rule codes at the expected places in the human,
    json, sarif and github formats alike (the .expected files are the reference)."""
    monkeypatch.chdir(ROOT)
    path = f"tests/lint/anti/{name}.funnel"
    expected = _expected(name)

    _, _, human = _run(["check", path])
    shown = sorted(
        (int(row), int(col), code)
        for code, row, col in re.findall(
            r"^(?:warning|error|info)\[(\w+)\]:.*\n\s*--> [^:]+:(\d+):(\d+)", human, flags=re.M
        )
    )
    assert shown == expected

    _, out, _ = _run(["check", path, "-f", "json"])
    as_json = sorted(
        (d["location"]["start"]["line"], d["location"]["start"]["column"], d["code"])
        for d in json.loads(out)
    )
    assert as_json == expected

    _, out, _ = _run(["check", path, "-f", "sarif"])
    results = json.loads(out)["runs"][0]["results"]
    as_sarif = sorted(
        (
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            r["locations"][0]["physicalLocation"]["region"]["startColumn"],
            r["ruleId"],
        )
        for r in results
    )
    assert as_sarif == expected
    import jsonschema

    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    assert [e.message for e in validator.iter_errors(json.loads(out))] == []

    _, out, _ = _run(["check", path, "-f", "github"])
    as_github = sorted(
        (int(row), int(col), code)
        for row, col, code in re.findall(r"line=(\d+),col=(\d+),.*?title=(\w+)::", out)
    )
    assert as_github == expected
