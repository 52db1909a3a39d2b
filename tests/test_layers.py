"""The layering contracts (import-linter, ``[tool.importlinter]`` in pyproject.toml) hold, and
they would catch a pass importing a target or the CLI."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / ".ci" / "lint_imports.py"


def run(*extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *extra], capture_output=True, text=True, check=False
    )


def test_the_contracts_are_kept() -> None:
    done = run()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 kept, 0 broken" in done.stdout


@pytest.mark.parametrize(
    ("file", "line"),
    [
        ("funnelc/resolve.py", "import funnelc.targets.dot"),
        ("funnelc/codes.py", "from funnelc.targets import codes as _codes"),
        ("funnelc/lint/rules/segment.py", "import funnelc.cli"),
        ("funnelc/lint/rules/segment.py", "import funnelc.lint.engine"),
    ],
)
def test_a_forbidden_import_breaks_a_contract(file: str, line: str) -> None:
    done = run("--add", file, line)
    assert done.returncode != 0, done.stdout
    assert "BROKEN" in done.stdout
