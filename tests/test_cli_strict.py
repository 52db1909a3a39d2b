"""``--strict``: a run that fails only because of warnings says so in its summary line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from funnelc.cli import app
from tests.test_lint_output import SAMPLE


@pytest.fixture
def sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "sample.funnel"
    path.write_text(SAMPLE, encoding="utf-8")
    return path


def _last_line(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.stderr.rstrip("\n").rsplit("\n", 1)[-1]


@pytest.mark.parametrize("command", ["check", "build"])
def test_strict_says_that_warnings_failed_the_run(sample: Path, command: str) -> None:
    code, line = _last_line([command, "sample.funnel", "--strict"])
    assert code == 1
    assert line.endswith("the run because of `--strict`"), line
    assert "warning" in line


def test_without_strict_the_summary_is_a_count(sample: Path) -> None:
    code, line = _last_line(["check", "sample.funnel"])
    assert code == 0
    assert line.endswith("found") and "--strict" not in line, line


def test_strict_with_errors_keeps_the_usual_summary(sample: Path) -> None:
    sample.write_text(SAMPLE.replace('won w "', 'won w "" lost x "'), encoding="utf-8")
    code, line = _last_line(["check", "sample.funnel", "--strict"])
    assert code == 1
    assert "error" in line and line.endswith("found") and "--strict" not in line, line
