"""The ``plan`` and ``apply`` commands: exit codes, saved plans, asking, credentials."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from funnelc.cli import app
from funnelc.fakes._server import FakeServer
from funnelc.fakes.amocrm import AmoCRM
from funnelc.fakes.bitrix24 import Bitrix24
from tests.sync_support import TOKEN, environ, make_fake, writes

BASE = """\
pipeline sales "Продажи" {
  deal {
    stage meeting "Встреча назначена"
    stage proposal "КП получено"
    won paid "Оплата получена"
    lost failed "Не купили"
  }
}
"""


@pytest.fixture(params=["amocrm", "bitrix24"])
def served(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, AmoCRM | Bitrix24, Path]]:
    fake = make_fake(request.param)
    with FakeServer(fake) as server:
        for name, value in environ(request.param, server, fake).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("FUNNELC_SYNC_BACKOFF", "0.01")
        monkeypatch.delenv("AMOCRM_BASE_URL" if request.param == "bitrix24" else "X", raising=False)
        (tmp_path / "f").mkdir()
        (tmp_path / "f" / "sales.funnel").write_text(BASE, encoding="utf-8")
        monkeypatch.chdir(tmp_path)
        yield request.param, fake, tmp_path / "f"


def invoke(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=stdin)


def test_exit_codes_are_terraforms_detailed_exitcode(
    served: tuple[str, AmoCRM | Bitrix24, Path],
) -> None:
    target, _fake, funnels = served
    assert invoke("plan", str(funnels), "--target", target, "--allow-delete").exit_code == 2
    assert (
        invoke("apply", str(funnels), "--target", target, "--yes", "--allow-delete").exit_code == 0
    )
    assert invoke("plan", str(funnels), "--target", target, "--allow-delete").exit_code == 0


def test_json_plan_is_machine_readable_and_deterministic(
    served: tuple[str, AmoCRM | Bitrix24, Path],
) -> None:
    target, _fake, funnels = served
    first = invoke("plan", str(funnels), "--target", target, "--format", "json")
    second = invoke("plan", str(funnels), "--target", target, "--format", "json")
    assert first.exit_code == second.exit_code == 2
    assert first.stdout == second.stdout
    plan = json.loads(first.stdout)
    assert plan["format"] == "funnelc-plan" and plan["target"] == target
    assert {op["kind"] for op in plan["operations"]} >= {"create"}
    assert len(plan["fingerprint"]) == 64


def test_a_saved_plan_is_applied_and_refused_once_the_account_changed(
    served: tuple[str, AmoCRM | Bitrix24, Path],
) -> None:
    target, fake, funnels = served
    saved = funnels.parent / "plan.json"
    assert invoke("plan", str(funnels), "--target", target, "--out", str(saved)).exit_code == 2
    result = invoke("apply", str(saved), "--target", target, "--yes")
    assert result.exit_code == 0, result.output
    (funnels / "sales.funnel").write_text(BASE.replace("КП получено", "КП у клиента"))
    assert invoke("plan", str(funnels), "--target", target, "--out", str(saved)).exit_code == 2
    # Someone renames a stage in the CRM after the plan was made.
    if isinstance(fake, AmoCRM):
        status = next(s for s in fake.pipeline_named("Продажи").custom())
        status.name = "Переименовано вручную"
    else:
        cid = fake.category_named("Продажи")
        fake.directory(f"DEAL_STAGE_{cid}")[0].name = "Переименовано вручную"
    before = writes(fake)
    result = invoke("apply", str(saved), "--target", target, "--yes")
    assert result.exit_code == 1
    assert "account changed since the plan" in result.output
    assert writes(fake) == before


def test_apply_asks_and_refuses_without_a_terminal(
    served: tuple[str, AmoCRM | Bitrix24, Path],
) -> None:
    target, fake, funnels = served
    result = invoke("apply", str(funnels), "--target", target, stdin="yes\n")
    assert result.exit_code == 1
    assert "not a terminal" in result.output
    assert writes(fake) == 0


def test_missing_credentials_are_an_error(
    served: tuple[str, AmoCRM | Bitrix24, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    target, _fake, funnels = served
    for name in ("AMOCRM_TOKEN", "BITRIX24_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    result = invoke("plan", str(funnels), "--target", target)
    assert result.exit_code == 1
    assert "AMOCRM_TOKEN" in result.output or "BITRIX24_WEBHOOK_URL" in result.output


def test_credentials_from_a_file_outside_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = make_fake("amocrm")
    repo = tmp_path / "repo"
    (repo / "f").mkdir(parents=True)
    (repo / "f" / "sales.funnel").write_text(BASE, encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    monkeypatch.chdir(repo)
    for name in ("AMOCRM_TOKEN", "AMOCRM_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with FakeServer(fake) as server:
        outside = tmp_path / "amo.env"
        outside.write_text(f"AMOCRM_BASE_URL={server.origin}\nAMOCRM_TOKEN={TOKEN}\n")
        monkeypatch.setenv("FUNNELC_CREDENTIALS", str(outside))
        assert invoke("plan", "f", "--target", "amocrm").exit_code == 2
        inside = repo / "amo.env"
        inside.write_text(outside.read_text())
        monkeypatch.setenv("FUNNELC_CREDENTIALS", str(inside))
        result = invoke("plan", "f", "--target", "amocrm")
        assert result.exit_code == 1
        assert "outside the repository" in result.output
        assert TOKEN not in result.output


def test_a_conflict_fails_plan_and_apply_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = make_fake("bitrix24")
    with FakeServer(fake) as server:
        for name, value in environ("bitrix24", server, fake).items():
            monkeypatch.setenv(name, value)
        (tmp_path / "f").mkdir()
        (tmp_path / "f" / "sales.funnel").write_text(BASE, encoding="utf-8")
        monkeypatch.chdir(tmp_path)
        assert invoke("apply", "f", "--target", "bitrix24", "--yes").exit_code == 0
        # `proposal` becomes a lost outcome: SEMANTICS is immutable in Bitrix24.
        changed = BASE.replace('    stage proposal "КП получено"\n', "").replace(
            '    lost failed "Не купили"',
            '    lost failed "Не купили"\n    lost proposal "КП получено"',
        )
        (tmp_path / "f" / "sales.funnel").write_text(changed, encoding="utf-8")
        before = writes(fake)
        result = invoke("plan", "f", "--target", "bitrix24")
        assert result.exit_code == 1
        assert "conflict" in result.output and "SEMANTICS" in result.output
        result = invoke("apply", "f", "--target", "bitrix24", "--yes")
        assert result.exit_code == 1
        assert writes(fake) == before
