"""The amoCRM fake itself, over HTTP: each behaviour it models (``funnelc/fakes/amocrm.py``,
which cites crm-apis.md §0 / §1 for every one) is checked here."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from funnelc.fakes._server import Faults, ManualClock
from funnelc.fakes.amocrm import LOST, WON, AmoCRM
from tests.crm_sim.harness import SWITCH

PIPELINES = "/api/v4/leads/pipelines"
FIELDS = "/api/v4/leads/custom_fields"
REASONS = "/api/v4/leads/loss_reasons"


class Account:
    def __init__(self, **options: Any) -> None:
        self.fake = AmoCRM(**options)
        self.origin = SWITCH.serve(self.fake)
        self.http = SWITCH.http()
        self.headers = {"Authorization": f"Bearer {self.fake.token}"}

    def raw(self, method: str, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        headers = kw.pop("headers", self.headers)
        if body is not None:
            kw["json"] = body
        return self.http.request(method, self.origin + path, headers=headers, **kw)

    def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        reply = self.raw(method, path, body)
        assert reply.status_code == status, reply.text
        return reply.json() if reply.content else None

    def error(self, method: str, path: str, body: Any = None, status: int = 400) -> str:
        reply = self.raw(method, path, body)
        assert reply.status_code == status, reply.text
        assert reply.headers["content-type"].startswith("application/problem+json")
        return str(reply.json()["detail"])

    def pipeline(self, *names: str, unsorted: bool = False, **more: Any) -> dict[str, Any]:
        statuses = [
            {"name": n, "sort": 10 * (i + 1), "color": "#fffeb2", "request_id": f"s{i}"}
            for i, n in enumerate(names or ("Первый",))
        ]
        item = {
            "name": "Продажи",
            "sort": 100,
            "is_main": False,
            "is_unsorted_on": unsorted,
            "request_id": "p",
            "_embedded": {"statuses": statuses},
            **more,
        }
        (made,) = self.ok("POST", PIPELINES, [item])["_embedded"]["pipelines"]
        return dict(made)


def test_every_request_needs_the_bearer_token() -> None:
    account = Account(token="long-lived")
    assert account.raw("GET", PIPELINES, headers={}).status_code == 401
    wrong = {"Authorization": "Bearer guess"}
    assert account.raw("GET", PIPELINES, headers=wrong).status_code == 401
    assert account.raw("GET", PIPELINES).status_code == 200


def test_the_account_says_whether_loss_reasons_are_enabled() -> None:
    """§0: GET /api/v4/account exposes a read-only is_loss_reason_enabled."""
    assert Account().ok("GET", "/api/v4/account")["is_loss_reason_enabled"] is True
    off = Account(is_loss_reason_enabled=False)
    assert off.ok("GET", "/api/v4/account")["is_loss_reason_enabled"] is False


def test_a_new_pipeline_has_142_143_and_the_inbox_when_asked() -> None:
    """§1.3: 142 / 143 in every pipeline (not editable); the inbox (type 1, sort 10) only with
    is_unsorted_on."""
    account = Account()
    made = account.pipeline("А", "Б", unsorted=True)
    statuses = made["_embedded"]["statuses"]
    assert [(s["name"], s["sort"], s["type"], s["is_editable"]) for s in statuses] == [
        ("Неразобранное", 10, 1, False),
        ("А", 20, 0, True),
        ("Б", 30, 0, True),
        ("Успешно реализовано", 10000, 0, False),
        ("Закрыто и не реализовано", 11000, 0, False),
    ]
    assert [s["id"] for s in statuses][-2:] == [WON, LOST]
    plain = account.pipeline("В", name="Без входящих")
    assert [s["type"] for s in plain["_embedded"]["statuses"]] == [0, 0, 0]


def test_the_server_renumbers_sort() -> None:
    """§0: the create example sends sort 10 and the reply shows 20."""
    account = Account()
    made = account.pipeline("А")
    (first,) = [s for s in made["_embedded"]["statuses"] if s["is_editable"]]
    assert first["sort"] == 20  # sent 10
    pid = made["id"]
    # Order is by the sorts the server holds now: 15 is below А's 20 (though above the 10
    # that was sent for А), so it comes first — a client must not reason from its own sorts.
    more = [{"name": "Между", "sort": 15, "request_id": "m"}]
    (added,) = account.ok("POST", f"{PIPELINES}/{pid}/statuses", more)["_embedded"]["statuses"]
    assert added["sort"] == 20
    after = [{"name": "После", "sort": 35, "request_id": "a"}]
    (last,) = account.ok("POST", f"{PIPELINES}/{pid}/statuses", after)["_embedded"]["statuses"]
    assert last["sort"] == 40
    account.ok("PATCH", f"{PIPELINES}/{pid}/statuses/{last['id']}", {"sort": 1})
    listed = account.ok("GET", f"{PIPELINES}/{pid}/statuses")["_embedded"]["statuses"]
    assert [(s["name"], s["sort"]) for s in listed if s["is_editable"]] == [
        ("После", 20),
        ("Между", 30),
        ("А", 40),
    ]


def test_request_id_comes_back_for_statuses_but_not_inside_a_pipeline_create() -> None:
    """§0: request_id / descriptions inside _embedded.statuses of a pipeline create are
    undocumented; the fake does not echo them there (``echo_embedded_request_id`` does)."""
    account = Account()
    made = account.pipeline("А")
    assert made["request_id"] == "p"
    assert all("request_id" not in s for s in made["_embedded"]["statuses"])
    more = [{"name": "Б", "sort": 50, "request_id": "st-b"}]
    reply = account.ok("POST", f"{PIPELINES}/{made['id']}/statuses", more)
    assert reply["_embedded"]["statuses"][0]["request_id"] == "st-b"
    echoing = Account(echo_embedded_request_id=True).pipeline("А")
    assert [s.get("request_id") for s in echoing["_embedded"]["statuses"]] == ["s0", None, None]


def test_only_142_and_143_may_be_named_by_id_and_only_renamed() -> None:
    account = Account()
    item = {"name": "X", "sort": 1, "is_main": False, "is_unsorted_on": False}
    renamed = {"statuses": [{"id": 142, "name": "Оплачено"}, {"name": "А", "sort": 10}]}
    made = account.ok("POST", PIPELINES, [{**item, "_embedded": renamed}])
    (pipeline,) = made["_embedded"]["pipelines"]
    assert "Оплачено" in [s["name"] for s in pipeline["_embedded"]["statuses"]]
    bad = {"statuses": [{"id": 141, "name": "Ещё"}, {"name": "А", "sort": 10}]}
    assert "142 and 143" in account.error("POST", PIPELINES, [{**item, "_embedded": bad}])
    none = {"statuses": [{"id": 142, "name": "Оплачено"}]}
    assert "custom status" in account.error("POST", PIPELINES, [{**item, "_embedded": none}])
    pid = pipeline["id"]
    assert account.ok("PATCH", f"{PIPELINES}/{pid}/statuses/{WON}", {"name": "Успех"})
    recolour = {"color": "#fffeb2"}
    assert "renamed" in account.error("PATCH", f"{PIPELINES}/{pid}/statuses/{WON}", recolour)
    assert "cannot be deleted" in account.error("DELETE", f"{PIPELINES}/{pid}/statuses/{LOST}")


def test_colours_and_descriptions_are_checked() -> None:
    """§1.3: 21 palette colours; one description per level, ≤ 1000 characters."""
    account = Account()
    pid = account.pipeline("А")["id"]
    path = f"{PIPELINES}/{pid}/statuses"
    assert "palette" in account.error("POST", path, [{"name": "Б", "sort": 5, "color": "#99ccff"}])
    long = [{"level": "newbie", "description": "я" * 1001}]
    assert "1000" in account.error("POST", path, [{"name": "Б", "sort": 5, "descriptions": long}])
    twice = [{"level": "newbie", "description": "a"}, {"level": "newbie", "description": "b"}]
    assert "two" in account.error("POST", path, [{"name": "Б", "sort": 5, "descriptions": twice}])


def test_deleting_a_status_moves_its_leads_to_the_first_stage() -> None:
    """§0: the API does NOT refuse; the leads go to the pipeline's first stage."""
    account = Account()
    made = account.pipeline("А", "Б", "В")
    pid = made["id"]
    ids = {s["name"]: s["id"] for s in made["_embedded"]["statuses"]}
    account.fake.set_leads(pid, ids["В"], 4)
    account.ok("DELETE", f"{PIPELINES}/{pid}/statuses/{ids['В']}", status=204)
    assert account.fake.state()["leads"] == {f"{pid} {ids['А']}": 4}


