"""The CRM targets through the command line: building the examples for both CRMs, the
``--unsupported`` switch, target options in ``funnelc.toml`` (per target and per pipeline), and
``funnelc targets``."""

from __future__ import annotations

import importlib
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from funnelc.cli import app
from funnelc.emit import DEFAULT_TARGETS
from tests.conftest import EXAMPLES, ROOT
from tests.test_target_amocrm import PIPELINE_IDS


def invoke(args: Sequence[str]) -> Result:
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the examples as the working directory (no config above it)."""
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FUNNELC_LANG", raising=False)
    return tmp_path


def test_the_examples_build_for_both_crms(workdir: Path) -> None:
    validate_plan = importlib.import_module("funnelc.targets.crm_common").validate_plan
    # The goldens are built with this repository's root as the project root, as its own
    # funnelc.toml makes `funnelc build` do: `source` paths start with `examples/`.
    (workdir / "funnelc.toml").write_text('sources = ["examples"]\n', encoding="utf-8")
    result = invoke(["build", "examples", "-t", "amocrm", "-t", "bitrix24", "-o", "build"])
    assert result.exit_code == 0, result.output
    assert "error[" not in result.stderr
    for target in ("amocrm", "bitrix24"):
        written = sorted(p.name for p in (workdir / "build" / target).iterdir())
        assert written == sorted(f"{p}.{ext}" for p in PIPELINE_IDS for ext in ("json", "md"))
        for pipeline in PIPELINE_IDS:
            plan = json.loads((workdir / "build" / target / f"{pipeline}.json").read_text("utf-8"))
            assert validate_plan(target, plan) == [], (target, pipeline)
    # The goldens are exactly what the command writes.
    for target in ("amocrm", "bitrix24"):
        for golden in (ROOT / "tests" / "golden" / target).iterdir():
            assert (workdir / "build" / target / golden.name).read_bytes() == golden.read_bytes()


@pytest.mark.parametrize(
    ("mode", "exit_code", "shown"),
    [
        ("ignore", 0, set()),
        ("warn", 0, {"warning[F901]"}),
        ("error", 1, {"error[F901]"}),
    ],
)
def test_unsupported_decides_whether_the_build_fails(
    workdir: Path, mode: str, exit_code: int, shown: set[str]
) -> None:
    result = invoke(
        [
            "build",
            "examples",
            "-t",
            "amocrm",
            "-t",
            "bitrix24",
            "-o",
            "out",
            f"--unsupported={mode}",
        ]
    )
    assert result.exit_code == exit_code, result.output
    found = {
        line.split(":")[0]
        for line in result.stderr.splitlines()
        if line.startswith(("warning[", "error["))
    }
    assert shown <= found
    if mode == "ignore":
        assert found == set()
    assert (workdir / "out").is_dir() == (exit_code == 0)


def test_unsupported_from_the_config(workdir: Path) -> None:
    (workdir / "funnelc.toml").write_text('unsupported = "error"\n', encoding="utf-8")
    result = invoke(["build", "examples", "-t", "bitrix24", "-o", "out"])
    assert result.exit_code == 1 and "error[F901]" in result.stderr
    result = invoke(["build", "examples", "-t", "bitrix24", "-o", "out", "--unsupported=warn"])
    assert result.exit_code == 0, result.output


def test_target_options_per_target_and_per_pipeline(workdir: Path) -> None:
    (workdir / "funnelc.toml").write_text(
        'sources = ["examples"]\nout = "crm"\n\n'
        '[targets.bitrix24]\nloss-reasons = "field"\n\n'
        '[targets.bitrix24.pipelines.solution_sales]\nlead-phase = "deal-stages"\n\n'
        '[targets.amocrm]\nlead-phase = "pipeline"\n',
        encoding="utf-8",
    )
    result = invoke(["build"])
    assert result.exit_code == 0, result.output
    assert "F901" not in result.stderr.replace("warning[F901]: amoCRM", "")
    plan = json.loads((workdir / "crm/bitrix24/solution_sales.json").read_text("utf-8"))
    assert plan["options"]["lead-phase"] == "deal-stages"
    assert plan["options"]["loss-reasons"] == "field"
    assert plan["lead_funnel"]["mapping"] == "deal-stages"
    amo = json.loads((workdir / "crm/amocrm/b2b_inbound.json").read_text("utf-8"))
    (create,) = [r for r in amo["requests"] if r["id"] == "pipelines"]
    assert [p["request_id"] for p in create["body"]] == [
        "pipeline.b2b_inbound.lead",
        "pipeline.b2b_inbound",
    ]


def test_the_single_lead_funnel_error_through_the_cli(workdir: Path) -> None:
    (workdir / "funnelc.toml").write_text(
        '[targets.bitrix24]\nlead-phase = "statuses"\n', encoding="utf-8"
    )
    result = invoke(["build", "examples", "-o", "out"])
    assert result.exit_code == 1
    assert "error[F805]: the lead phases of `b2b_inbound` and `solution_sales`" in result.stderr
    assert not (workdir / "out").exists()


def test_a_bad_target_option_fails_the_build(workdir: Path) -> None:
    (workdir / "funnelc.toml").write_text('[targets.amocrm]\nlead-phaze = "x"\n', encoding="utf-8")
    result = invoke(["build", "examples", "-o", "out"])
    assert result.exit_code == 1
    assert "error[F902]" in result.stderr and "did you mean `lead-phase`?" in result.stderr


def test_a_plain_build_does_not_build_the_crms(workdir: Path) -> None:
    result = invoke(["build", "examples", "-o", "out"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (workdir / "out").iterdir() if p.is_dir()) == sorted(
        DEFAULT_TARGETS
    )


def test_targets_lists_both_crms_with_what_they_set_and_leave_to_manual_steps() -> None:
    result = invoke(["targets"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    for name, manual in (("amocrm", "sla"), ("bitrix24", "requires")):
        index = next(i for i, line in enumerate(lines) if line.startswith(name + " "))
        assert "(default)" not in lines[index]
        sets = lines[index + 1].strip()
        assert sets.startswith("sets: pipeline, lead phase, deal stages")
        steps = lines[index + 2].strip()
        assert steps.startswith("manual steps: ") and manual in steps
    assert any("requires" in line for line in lines if line.strip().startswith("sets:"))


# ---- the docs pages --------------------------------------------------------------------------

NEEDLES = {
    "pipeline": "`pipeline`",
    "lead phase": "lead phase",
    "deal stages": "deal stages",
    "won": "`won`",
    "lost outcomes": "`lost`",
    "pit": "pit",
    "loss reasons": "`reason`",
    "fields": "`field`",
    "requires": "`requires`",
    "sla": "`sla`",
    "timeout": "`timeout ->`",
    "revive": "`revive`",
    "next": "`next`",
    "explicit edges": "explicit edges",
    "then": "`then`",
    "probability": "`probability`",
    "goal/exit/task": "`goal`",
    "colour": "`color`",
    "key stage": "`key`",
    "segment": "`segment`",
}
"""How each construct of the targets' capabilities is named in the docs' mapping tables."""


@pytest.mark.parametrize("target", ["amocrm", "bitrix24"])
def test_docs_state_the_mapping_of_every_construct(target: str) -> None:
    from funnelc.emit import get_target

    text = (ROOT / "docs" / "targets" / f"{target}.md").read_text(encoding="utf-8")
    mapping = text.split("## Mapping", 1)[1].split("\n## ", 1)[0]
    capabilities = dict(get_target(target).capabilities.constructs)
    assert set(capabilities) == set(NEEDLES)
    rows = [line for line in mapping.splitlines() if line.startswith("| ")]
    for construct, needle in NEEDLES.items():
        row = next((r for r in rows if needle in r.split("|")[1]), None)
        assert row is not None, f"{target}: no mapping row for {construct}"
        if capabilities[construct] == "manual":
            assert "manual" in row.lower(), f"{target}: {construct} is a manual step"
    assert "[UNCONFIRMED]" in text
