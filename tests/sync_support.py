"""What the tests of ``funnelc plan`` / ``apply`` share: a fake CRM behind a real HTTP server,
the credentials in an environment, one call of plan or apply in-process, and the fake's
account reduced to what the funnels decide (names, order, kinds — no ids)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from funnelc.fakes._server import FakeServer, Faults
from funnelc.fakes.amocrm import AmoCRM
from funnelc.fakes.bitrix24 import Bitrix24
from funnelc.sync.plan import Plan, Session
from funnelc.sync.run import Outcome, prepare, run_apply

TOKEN = "amo-TOKEN-5f1c9e0d7a"
SECRET = "b24hookSECRET4k2j9x"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def make_fake(target: str, **kw: Any) -> AmoCRM | Bitrix24:
    if target == "amocrm":
        return AmoCRM(token=TOKEN, **kw)
    return Bitrix24(secret=SECRET, **kw)


def environ(target: str, server: FakeServer, fake: AmoCRM | Bitrix24) -> dict[str, str]:
    if target == "amocrm":
        return {"AMOCRM_BASE_URL": server.origin, "AMOCRM_TOKEN": TOKEN}
    assert isinstance(fake, Bitrix24)
    return {"BITRIX24_WEBHOOK_URL": server.origin + fake.webhook_path}


def writes(fake: AmoCRM | Bitrix24) -> int:
    """Requests that changed something, as the fake saw them."""
    if isinstance(fake, AmoCRM):
        return sum(not r.startswith("GET ") for r in fake.requests)
    return sum(c.endswith((".add", ".update", ".delete")) for c in fake.calls)


@dataclass
class Run:
    code: int
    out: str
    err: str
    outcome: Outcome | None = None

    @property
    def plan(self) -> Plan:
        assert self.outcome is not None and self.outcome.plan is not None, self.err
        return self.outcome.plan

    @property
    def session(self) -> Session:
        assert self.outcome is not None and self.outcome.session is not None, self.err
        return self.outcome.session


@dataclass
class Crm:
    """A fake CRM served on 127.0.0.1 for one test, and plan / apply run in-process."""

    target: str
    fake: AmoCRM | Bitrix24
    server: FakeServer
    env: dict[str, str] = field(default_factory=dict)

    def plan(self, paths: list[Path], allow_delete: bool = False, **options: Any) -> Run:
        err = io.StringIO()
        outcome = self._prepare(paths, allow_delete, err, options)
        return Run(outcome.code, "", err.getvalue(), outcome)

    def apply(self, paths: list[Path], allow_delete: bool = False, **options: Any) -> Run:
        out, err = io.StringIO(), io.StringIO()
        outcome = self._prepare(paths, allow_delete, err, options)
        if outcome.plan is None:
            return Run(outcome.code, "", err.getvalue(), outcome)
        code = run_apply(outcome, None, yes=True, out=out, err=err)
        return Run(code, out.getvalue(), err.getvalue(), outcome)

    def _prepare(
        self, paths: list[Path], allow_delete: bool, err: io.StringIO, options: dict[str, Any]
    ) -> Outcome:
        import os
        from unittest import mock

        options.setdefault("backoff", 0.01)
        with mock.patch.dict(os.environ, self.env):
            return prepare(
                self.target,
                paths,
                base_url=None,
                allow_delete=allow_delete,
                client_options=options,
                err=err,
            )


def shape(fake: AmoCRM | Bitrix24) -> Any:
    """The account as the funnels decide it: no ids, no lead counts."""
    state = fake.state()
    if isinstance(fake, AmoCRM):
        names = {
            (p["id"], s["id"]): (p["name"], s["name"])
            for p in state["pipelines"]
            for s in p["statuses"]
        }
        return {
            "pipelines": sorted(
                (
                    p["name"],
                    p["is_unsorted_on"],
                    tuple(
                        (
                            s["name"],
                            s["color"],
                            s["type"],
                            tuple((d["level"], d["description"]) for d in s["descriptions"]),
                        )
                        for s in p["statuses"]
                    ),
                )
                for p in state["pipelines"]
            ),
            "fields": sorted(
                (
                    f["name"],
                    f["type"],
                    tuple(e["value"] for e in f["enums"] or ()),
                    tuple(
                        sorted(
                            names[(r["pipeline_id"], r["status_id"])]
                            for r in f["required_statuses"]
                        )
                    ),
                )
                for f in state["custom_fields"]
            ),
            "reasons": sorted(r["name"] for r in state["loss_reasons"]),
        }
    categories = {c["id"]: c["name"] for c in state["categories"]}

    def directory(entity: str) -> str:
        if entity == "STATUS":
            return "leads"
        if entity == "DEAL_STAGE":
            return str(categories[0])
        return str(categories[int(entity.removeprefix("DEAL_STAGE_"))])

    return {
        "categories": sorted((c["name"], c["sort"]) for c in state["categories"]),
        "stages": sorted(
            (
                directory(e),
                tuple(
                    (
                        r["STATUS_ID"].split(":")[-1],
                        r["NAME"],
                        r["SORT"],
                        r["SEMANTICS"],
                        r["COLOR"],
                    )
                    for r in rows
                ),
            )
            for e, rows in state["statuses"].items()
        ),
        "fields": {
            entity: sorted(
                (
                    f["FIELD_NAME"],
                    f["USER_TYPE_ID"],
                    f["EDIT_FORM_LABEL"],
                    tuple(i["VALUE"] for i in f.get("LIST", ())),
                )
                for f in fields
            )
            for entity, fields in state["userfields"].items()
        },
    }


__all__ = ["EXAMPLES", "SECRET", "TOKEN", "Crm", "FakeServer", "Faults", "make_fake", "shape"]
