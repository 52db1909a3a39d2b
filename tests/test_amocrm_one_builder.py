"""amoCRM has one request builder (``targets/amocrm/requests.py``): the import plan that
``funnelc build --target amocrm`` writes and the requests ``funnelc apply`` sends from an empty
account are the same sequence — methods, paths and bodies — once the plan's references are
resolved to the ids the apply learnt (its lock file).  The plan adds only its pre-flight reads
(GET) and the ``required_statuses`` merge an import into a non-empty account needs."""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from funnelc.cli import app
from funnelc.fakes._server import in_process
from funnelc.fakes.amocrm import AmoCRM
from funnelc.sync.run import prepare, run_apply

FUNNEL = """\
field budget "Бюджет" money
field source "Источник" choice("Сайт", "Звонок", "Выставка")
reason no_budget "Нет бюджета"
reason competitor "Выбрали конкурента"

pipeline sales "Продажи" {
  segment "Компании"
  lead {
    definition "Компания оставила контакты"
    stage new "Заявка получена" { goal "Есть контакты"  exit "Ответил"  sla 2h  requires source }
    accept "ЛПР известен"
  }
  deal {
    stage met "Встреча проведена" { exit "Договорились о КП"  sla 3d }
    stage offer "КП получено" { exit "Клиент прочитал КП"  sla 5d  requires budget }
    stage agreed "Условия согласованы" key { exit "Согласовано"  sla 5d  probability 70% }
    won paid "Оплата получена"
    lost pit "Умиральная яма" { reasons no_budget, competitor }
    lost refused "Отказ клиента"
  }
  timeout -> pit
}
"""


def _recorder(sent: list[tuple[str, str, Any]]) -> Callable[[httpx.Request, bytes], None]:
    """Keeps every write request apply sends (method, path, JSON body)."""

    def observe(request: httpx.Request, body: bytes) -> None:
        if request.method != "GET":
            sent.append((request.method, request.url.path, json.loads(body) if body else None))

    return observe


def _names(entry: dict[str, Any]) -> dict[str, int]:
    """The plan's reference names (``requests.ref_name``) → the ids the apply locked."""
    out: dict[str, int] = {}
    for key, p in entry["pipelines"].items():
        out[f"pipeline.{key}"] = p["id"]
        for stage, ident in p.get("stages", {}).items():
            out[f"status.{key}.{stage}"] = ident
    for key, f in entry["fields"].items():
        out[f"field.{key}"] = f["id"]
    for key, ident in entry.get("loss_reasons", {}).items():
        out[f"loss_reason.{key}"] = ident
    return out


def _resolve(value: Any, names: dict[str, int]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$ref"}:
            return names[value["$ref"].removesuffix(".id")]
        return {k: _resolve(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, names) for v in value]
    return value


def test_the_import_plan_is_what_apply_sends_from_an_empty_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    funnels = tmp_path / "funnels"
    funnels.mkdir()
    (funnels / "sales.funnel").write_text(FUNNEL, encoding="utf-8")
    with contextlib.chdir(tmp_path):
        built = CliRunner().invoke(app, ["build", "funnels", "--target", "amocrm", "-o", "out"])
    assert built.exit_code == 0, built.output
    plan = json.loads((tmp_path / "out/amocrm/sales.json").read_text("utf-8"))

    fake = AmoCRM(token="t0ken")
    sent: list[tuple[str, str, Any]] = []
    monkeypatch.setenv("AMOCRM_BASE_URL", "http://amo.test.invalid")
    monkeypatch.setenv("AMOCRM_TOKEN", "t0ken")
    err = io.StringIO()
    outcome = prepare(
        "amocrm",
        [funnels],
        base_url=None,
        allow_delete=False,
        client_options={"transport": in_process(fake, _recorder(sent))},
        err=err,
    )
    assert outcome.plan is not None, err.getvalue()
    assert run_apply(outcome, None, yes=True, out=io.StringIO(), err=err) == 0, err.getvalue()
    lock = json.loads((funnels / "funnel.lock.json").read_text("utf-8"))
    (entry,) = lock["targets"]["amocrm"].values()
    names = _names(entry)

    def path(text: str) -> str:
        return re.sub(r"\{([A-Za-z0-9_.]+)\.id\}", lambda m: str(names[m.group(1)]), text)

    planned = [
        (r["method"], path(r["path"]), _resolve(r["body"], names))
        for r in plan["requests"]
        if r["method"] != "GET" and not r["id"].startswith("required_statuses")
    ]
    assert [(m, p) for m, p, _ in sent] == [(m, p) for m, p, _ in planned]
    assert sent == planned
    kinds = {r["id"].split(".")[0] for r in plan["requests"]}
    assert {"pipelines", "statuses", "descriptions", "custom_fields", "loss_reasons"} <= kinds
