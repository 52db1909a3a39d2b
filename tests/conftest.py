"""Shared test helpers: paths, and the ``--bless`` switch that rewrites golden and snapshot files.

Import the helpers as ``from tests.conftest import check_golden``.

Golden files (emitter outputs) and snapshots (rendered diagnostics) are compared byte for byte.
When a change is intended, run ``pytest --bless`` once, review the diff, and commit it.

Hypothesis: ``HYPOTHESIS_PROFILE=ci`` (set by ``.ci/run``) selects the ``ci`` profile below,
which replays the same examples on every run, so a landing is never stopped by an example
nobody has seen before; without it the default profile explores new random examples each run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Snapshots are English: a developer's Russian locale must not change what the CLI prints.
os.environ["FUNNELC_LANG"] = "en"
# Tests must not read or write the user's cache of stage-name verdicts (test_name_cache does,
# in a temporary directory).
os.environ["FUNNELC_NO_CACHE"] = "1"

# The CI profile: derandomized (the examples come from each test's own seed, the same on every
# run), the blob to reproduce a failure printed, no deadline and no too-slow health check (both
# are timings, random on a shared machine).  max_examples stays what each test sets (100 when
# it sets none), so CI runs as many examples as today.
settings.register_profile(
    "ci",
    derandomize=True,
    print_blob=True,
    deadline=None,
    max_examples=100,
    suppress_health_check=[HealthCheck.too_slow],
)
if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TESTS = ROOT / "tests"

COMMANDS = (
    "check",
    "build",
    "fmt",
    "explain",
    "codes",
    "schema",
    "rules",
    "targets",
    "watch",
    "diff",
    "breaking",
    "lsp",
    "plan",
    "apply",
)
"""Every `funnelc` command (the CLI, i18n and docs tests go through each)."""

SMALL_FUNNEL = """\
pipeline p "Продажи" {
  deal {
    stage a "Заявка получена" { goal "Встреча назначена"  exit "Встреча назначена"  sla 1d }
    won w "Оплата получена"
    lost l "Отказ получен"
  }
  timeout -> l
}
"""
"""One clean pipeline (no diagnostics): the smallest input of the CLI, hook and Action tests."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--bless",
        action="store_true",
        default=False,
        help="rewrite golden and snapshot files from the current output instead of comparing",
    )


@pytest.fixture
def bless(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--bless"))


def check_golden(path: Path, actual: bytes, bless: bool) -> None:
    """Compare ``actual`` with the golden file ``path`` (or write it when blessing)."""
    if bless or not path.exists():
        if not bless:
            pytest.fail(f"golden file {path.relative_to(ROOT)} is missing; run pytest --bless")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual)
        return
    expected = path.read_bytes()
    if expected != actual:
        import difflib

        diff = "".join(
            difflib.unified_diff(
                expected.decode("utf-8", "replace").splitlines(keepends=True),
                actual.decode("utf-8", "replace").splitlines(keepends=True),
                "expected",
                "actual",
                n=2,
            )
        )
        pytest.fail(f"{path.relative_to(ROOT)} differs (run pytest --bless if intended):\n{diff}")
