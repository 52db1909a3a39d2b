"""The hypothesis profile CI selects (tests/conftest.py, .ci/run): derandomized there, random
locally."""

from __future__ import annotations

import os
import subprocess
import sys

from hypothesis import settings

from tests.conftest import ROOT


def test_the_ci_profile_replays_the_same_examples() -> None:
    ci = settings.get_profile("ci")
    assert ci.derandomize
    assert ci.print_blob
    assert ci.deadline is None
    assert ci.max_examples == 100  # as many as hypothesis's default: CI runs today's counts


def _active(profile: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("HYPOTHESIS_PROFILE", "CI")}
    if profile is not None:
        env["HYPOTHESIS_PROFILE"] = profile
    code = (
        "import tests.conftest\n"
        "from hypothesis import settings\n"
        "print(settings.default.derandomize, settings.default.deadline)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_the_environment_selects_the_profile() -> None:
    assert _active("ci") == "True None"
    assert _active(None).startswith("False ")  # a developer's run explores


def test_ci_selects_the_ci_profile_before_the_tests() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "export HYPOTHESIS_PROFILE=ci\n" in script
    assert script.index("export HYPOTHESIS_PROFILE=ci") < script.index(".venv/bin/pytest")