def test_a_pipeline_with_leads_and_the_last_pipeline_are_not_deleted() -> None:
    """§0: DELETE of a pipeline refuses the last pipeline and a pipeline with leads."""
    account = Account()
    pid = account.pipeline("А")["id"]
    first = account.fake.pipeline_named("Продажи").custom()[0]
    account.fake.set_leads(pid, first.id, 1)
    assert "leads" in account.error("DELETE", f"{PIPELINES}/{pid}")
    account.fake.set_leads(pid, first.id, 0)
    account.ok("DELETE", f"{PIPELINES}/{pid}", status=204)
    (main,) = account.fake.pipelines
    assert "last pipeline" in account.error("DELETE", f"{PIPELINES}/{main}")


def test_is_a_stage_empty() -> None:
    """§0: GET /api/v4/leads filtered on one status, limit=1: 204 when empty."""
    account = Account()
    made = account.pipeline("А")
    pid, sid = made["id"], made["_embedded"]["statuses"][0]["id"]
    query = f"filter[statuses][0][pipeline_id]={pid}&filter[statuses][0][status_id]={sid}&limit=1"
    empty = account.raw("GET", f"/api/v4/leads?{query}")
    assert (empty.status_code, empty.content) == (204, b"")
    account.fake.set_leads(pid, sid, 3)
    leads = account.ok("GET", f"/api/v4/leads?{query}")["_embedded"]["leads"]
    assert len(leads) == 1 and leads[0]["status_id"] == sid


