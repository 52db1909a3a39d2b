"""The Bitrix24 fake itself, over HTTP: each behaviour it models (``funnelc/fakes/bitrix24.py``,
which cites crm-apis.md §0 for every one) is checked here, so the plan replays and the future
``plan`` / ``apply`` are checked against something that is itself tested."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import httpx
import pytest

from funnelc.fakes._server import FakeServer, Faults, ManualClock
from funnelc.fakes.bitrix24 import DEAL_PRESETS, Bitrix24, process_batch_element
from tests.crm_sim.harness import SWITCH


class Portal:
    """A fake and a client for it."""

    def __init__(self, **options: Any) -> None:
        self.fake = Bitrix24(**options)
        self.url = SWITCH.serve(self.fake) + self.fake.webhook_path
        self.http = SWITCH.http()

    def raw(self, method: str, params: dict[str, Any] | None = None) -> httpx.Response:
        return self.http.post(f"{self.url}{method}.json", json=params or {})

    def ok(self, method: str, params: dict[str, Any] | None = None) -> Any:
        reply = self.raw(method, params)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def error(self, method: str, params: dict[str, Any] | None = None, status: int = 400) -> str:
        reply = self.raw(method, params)
        assert reply.status_code == status, reply.text
        body = reply.json()
        assert set(body) == {"error", "error_description"}  # §2.1 error format
        return str(body["error_description"])

    @staticmethod
    def error_of(reply: httpx.Response) -> str:
        assert reply.status_code == 400, reply.text
        return str(reply.json()["error_description"])

    def category(self, name: str = "Продажи") -> int:
        return int(
            self.ok("crm.category.add", {"entityTypeId": 2, "fields": {"name": name}})["result"][
                "category"
            ]["id"]
        )

    def stages(self, entity: str) -> list[tuple[str, str, str | None]]:
        rows = self.ok("crm.status.list", {"filter": {"ENTITY_ID": entity}})["result"]
        return [(r["STATUS_ID"], r["SORT"], r["SEMANTICS"]) for r in rows]

    def row(self, entity: str, status_id: str) -> dict[str, Any]:
        params = {"filter": {"ENTITY_ID": entity, "STATUS_ID": status_id}}
        (row,) = self.ok("crm.status.list", params)["result"]
        return dict(row)

    def add(self, entity: str, code: str, name: str = "Этап", **more: Any) -> httpx.Response:
        fields = {"ENTITY_ID": entity, "STATUS_ID": code, "NAME": name, "SORT": 15, **more}
        return self.raw("crm.status.add", {"fields": fields})

    def batch(self, cmd: dict[str, str], halt: int = 0) -> dict[str, Any]:
        result: dict[str, Any] = self.ok("batch", {"halt": halt, "cmd": cmd})["result"]
        return result


# ---- transport -----------------------------------------------------------------------------


def test_the_webhook_url_holds_the_user_and_the_secret() -> None:
    portal = Portal(secret="s3cret", user_id=7)
    assert portal.url.endswith("/rest/7/s3cret/")
    assert portal.ok("crm.category.list", {"entityTypeId": 2})["total"] == 1
    wrong = portal.url.replace("s3cret", "guess")
    reply = portal.http.post(f"{wrong}crm.category.list.json", json={"entityTypeId": 2})
    assert reply.status_code == 401 and reply.json()["error"] == "INVALID_CREDENTIALS"
    assert portal.raw("crm.nothing.here").json()["error"] == "ERROR_METHOD_NOT_FOUND"


def test_bodies_may_be_json_form_encoded_or_a_query_string() -> None:
    portal = Portal()
    form = "entityTypeId=2&fields[name]=%D0%A4%D0%BE%D1%80%D0%BC%D0%B0&fields[sort]=42"
    reply = portal.http.post(
        f"{portal.url}crm.category.add",
        content=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert reply.json()["result"]["category"]["name"] == "Форма"
    assert reply.json()["result"]["category"]["sort"] == 42
    listed = portal.http.get(f"{portal.url}crm.category.list.json?entityTypeId=2").json()
    assert [c["name"] for c in listed["result"]["categories"]] == ["General", "Форма"]


def test_the_default_category_is_0_and_cannot_be_deleted() -> None:
    portal = Portal()
    (general,) = portal.ok("crm.category.list", {"entityTypeId": 2})["result"]["categories"]
    assert (general["id"], general["isDefault"]) == (0, "Y")
    assert "default" in portal.error("crm.category.delete", {"entityTypeId": 2, "id": 0})


def test_a_category_with_deals_cannot_be_deleted() -> None:
    portal = Portal()
    cid = portal.category()
    portal.fake.set_items(f"DEAL_STAGE_{cid}", f"C{cid}:NEW", 1)
    assert "deals" in portal.error("crm.category.delete", {"entityTypeId": 2, "id": cid})
    portal.fake.set_items(f"DEAL_STAGE_{cid}", f"C{cid}:NEW", 0)
    portal.ok("crm.category.delete", {"entityTypeId": 2, "id": cid})
    assert portal.stages(f"DEAL_STAGE_{cid}") == []


def test_category_names_are_1_to_255_characters() -> None:
    portal = Portal()
    portal.category("я" * 255)
    for name in ("я" * 256, "", "   "):
        assert "255" in portal.error(
            "crm.category.add", {"entityTypeId": 2, "fields": {"name": name}}
        )
    cid = portal.category()
    portal.ok("crm.category.update", {"entityTypeId": 2, "id": cid, "fields": {"name": "Б"}})
    got = portal.ok("crm.category.get", {"entityTypeId": 2, "id": cid})["result"]["category"]
    assert got["name"] == "Б"


# ---- presets -----------------------------------------------------------------------------------


def test_a_new_category_gets_the_default_deal_stages() -> None:
    """§0: NEW 10, PREPARATION 20, PREPAYMENT_INVOICE 30, EXECUTING 40, FINAL_INVOICE 50,
    WON 60 (S), LOSE 70 (F), APOLOGY 80 (F), as C{id}:CODE in DEAL_STAGE_{id}."""
    portal = Portal(first_category_id=7)
    assert portal.category() == 7
    assert portal.stages("DEAL_STAGE_7") == [
        ("C7:NEW", "10", None),
        ("C7:PREPARATION", "20", None),
        ("C7:PREPAYMENT_INVOICE", "30", None),
        ("C7:EXECUTING", "40", None),
        ("C7:FINAL_INVOICE", "50", None),
        ("C7:WON", "60", "S"),
        ("C7:LOSE", "70", "F"),
        ("C7:APOLOGY", "80", "F"),
    ]
    assert portal.row("DEAL_STAGE_7", "C7:NEW")["SYSTEM"] == "Y"
    assert portal.row("DEAL_STAGE_7", "C7:PREPARATION")["SYSTEM"] == "N"
    assert len(DEAL_PRESETS) == 8


def test_the_lead_statuses_are_new_in_process_processed_converted_junk() -> None:
    """§0: there is no ASSIGNED."""
    assert Portal().stages("STATUS") == [
        ("NEW", "10", None),
        ("IN_PROCESS", "20", None),
        ("PROCESSED", "30", None),
        ("CONVERTED", "40", "S"),
        ("JUNK", "50", "F"),
    ]


# ---- STATUS_ID, NAME, semantics, sort ----------------------------------------------------------


@pytest.mark.parametrize(("category", "room"), [(1, 19), (12345, 15)])
def test_status_id_room_is_22_minus_the_prefix(category: int, room: int) -> None:
    """§0 validateStatusId: 22 − len("C{id}:") for a deal stage."""
    portal = Portal(first_category_id=category)
    entity = f"DEAL_STAGE_{portal.category()}"
    assert portal.add(entity, "A" * room).status_code == 200
    assert "longer than 22" in portal.error_of(portal.add(entity, "B" * (room + 1)))
    # The prefix is added, or kept when given.
    assert portal.add(entity, f"C{category}:KEPT").status_code == 200
    codes = [code for code, _, _ in portal.stages(entity)]
    assert f"C{category}:{'A' * room}" in codes and f"C{category}:KEPT" in codes


def test_lead_status_ids_have_at_most_21_characters_of_a_z_0_9_dash_underscore() -> None:
    portal = Portal()
    assert portal.add("STATUS", "L" * 21).status_code == 200
    assert "longer than 21" in portal.error_of(portal.add("STATUS", "M" * 22))
    assert "characters" in portal.error_of(portal.add("STATUS", "lower"))
    assert "characters" in portal.error_of(portal.add("STATUS", "SP ACE"))
    assert portal.add("STATUS", "R-BUDGET_2").status_code == 200
    assert "exists" in portal.error_of(portal.add("STATUS", "NEW"))


def test_stage_names_have_at_most_100_characters() -> None:
    """§0: statustable.php configureSize(100)."""
    portal = Portal()
    assert portal.add("STATUS", "N100", "я" * 100).status_code == 200
    assert "100" in portal.error_of(portal.add("STATUS", "N101", "я" * 101))
    row = portal.row("STATUS", "N100")
    update = {"id": row["ID"], "fields": {"NAME": "я" * 101, "SORT": 15}}
    assert "100" in portal.error("crm.status.update", update)


def test_one_success_stage_per_directory() -> None:
    """§0: statustable.php onBeforeAdd refuses a second S; onBeforeUpdate refuses turning a
    stage into S (SEMANTICS is immutable)."""
    portal = Portal()
    entity = f"DEAL_STAGE_{portal.category()}"
    assert "one success stage" in portal.error_of(
        portal.add(entity, "WON2", SORT=65, SEMANTICS="S")
    )
    assert portal.add(entity, "LOST2", SORT=90, SEMANTICS="F").status_code == 200
    row = portal.row(entity, "C1:PREPARATION")
    update = {"id": row["ID"], "fields": {"SEMANTICS": "S"}}
    assert "cannot change" in portal.error("crm.status.update", update)


def test_an_in_progress_stage_after_success_is_refused() -> None:
    """§2.3: "Cannot create an intermediate stage after success"."""
    portal = Portal()
    entity = f"DEAL_STAGE_{portal.category()}"
    assert "after success" in portal.error_of(portal.add(entity, "LATE", SORT=65))
    row = portal.row(entity, "C1:NEW")
    update = {"id": row["ID"], "fields": {"NAME": "Новая", "SORT": 75}}
    assert "after success" in portal.error("crm.status.update", update)
    assert portal.row(entity, "C1:NEW")["SORT"] == "10"  # refused: nothing changed


def test_updating_a_name_without_sort_resets_the_sort_to_10() -> None:
    """§0: CCrmStatus::Update resets SORT to 10 when it is not sent."""
    portal = Portal()
    row = portal.row("STATUS", "PROCESSED")
    assert row["SORT"] == "30"
    portal.ok("crm.status.update", {"id": row["ID"], "fields": {"NAME": "Обработан"}})
    after = portal.row("STATUS", "PROCESSED")
    assert (after["NAME"], after["SORT"]) == ("Обработан", "10")
    portal.ok("crm.status.update", {"id": row["ID"], "fields": {"NAME": "Снова", "SORT": 30}})
    assert portal.row("STATUS", "PROCESSED")["SORT"] == "30"


def test_a_status_that_holds_items_is_not_deleted() -> None:
    """§0: "There are active items in this status"; system stages need FORCED=Y."""
    portal = Portal()
    entity = f"DEAL_STAGE_{portal.category()}"
    portal.fake.set_items(entity, "C1:EXECUTING", 3)
    row = portal.row(entity, "C1:EXECUTING")
    assert "active items" in portal.error("crm.status.delete", {"id": row["ID"]})
    portal.fake.set_items(entity, "C1:EXECUTING", 0)
    portal.ok("crm.status.delete", {"id": row["ID"]})
    lose = portal.row(entity, "C1:LOSE")
    assert "FORCED" in portal.error("crm.status.delete", {"id": lose["ID"]})
    portal.ok("crm.status.delete", {"id": lose["ID"], "params": {"FORCED": "Y"}})
    assert "C1:LOSE" not in [code for code, _, _ in portal.stages(entity)]


def test_deals_in_a_stage_are_counted_by_crm_deal_list_total() -> None:
    """§0 "Counting deals in a stage": crm.deal.list filtered on STAGE_ID, read total."""
    portal = Portal()
    entity = f"DEAL_STAGE_{portal.category()}"
    portal.fake.set_items(entity, "C1:NEW", 60)
    reply = portal.ok("crm.deal.list", {"filter": {"STAGE_ID": "C1:NEW"}, "select": ["ID"]})
    assert (reply["total"], len(reply["result"]), reply["next"]) == (60, 50, 50)
    empty = portal.ok("crm.deal.list", {"filter": {"STAGE_ID": "C1:WON"}})
    assert (empty["total"], empty["result"]) == (0, [])


# ---- paging ----------------------------------------------------------------------------------


def test_list_methods_return_50_rows_a_page() -> None:
    """§0: crm.status.list, crm.category.list, crm.*.userfield.list page by 50."""
    portal = Portal()
    for i in range(60):
        fields = {"FIELD_NAME": f"F{i}", "USER_TYPE_ID": "string", "LABEL": f"Поле {i}"}
        portal.ok("crm.deal.userfield.add", {"fields": fields})
    first = portal.ok("crm.deal.userfield.list", {})
    assert (len(first["result"]), first["total"], first["next"]) == (50, 60, 50)
    second = portal.ok("crm.deal.userfield.list", {"start": 50})
    assert (len(second["result"]), second["total"]) == (10, 60) and "next" not in second
    names = [f["FIELD_NAME"] for f in first["result"] + second["result"]]
    assert names == [f"UF_CRM_F{i}" for i in range(60)]
    for i in range(60):
        portal.category(f"К{i}")
    categories = portal.ok("crm.category.list", {"entityTypeId": 2})
    assert (len(categories["result"]["categories"]), categories["total"]) == (50, 61)
    statuses = portal.ok("crm.status.list", {})
    assert len(statuses["result"]) == 50 and statuses["total"] == 5 + 8 + 60 * 8


# ---- user fields ---------------------------------------------------------------------------------


def test_field_names_have_at_most_50_characters_with_uf_crm() -> None:
    """§0: FIELD_NAME ≤ 50 including UF_CRM_ (43 usable); [A-Z0-9_]."""
    portal = Portal()
    ok = {"FIELD_NAME": "X" * 43, "USER_TYPE_ID": "string", "LABEL": "a"}
    assert portal.ok("crm.lead.userfield.add", {"fields": ok})["result"] > 0
    long = {**ok, "FIELD_NAME": "Y" * 44}
    assert "longer than 50" in portal.error("crm.lead.userfield.add", {"fields": long})
    bad = {**ok, "FIELD_NAME": "lower"}
    assert "characters" in portal.error("crm.lead.userfield.add", {"fields": bad})
    again = {**ok, "FIELD_NAME": "UF_CRM_" + "X" * 43}
    assert "exists" in portal.error("crm.lead.userfield.add", {"fields": again})


def test_an_enumeration_list_is_updated_by_item_id() -> None:
    portal = Portal()
    fields = {
        "FIELD_NAME": "SOURCE",
        "USER_TYPE_ID": "enumeration",
        "LABEL": "Источник",
        "LIST": [{"VALUE": "Сайт", "SORT": 10}, {"VALUE": "Звонок", "SORT": 20}],
    }
    fid = portal.ok("crm.deal.userfield.add", {"fields": fields})["result"]
    items = portal.ok("crm.deal.userfield.get", {"id": fid})["result"]["LIST"]
    assert [i["VALUE"] for i in items] == ["Сайт", "Звонок"]
    change = [{"VALUE": "Выставка", "SORT": 30}, {"ID": items[0]["ID"], "DEL": "Y"}]
    portal.ok("crm.deal.userfield.update", {"id": fid, "fields": {"LIST": change}})
    assert portal.fake.fields["deal"]["UF_CRM_SOURCE"].values == ["Звонок", "Выставка"]
    portal.ok("crm.deal.userfield.delete", {"id": fid})
    assert portal.fake.fields["deal"] == {}


def test_deals_are_filtered_by_a_list_item_and_a_deleted_item_leaves_them() -> None:
    portal = Portal()
    fields = {
        "FIELD_NAME": "SOURCE",
        "USER_TYPE_ID": "enumeration",
        "LABEL": "Источник",
        "LIST": [{"VALUE": "Сайт", "SORT": 10}, {"VALUE": "Звонок", "SORT": 20}],
    }
    fid = portal.ok("crm.deal.userfield.add", {"fields": fields})["result"]
    site, call = portal.ok("crm.deal.userfield.get", {"id": fid})["result"]["LIST"]
    portal.fake.set_field_items("deal", "UF_CRM_SOURCE", int(site["ID"]), 3)

    def total(item: str) -> int:
        params = {"filter": {"UF_CRM_SOURCE": item}, "select": ["ID"]}
        return int(portal.ok("crm.deal.list", params)["total"])

    assert (total(site["ID"]), total(call["ID"])) == (3, 0)
    change = [{"ID": site["ID"], "DEL": "Y"}]
    portal.ok("crm.deal.userfield.update", {"id": fid, "fields": {"LIST": change}})
    assert total(site["ID"]) == 0


# ---- batch ---------------------------------------------------------------------------------------


def test_references_are_replaced_greedily() -> None:
    """§0: /\\$result([^\\s]*)/ takes the whole tail, so C$result[cat][category][id]:X → C7."""
    replies = {"result": {"cat": {"category": {"id": 7}}}, "next": {}}
    assert process_batch_element("C$result[cat][category][id]:PREPARATION", replies) == "C7"
    assert process_batch_element("DEAL_STAGE_$result[cat][category][id]", replies) == (
        "DEAL_STAGE_7"
    )
    # Whole value: the raw value; an unresolved path stops at the last value found.
    assert process_batch_element("$result[cat][category][id]", replies) == 7
    assert process_batch_element("$result[cat][category][nope]", replies) == {"id": 7}
    # Inside a longer value the current core casts a number; older cores skip non-strings.
    assert process_batch_element("DEAL_STAGE_$result[cat][category][id]", replies, True) == (
        "DEAL_STAGE_$result[cat][category][id]"
    )
    # The tail ends at ASCII whitespace only (PCRE's \s): a no-break space is part of it.
    assert process_batch_element("$result[cat][category][id]\u00a0x", replies) == 7
    assert process_batch_element("C$result[cat][category][id] x", replies) == "C7 x"
    # A non-string (an array) inside a longer value is skipped by every core.
    assert process_batch_element("X$result[cat][category]", replies) == "X$result[cat][category]"


def test_a_batch_decodes_first_then_substitutes() -> None:
    portal = Portal(first_category_id=7)
    name = urllib.parse.quote("Продажи", safe="")
    cmd = {
        "cat": f"crm.category.add?entityTypeId=2&fields[name]={name}",
        # The suffix is eaten: the filter is STATUS_ID=C7, which matches nothing.
        "glued": "crm.status.list?filter[STATUS_ID]=C$result[cat][category][id]:PREPARATION",
        # A tail reference works on the current core; percent-encoding does not hide it.
        "tail": "crm.status.list?filter[ENTITY_ID]=DEAL_STAGE_"
        + urllib.parse.quote("$result[cat][category][id]", safe=""),
        # A whole-value reference to an empty list sends id=[]: "Invalid identifier."
        "delete": "crm.status.delete?id=$result[glued][0][ID]",
    }
    reply = portal.batch(cmd)
    assert reply["result"]["glued"] == []
    assert len(reply["result"]["tail"]) == 8
    assert reply["result_total"] == {"glued": 0, "tail": 8}
    assert reply["result_error"]["delete"]["error_description"] == "Invalid identifier."
    assert set(reply["result_time"]) == {"cat", "glued", "tail"}


def test_older_cores_skip_a_number_inside_a_longer_value() -> None:
    portal = Portal(first_category_id=7, old_core=True)
    cmd = {
        "cat": "crm.category.add?entityTypeId=2&fields[name]=A",
        "tail": "crm.status.list?filter[ENTITY_ID]=DEAL_STAGE_$result[cat][category][id]",
    }
    assert portal.batch(cmd)["result"]["tail"] == []


def test_halt_stops_at_the_first_error() -> None:
    portal = Portal()
    cmd = {
        "a": "crm.status.delete?id=999",
        "b": "crm.category.add?entityTypeId=2&fields[name]=B",
    }
    stopped = portal.batch(cmd, halt=1)
    assert list(stopped["result_error"]) == ["a"] and stopped["result"] == {}
    went_on = portal.batch(cmd, halt=0)
    assert list(went_on["result_error"]) == ["a"] and "b" in went_on["result"]


def test_a_batch_has_at_most_50_commands_and_no_nested_batch() -> None:
    portal = Portal()
    many = {f"c{i}": "crm.category.list?entityTypeId=2" for i in range(51)}
    assert "at most 50" in portal.error("batch", {"cmd": many})
    assert len(portal.batch(dict(list(many.items())[:50]))["result"]) == 50
    nested = portal.batch({"n": "batch?cmd[x]=crm.category.list"})
    assert "Nested" in nested["result_error"]["n"]["error_description"]
    as_list = portal.ok("batch", {"cmd": ["crm.category.list?entityTypeId=2"]})["result"]
    assert list(as_list["result"]) == ["0"]


# ---- limits and faults ---------------------------------------------------------------------


def test_the_leaky_bucket_holds_50_and_drains_2_a_second() -> None:
    """§0 / limits.md: 503 QUERY_LIMIT_EXCEEDED above the bucket; a batch is one request."""
    clock = ManualClock()
    portal = Portal(limits=True, clock=clock)
    cmd = {f"c{i}": "crm.category.list?entityTypeId=2" for i in range(50)}
    for _ in range(49):
        portal.ok("crm.category.list", {"entityTypeId": 2})
    portal.ok("batch", {"cmd": cmd})  # the 50th request, 50 commands
    refused = portal.raw("crm.category.list", {"entityTypeId": 2})
    assert refused.status_code == 503 and refused.json()["error"] == "QUERY_LIMIT_EXCEEDED"
    clock.advance(0.5)  # one request drained
    portal.ok("crm.category.list", {"entityTypeId": 2})
    assert portal.raw("crm.category.list", {"entityTypeId": 2}).status_code == 503
    clock.advance(25)  # the whole bucket drained
    for _ in range(50):
        portal.ok("crm.category.list", {"entityTypeId": 2})


def test_the_per_method_time_budget_is_480_seconds_in_10_minutes() -> None:
    """§0 / limits.md: 429 OPERATION_TIME_LIMIT; each reply carries time.operating."""
    clock = ManualClock()
    portal = Portal(limits=True, clock=clock, method_cost=lambda m: 100.0)
    for _ in range(5):
        portal.ok("crm.status.list", {})
        clock.advance(1)
    refused = portal.raw("crm.status.list", {})
    assert refused.status_code == 429 and refused.json()["error"] == "OPERATION_TIME_LIMIT"
    reply = portal.ok("crm.category.list", {"entityTypeId": 2})  # another method is not blocked
    assert reply["time"]["operating"] == 100.0 and "operating_reset_at" in reply["time"]
    clock.advance(600)
    portal.ok("crm.status.list", {})


def test_limits_are_off_by_default() -> None:
    portal = Portal()
    for _ in range(60):
        portal.ok("crm.category.list", {"entityTypeId": 2})


@pytest.mark.parametrize(("kind", "status"), [("429", 429), ("503", 503)])
def test_every_nth_call_fails_and_does_nothing(kind: Any, status: int) -> None:
    portal = Portal(faults=Faults(every=3, kind=kind))
    replies = [
        portal.raw("crm.category.add", {"entityTypeId": 2, "fields": {"name": f"{i}"}})
        for i in range(6)
    ]
    assert [r.status_code for r in replies] == [200, 200, status, 200, 200, status]
    assert len(portal.fake.categories) == 1 + 4


def test_a_timeout_fault_holds_the_connection_without_a_reply() -> None:
    portal = Portal(faults=Faults(every=1, kind="timeout", timeout_delay=0.3))
    with pytest.raises(httpx.TimeoutException):
        portal.http.post(f"{portal.url}crm.category.list.json", json={}, timeout=0.1)
    assert portal.fake.faults.injected == 1 and len(portal.fake.categories) == 1


def test_the_whole_state_is_plain_data() -> None:
    portal = Portal()
    cid = portal.category("Продажи")
    portal.fake.set_items(f"DEAL_STAGE_{cid}", f"C{cid}:NEW", 2)
    state = portal.fake.state()
    assert json.loads(json.dumps(state)) == state
    assert [c["name"] for c in state["categories"]] == ["General", "Продажи"]
    assert state["statuses"]["STATUS"][0]["STATUS_ID"] == "NEW"
    assert state["items"] == {f"DEAL_STAGE_{cid} C{cid}:NEW": 2}


def test_the_server_listens_on_loopback_only() -> None:
    with FakeServer(Bitrix24()) as server:
        assert server.origin.startswith("http://127.0.0.1:")
        assert server._httpd.server_address[0] == "127.0.0.1"


def test_python_m_funnelc_fakes_serves_bitrix24_on_loopback() -> None:
    import subprocess
    import sys

    args = [sys.executable, "-m", "funnelc.fakes", "bitrix24", "--port", "0"]
    with subprocess.Popen(args, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip().removeprefix("BITRIX24_WEBHOOK_URL=")
            assert url.startswith("http://127.0.0.1:") and url.endswith("/")
            reply = httpx.post(f"{url}crm.category.list.json", json={"entityTypeId": 2})
            assert reply.json()["result"]["categories"][0]["isDefault"] == "Y"
        finally:
            proc.terminate()