def test_an_empty_list_is_204_with_no_body() -> None:
    """§0 (error-codes.md): e.g. loss reasons and custom fields of a new account."""
    account = Account()
    for path in (REASONS, FIELDS):
        reply = account.raw("GET", path)
        assert (reply.status_code, reply.content) == (204, b"")


def _field(name: str = "Источник", **more: Any) -> dict[str, Any]:
    enums = [{"value": "Сайт", "sort": 10}, {"value": "Звонок", "sort": 20}]
    return {"name": name, "type": "select", "enums": enums, "request_id": "f", **more}


def test_fields_are_created_with_201_and_monetary_needs_a_currency() -> None:
    """§1.5: POST returns 201; §0: currency is required for a monetary field."""
    account = Account()
    made = account.ok("POST", FIELDS, [_field()], status=201)["_embedded"]["custom_fields"]
    assert made[0]["request_id"] == "f" and [e["value"] for e in made[0]["enums"]] == [
        "Сайт",
        "Звонок",
    ]
    money = {"name": "Бюджет", "type": "monetary"}
    assert "currency" in account.error("POST", FIELDS, [money])
    account.ok("POST", FIELDS, [{**money, "currency": "RUB"}], status=201)
    assert "enums" in account.error("POST", FIELDS, [{"name": "X", "type": "select"}])
    assert "lead field type" in account.error("POST", FIELDS, [{"name": "X", "type": "price"}])


def test_a_field_edit_needs_name_and_enums_without_ids_replace_the_old_ones() -> None:
    """§0 (custom-fields.md): name is required in an edit, enums for select fields; enums sent
    without their ids delete the existing ids ("предыдущие ID будут удалены")."""
    account = Account()
    (made,) = account.ok("POST", FIELDS, [_field()], status=201)["_embedded"]["custom_fields"]
    fid, old = made["id"], made["enums"]
    assert "name" in account.error("PATCH", f"{FIELDS}/{fid}", {"enums": old})
    assert "enums" in account.error("PATCH", f"{FIELDS}/{fid}", {"name": "Источник"})
    kept = account.ok("PATCH", f"{FIELDS}/{fid}", {"name": "Источник", "enums": old})
    assert [e["id"] for e in kept["enums"]] == [e["id"] for e in old]
    fresh = [{"value": e["value"], "sort": e["sort"]} for e in old]
    replaced = account.ok("PATCH", FIELDS, [{"id": fid, "name": "Источник", "enums": fresh}])
    new_ids = [e["id"] for e in replaced["_embedded"]["custom_fields"][0]["enums"]]
    assert not set(new_ids) & {e["id"] for e in old}


def test_leads_are_filtered_by_enum_id_and_a_deleted_enum_leaves_them() -> None:
    """filters-api.md: select fields are filtered by enum id (204 when none); an enum the edit
    leaves out is deleted, and the leads that held it no longer do."""
    account = Account()
    (made,) = account.ok("POST", FIELDS, [_field()], status=201)["_embedded"]["custom_fields"]
    fid, (site, call) = made["id"], made["enums"]
    account.fake.set_field_leads(fid, site["id"], 2)
    query = f"/api/v4/leads?filter[custom_fields_values][{fid}][]="
    assert len(account.ok("GET", query + str(site["id"]))["_embedded"]["leads"]) == 2
    assert account.raw("GET", query + str(call["id"])).status_code == 204
    account.ok("PATCH", f"{FIELDS}/{fid}", {"name": "Источник", "enums": [call]})
    assert account.raw("GET", query + str(site["id"])).status_code == 204


def test_field_code_on_create_can_be_refused_as_reported() -> None:
    """§0: amocrm-api-php issue #604 reports 400 for a create with `code` (unconfirmed)."""
    account = Account(refuse_field_code=True)
    assert "code" in account.error("POST", FIELDS, [{"name": "X", "type": "text", "code": "X"}])
    account.ok("POST", FIELDS, [{"name": "X", "type": "text"}], status=201)


def test_custom_fields_are_paged_50_by_default_and_up_to_250() -> None:
    """§0: 50 a page by default, limit up to 250, _links.next while more remain."""
    account = Account()
    for i in range(0, 60, 20):
        batch = [{"name": f"Поле {n}", "type": "text", "code": f"F{n}"} for n in range(i, i + 20)]
        account.ok("POST", FIELDS, batch, status=201)
    first = account.ok("GET", FIELDS)
    assert len(first["_embedded"]["custom_fields"]) == 50 and "next" in first["_links"]
    second = account.ok("GET", first["_links"]["next"]["href"])
    assert len(second["_embedded"]["custom_fields"]) == 10 and "next" not in second["_links"]
    assert len(account.ok("GET", f"{FIELDS}?limit=250")["_embedded"]["custom_fields"]) == 60
    assert "limit" in account.error("GET", f"{FIELDS}?limit=251")


def test_loss_reasons_are_written_as_the_sdk_does() -> None:
    """§0 / §1.4: GET documented; add, updateOne, deleteOne in the SDK; batch edits are not."""
    account = Account()
    body = [{"name": "Дорого", "sort": 10, "request_id": "r1"}]
    (made,) = account.ok("POST", REASONS, body)["_embedded"]["loss_reasons"]
    assert made["request_id"] == "r1"
    rid = made["id"]
    account.ok("PATCH", f"{REASONS}/{rid}", {"name": "Слишком дорого"})
    listed = account.ok("GET", REASONS)["_embedded"]["loss_reasons"]
    assert [r["name"] for r in listed] == ["Слишком дорого"]
    assert account.raw("PATCH", REASONS, [{"id": rid, "name": "x"}]).status_code == 405
    account.ok("DELETE", f"{REASONS}/{rid}", status=204)
    assert account.raw("GET", REASONS).status_code == 204


def test_more_than_7_requests_a_second_get_429_and_repeated_excess_403() -> None:
    """§1.1 (kommo-lim, amo-err)."""
    clock = ManualClock()
    account = Account(limits=True, clock=clock, block_after=3)
    for _ in range(7):
        account.ok("GET", PIPELINES)
    assert account.raw("GET", PIPELINES).status_code == 429
    clock.advance(1.0)
    for _ in range(7):
        account.ok("GET", PIPELINES)
    assert [account.raw("GET", PIPELINES).status_code for _ in range(3)] == [429, 429, 403]
    clock.advance(60)
    assert account.raw("GET", PIPELINES).status_code == 403  # blocked stays blocked


def test_limits_are_off_by_default() -> None:
    account = Account()
    for _ in range(20):
        account.ok("GET", PIPELINES)


@pytest.mark.parametrize("kind", ["429", "503"])
def test_every_nth_call_fails_and_does_nothing(kind: Any) -> None:
    account = Account(faults=Faults(every=2, kind=kind))
    codes = [account.raw("POST", REASONS, [{"name": f"R{i}"}]).status_code for i in range(4)]
    assert codes == [200, int(kind), 200, int(kind)]
    assert len(account.fake.reasons) == 2


def test_a_timeout_fault_holds_the_connection_without_a_reply() -> None:
    account = Account(faults=Faults(every=1, kind="timeout", timeout_delay=0.3))
    with pytest.raises(httpx.TimeoutException):
        account.raw("GET", PIPELINES, timeout=0.1)


def test_the_whole_state_is_plain_data() -> None:
    account = Account()
    account.pipeline("А")
    account.ok("POST", FIELDS, [_field()], status=201)
    state = account.fake.state()
    assert json.loads(json.dumps(state)) == state
    assert [p["name"] for p in state["pipelines"]] == ["Воронка", "Продажи"]
    assert state["custom_fields"][0]["name"] == "Источник"


def test_python_m_funnelc_fakes_serves_amocrm_on_loopback() -> None:
    import subprocess
    import sys

    args = [sys.executable, "-m", "funnelc.fakes", "amocrm", "--port", "0"]
    with subprocess.Popen(args, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            base = proc.stdout.readline().strip().removeprefix("AMOCRM_BASE_URL=")
            token = proc.stdout.readline().strip().removeprefix("AMOCRM_TOKEN=")
            assert base.startswith("http://127.0.0.1:")
            reply = httpx.get(f"{base}{PIPELINES}", headers={"Authorization": f"Bearer {token}"})
            assert reply.json()["_embedded"]["pipelines"][0]["name"] == "Воронка"
        finally:
            proc.terminate()
