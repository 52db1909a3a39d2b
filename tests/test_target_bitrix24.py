"""The ``bitrix24`` target: golden plans and manual steps, the plan schema, the encoding of batch
commands, the single lead funnel, and replays of the plans on the local Bitrix24 fake
(``funnelc/fakes/bitrix24.py``), sent over HTTP.

Goldens: ``tests/golden/bitrix24/<pipeline>.json|.md`` for every example pipeline, built from
the repository root with the default options.  Those build the examples: ``lead-phase =
"auto"`` gives the portal's one lead funnel to the first pipeline with a lead phase
(``b2b_inbound``) and leaves the other one (``solution_sales``) out with a warning (F901); loss
reasons become failure stages.  Refresh with ``pytest --bless`` and review the diff.
"""

from __future__ import annotations

import copy
import importlib
import json
import re
import string
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funnelc
from funnelc.build import emit_all
from funnelc.crm.send import SendError as B24Error
from funnelc.emit import EmitOptions
from funnelc.fakes.bitrix24 import DEAL_PRESETS, parse_query
from funnelc.model import Phase, Pipeline, Project, StageKind
from tests.conftest import ROOT
from tests.crm_sim.harness import B24Portal as Portal
from tests.crm_sim.harness import (
    build_target,
    check_deterministic_text,
    check_example_golden,
    examples,
    golden_names,
    load_golden,
    pipeline_ids,
    plans,
    project_of,
)

if TYPE_CHECKING:
    from targets import bitrix24 as bitrix24_module
    from targets import crm_common as common_module
else:
    bitrix24_module = importlib.import_module("funnelc.targets.bitrix24")
    common_module = importlib.import_module("funnelc.targets.crm_common")

GOLDEN = ROOT / "tests" / "golden" / "bitrix24"
SCHEMA = ROOT / "targets" / "bitrix24-plan.schema.json"


def build(
    project: Project, options: dict[str, Any] | None = None, unsupported: str = "warn"
) -> tuple[dict[str, bytes], list[str]]:
    return build_target("bitrix24", project, options, unsupported)


def ordered(files: dict[str, bytes], project: Project) -> list[dict[str, Any]]:
    """The plans in build order (the lead funnel's owner must run before those sharing it)."""
    by_id = plans(files)
    return [by_id[p.id.name] for p in project.pipelines]


PIPELINE_IDS = pipeline_ids()


# ---- goldens, schema, determinism ----------------------------------------------------------


@pytest.mark.parametrize("pipeline_id", PIPELINE_IDS)
@pytest.mark.parametrize("ext", ["json", "md"])
def test_golden(pipeline_id: str, ext: str, bless: bool) -> None:
    files, _ = build(project_of(examples()))
    check_example_golden(GOLDEN, files, pipeline_id, ext, bless)


def test_goldens_cover_every_example_and_nothing_else() -> None:
    assert {p.name for p in GOLDEN.iterdir()} == golden_names(PIPELINE_IDS)


def test_the_examples_build_with_one_warning_for_the_second_lead_phase() -> None:
    _, found = build(project_of(examples()))
    assert found == ["F901"]


OPTION_SETS: list[dict[str, Any]] = [
    {},
    {"loss-reasons": "field", "lead-cleanup": False},
    {"lead-funnel": "solution_sales", "pipelines": {"b2b_inbound": {"lead-phase": "deal-stages"}}},
    {"lead-phase": "skip", "category-id-digits": 3},
    {"pipelines": {"b2b_inbound": {"status-ids": {"qualified": "QUAL", "no_budget": "R-BUDGET"}}}},
]


def _validate(plan: dict[str, Any]) -> list[str]:
    return common_module.validate_plan("bitrix24", plan)


@pytest.mark.parametrize("options", OPTION_SETS, ids=lambda o: json.dumps(o, sort_keys=True))
def test_every_plan_validates_and_replays(options: dict[str, Any]) -> None:
    project = project_of(examples())
    files, _ = build(project, options)
    portal = Portal()
    for plan in ordered(files, project):
        assert _validate(plan) == [], plan["pipeline"]["id"]
        portal.run_plan(plan)
    assert len(portal.categories) == 1 + len(project.pipelines)


def test_schema_is_strict_and_versioned() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["$id"] == bitrix24_module.SCHEMA_ID == "urn:funnelc:schema:bitrix24-plan:v3"
    assert schema["additionalProperties"] is False
    plan = plans(build(project_of(examples()))[0])["service"]

    def deal_commands(p: dict[str, Any]) -> list[Any]:
        commands: list[Any] = next(r for r in p["requests"] if r["id"] == "changes")["commands"]
        return commands

    mutations: list[Callable[[dict[str, Any]], object]] = [
        lambda p: p.update(extra=1),
        lambda p: _command(p, "set_won")["params"]["fields"].update(SEMANTICS="S"),
        lambda p: _command(p, "add_feedback")["params"]["fields"].update(STATUS_ID="X" * 23),
        lambda p: deal_commands(p).extend([deal_commands(p)[-1]] * 50),
    ]
    for mutate in mutations:
        broken = copy.deepcopy(plan)
        mutate(broken)
        assert _validate(broken), "the schema accepted a broken plan"


def _command(plan: dict[str, Any], key: str) -> dict[str, Any]:
    for request in plan["requests"]:
        for command in request.get("commands", []):
            if command["key"] == key:
                found: dict[str, Any] = command
                return found
    raise KeyError(key)


def test_plans_are_deterministic_utf8_with_a_final_newline() -> None:
    check_deterministic_text(build(project_of(examples()))[0], build(project_of(examples()))[0])


def test_plan_header_names_the_rate_limit_and_the_unconfirmed_assumptions() -> None:
    plan = plans(build(project_of(examples()))[0])["b2b_inbound"]
    assert plan["api"]["rate_limit"]["requests_per_second"] == 2
    assert plan["api"]["batch_max_commands"] == 50
    notes = " ".join(plan["notes"])
    for topic in ("new deal category", "C99999:", "same builder", "{{<request>:<path>}}"):
        assert topic in notes
    unconfirmed = " ".join(n for n in plan["notes"] if n.startswith("[UNCONFIRMED]"))
    assert "lead statuses" in unconfirmed


# ---- batch commands --------------------------------------------------------------------------


def _stringify(value: Any) -> Any:
    """A command's readable parameters as the query string must carry them: every value a
    string, a reference in the form the pusher substitutes (``prefix{{request:path}}suffix``:
    the plan never asks Bitrix24 to substitute anything)."""
    if isinstance(value, dict) and "$reply" in value:
        token = "{{" + value["$reply"] + ":" + ".".join(str(p) for p in value["path"]) + "}}"
        return value.get("prefix", "") + token + value.get("suffix", "")
    if isinstance(value, dict):
        return {k: _stringify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify(v) for v in value]
    return str(value)


def test_body_says_exactly_what_the_commands_say() -> None:
    for plan in plans(build(project_of(examples()))[0]).values():
        for request in plan["requests"]:
            if request["method"] != "batch":
                continue
            assert request["body"]["halt"] == request["halt"]
            assert list(request["body"]["cmd"]) == [c["key"] for c in request["commands"]]
            assert len(request["commands"]) <= 50
            for command in request["commands"]:
                text = request["body"]["cmd"][command["key"]]
                method, _, query = text.partition("?")
                assert method == command["method"]
                assert parse_query(query) == _stringify(command["params"])


VALUES = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=30
)


@settings(max_examples=200, deadline=None)
@given(name=VALUES, label=VALUES, sort=st.integers(0, 10**6))
def test_command_strings_round_trip(name: str, label: str, sort: int) -> None:
    params = {"fields": {"NAME": name, "LIST": [{"VALUE": label, "SORT": sort}]}}
    text = bitrix24_module.command_string("crm.status.add", params)
    method, _, query = text.partition("?")
    assert method == "crm.status.add"
    assert " " not in query and "\n" not in query
    assert parse_query(query) == _stringify(params)


def test_references_are_structural_and_whole_values() -> None:
    text = bitrix24_module.command_string(
        "crm.status.update",
        {
            "id": bitrix24_module.ReplyRef("lookup", ("result", "find_won", 0, "ID")),
            "fields": {"NAME": "Оплата & счёт"},
        },
    )
    assert text.startswith("crm.status.update?id={{lookup:result.find_won.0.ID}}&fields[NAME]=")
    assert "%26" in text and "Оплата" not in text
    # The same text as a user value is encoded in full: it is no reference.
    text = bitrix24_module.command_string(
        "crm.status.update", {"fields": {"NAME": "$result[find_won][0][ID]"}}
    )
    assert text == "crm.status.update?fields[NAME]=%24result%5Bfind_won%5D%5B0%5D%5BID%5D"
    ref = bitrix24_module.category_ref("C", ":NEW")
    assert bitrix24_module.command_string("m", {"x": ref}) == "m?x=C{{category:category.id}}%3ANEW"


# ---- replays on the Bitrix24 fake -----------------------------------------------------------

USER_TYPES = {
    "text": "string",
    "textarea": "string",
    "number": "double",
    "money": "money",
    "date": "date",
    "datetime": "datetime",
    "bool": "boolean",
    "choice": "enumeration",
    "multichoice": "enumeration",
    "phone": "string",
    "email": "string",
    "url": "url",
}


def expected_stages(p: Pipeline, lead_as_deal: bool = False) -> list[tuple[str, str]]:
    """(name, semantics) of each stage of the deal category, in order, by the mapping documented
    in docs/targets/bitrix24.md: in-progress stages, the won outcome, then each lost outcome of
    the deal phase (the first one first) followed by the loss reasons it lists."""
    phases = (Phase.LEAD, Phase.DEAL) if lead_as_deal else (Phase.DEAL,)
    stages = [(s.name.value, "") for s in p.stages if s.is_open and s.phase in phases]
    stages += [(s.name.value, "S") for s in p.stages if s.kind is StageKind.WON]
    seen: set[str] = set()
    lost = [s for s in p.stages if s.kind is StageKind.LOST and s.phase in phases]
    closing = next(s for s in lost if s.phase is Phase.DEAL)  # renames LOSE, so it is first
    for outcome in [closing, *(s for s in lost if s is not closing)]:
        stages.append((outcome.name.value, "F"))
        for ref in outcome.reasons:
            if ref.name not in seen:
                seen.add(ref.name)
                reason = next(r for r in p.reasons if r.id.name == ref.name)
                stages.append((reason.name.value, "F"))
    return stages


def test_replay_of_every_example_gives_exactly_the_funnels() -> None:
    project = project_of(examples())
    files, _ = build(project)
    portal = Portal(first_category_id=7)
    for plan in ordered(files, project):
        portal.run_plan(plan)
    for p in project.pipelines:
        cid = portal.category_named(p.name.value)
        rows = portal.directory(f"DEAL_STAGE_{cid}")
        assert [(r.name, r.semantics) for r in rows] == expected_stages(p), p.id.name
        assert rows[0].status_id == f"C{cid}:NEW"
        assert [r.status_id for r in rows if r.semantics == "S"] == [f"C{cid}:WON"]
        codes = [r.status_id for r in rows]
        assert len(set(codes)) == len(codes)
        assert all(len(c) <= 22 and re.fullmatch(rf"C{cid}:[A-Z0-9_]+", c) for c in codes)
        for stage in p.stages:
            if stage.color is not None:
                (row,) = [r for r in rows if r.name == stage.name.value]
                assert row.color == stage.color.value
        for f in p.fields:
            (field,) = [x for x in portal.fields["deal"].values() if x.xml_id == f.id.name]
            assert (field.label, field.user_type_id) == (f.name.value, USER_TYPES[f.type.kind])
            assert field.values == list(f.type.options)
            assert field.multiple == ("Y" if f.type.kind == "multichoice" else "N")
    # The lead funnel is b2b_inbound's: its lead stages, CONVERTED, its lost outcome and reasons.
    b2b = project.pipeline("b2b_inbound")
    assert b2b is not None
    leads = portal.directory("STATUS")
    assert [(r.status_id, r.name, r.semantics) for r in leads] == [
        ("NEW", "Заявка оставлена", ""),
        ("ANSWERED", "Клиент ответил на звонок", ""),
        ("CONVERTED", "Передан в продажи", "S"),
        ("JUNK", "Лид отбракован", "F"),
        ("NOT_TARGET", "Не целевой клиент", "F"),
        ("DUPLICATE", "Дубль: клиент уже в работе", "F"),
        ("SPAM", "Спам или ошибочная заявка", "F"),
    ]
    required_in_leads = {r.name.upper() for s in b2b.stages_in(Phase.LEAD) for r in s.requires}
    assert {f.removeprefix("UF_CRM_") for f in portal.fields["lead"]} == {
        "CONTACT_PHONE",
        "SOURCE",
        "COMPANY",
        "INN",
        "WEBSITE",
        "TASK_DESCRIPTION",
    }
    assert len(required_in_leads) == 6


def test_identical_lead_phases_share_the_lead_funnel() -> None:
    text = """\
pipeline a "Входящие: Москва" {
  lead { stage request "Заявка оставлена" lost junk "Спам" }
  deal { stage accepted "Лид принят" won paid "Оплачено" lost lost "Отказ" }
}
pipeline b "Входящие: регионы" {
  lead { stage request "Заявка оставлена" lost junk "Спам" }
  deal { stage met "Встреча состоялась" won paid "Оплачено" lost lost "Отказ" }
}
"""
    project = project_of(funnelc.compile_text(text, "two.funnel"))
    files, found = build(project)
    assert found == []
    a, b = plans(files)["a"], plans(files)["b"]
    assert a["lead_funnel"] == {"mapping": "statuses", "owner": "a"}
    assert b["lead_funnel"] == {"mapping": "shared", "owner": "a"}
    assert not any(r["id"] == "lead" for r in b["requests"])
    portal = Portal()
    for plan in ordered(files, project):
        portal.run_plan(plan)
    assert [r.name for r in portal.directory("STATUS")] == [
        "Заявка оставлена",
        "Передан в продажи",
        "Спам",
    ]
    assert "Статусы лидов задаёт план воронки `a` (лид-фаза та же)" in files["b.md"].decode()


def test_a_second_lead_phase_is_an_error_only_when_asked_for() -> None:
    project = project_of(examples())
    options = {"lead-phase": "statuses"}
    built = emit_all(project, ["bitrix24"], EmitOptions(target_options={"bitrix24": options}))
    assert [d.code for d in built.diagnostics] == ["F805"] and not built.files
    # The accepted paths: auto (a warning), skip (silent), deal stages (mapped).
    assert build(project)[1] == ["F901"]
    skip = {"pipelines": {"solution_sales": {"lead-phase": "skip"}}}
    assert build(project, skip)[1] == []
    deal = {"pipelines": {"solution_sales": {"lead-phase": "deal-stages"}}}
    files, found = build(project, deal)
    assert found == []
    portal = Portal()
    for plan in ordered(files, project):
        portal.run_plan(plan)
    solution = project.pipeline("solution_sales")
    assert solution is not None
    cid = portal.category_named(solution.name.value)
    rows = portal.directory(f"DEAL_STAGE_{cid}")
    assert [(r.name, r.semantics) for r in rows] == expected_stages(solution, lead_as_deal=True)
    assert rows[0].name == "Контакт получен"


def test_unsupported_error_fails_on_the_second_lead_phase() -> None:
    built = emit_all(project_of(examples()), ["bitrix24"], EmitOptions(unsupported="error"))
    assert [(d.code, d.severity.value) for d in built.diagnostics] == [("F901", "error")]


def test_loss_reasons_as_one_enumeration_field_shared_by_the_portal() -> None:
    project = project_of(examples())
    files, _ = build(project, {"loss-reasons": "field"})
    portal = Portal()
    for plan in ordered(files, project):
        portal.run_plan(plan)
    field = portal.fields["deal"]["UF_CRM_LOSS_REASON"]
    names = {r.name.value for p in project.pipelines for r in p.reasons}
    used = {
        next(r for r in p.reasons if r.id.name == ref.name).name.value
        for p in project.pipelines
        for s in p.stages
        for ref in s.reasons
    }
    assert set(field.values) == used and used <= names
    assert len(field.values) == len(set(field.values))
    # No reason became a stage.
    b2b = project.pipeline("b2b_inbound")
    assert b2b is not None
    cid = portal.category_named(b2b.name.value)
    assert "Нет бюджета" not in [r.name for r in portal.directory(f"DEAL_STAGE_{cid}")]


# ---- tampered plans are refused ----------------------------------------------------------------


def _golden(name: str) -> dict[str, Any]:
    return load_golden(GOLDEN, name)


def _resend(plan: dict[str, Any]) -> None:
    """Rebuild every batch body from its commands after a test changed them."""
    for request in plan["requests"]:
        if request["method"] == "batch":
            request["body"]["cmd"] = {
                c["key"]: bitrix24_module.command_string(
                    c["method"], bitrix24_module.typed(c["params"])
                )
                for c in request["commands"]
            }


@pytest.mark.parametrize(
    ("tamper", "error"),
    [
        (
            lambda p: _command(p, "add_feedback")["params"]["fields"].update(SORT=9500),
            "intermediate stage after success",
        ),
        (
            lambda p: _command(p, "add_feedback")["params"]["fields"].update(
                STATUS_ID="FEEDBACK_RECEIVED_OK"
            ),
            "longer than 22",
        ),
        (
            lambda p: _command(p, "add_feedback")["params"]["fields"].update(STATUS_ID="FEED BACK"),
            "characters",
        ),
        (
            lambda p: _command(p, "add_pit")["params"]["fields"].update(SEMANTICS="S"),
            "one success stage",
        ),
        (
            lambda p: _command(p, "set_won")["params"]["fields"].update(SEMANTICS="F"),
            "cannot change",
        ),
        (
            lambda p: _command(p, "set_won").update(
                method="crm.status.delete",
                params={"id": {"$reply": "lookup", "path": ["result", "find_won", 0, "ID"]}},
            ),
            "FORCED",
        ),
        (
            lambda p: _command(p, "field_upsell_amount")["params"]["fields"].update(
                FIELD_NAME="UPSELL_" + "X" * 37
            ),
            "longer than 50",
        ),
        (
            lambda p: _command(p, "add_feedback")["params"]["fields"].update(STATUS_ID="NEW"),
            "exists",
        ),
        (
            lambda p: next(r for r in p["requests"] if r["id"] == "changes")["commands"].extend(
                {"key": f"x{i}", "method": "crm.category.list", "params": {"entityTypeId": 2}}
                for i in range(40)
            ),
            "at most 50",
        ),
    ],
)
def test_the_portal_refuses_a_tampered_plan(tamper: Any, error: str) -> None:
    plan = _golden("service")
    tamper(plan)
    _resend(plan)
    with pytest.raises(B24Error, match=error):
        Portal().run_plan(plan)


def test_a_category_id_longer_than_assumed_is_refused() -> None:
    plan = _golden("buyers_remote")  # ARRIVAL_CONFIRM: 15 characters, the most C{5 digits}: allows
    Portal(first_category_id=99999).run_plan(plan)
    portal = Portal(first_category_id=100000)
    with pytest.raises(B24Error, match=r"category\.id = 100000 is above 99999"):
        portal.run_plan(plan)
    assert portal.directory("DEAL_STAGE_100000")[0].name == "New"  # stopped before any stage
    # Without the check, the portal itself refuses the first STATUS_ID that no longer fits.
    del next(r for r in plan["requests"] if r["id"] == "category")["expect"]
    with pytest.raises(B24Error, match="longer than 22"):
        Portal(first_category_id=100000).run_plan(plan)


def test_presets_other_than_assumed_stop_the_plan_before_any_stage_is_made() -> None:
    """If a new category does not get the assumed presets, the plan stops at the first command
    whose lookup found nothing, before any stage is renamed or added."""
    without_apology = tuple(p for p in DEAL_PRESETS if p[0] != "APOLOGY")
    portal = Portal(deal_presets=without_apology)
    with pytest.raises(B24Error, match="del_apology"):
        portal.run_plan(_golden("service"))
    (cid,) = [c for c in portal.categories if c]
    left = portal.directory(f"DEAL_STAGE_{cid}")
    # Not even a preset was deleted: the lookups run in a batch of their own, before any write.
    assert [r.status_id for r in left] == [f"C{cid}:{p[0]}" for p in without_apology]
    assert "Won" in [r.name for r in left] and "Lose" in [r.name for r in left]


# ---- long pipelines --------------------------------------------------------------------------


def test_more_than_fifty_commands_go_in_several_batches() -> None:
    stages = " ".join(f'stage s{i} "Этап {i}"' for i in range(60))
    text = f'pipeline long "Длинная" {{ deal {{ {stages} won w "Успех" lost l "Отказ" }} }}\n'
    project = project_of(funnelc.compile_text(text, "long.funnel"))
    files, _ = build(project)
    plan = plans(files)["long"]
    assert _validate(plan) == []
    batches = [r for r in plan["requests"] if r["id"].startswith("changes")]
    assert [r["id"] for r in batches] == ["changes", "changes.2"]
    assert all(len(r["commands"]) <= 50 for r in batches)
    for batch in batches:  # the category id is read back and sent literally in every batch
        assert "DEAL_STAGE_{{category:category.id}}" in json.dumps(batch["body"])
        assert "$result[cat" not in json.dumps(batch)
    portal = Portal(first_category_id=3)
    portal.run_plan(plan)
    rows = portal.directory("DEAL_STAGE_3")
    assert [r.name for r in rows] == [f"Этап {i}" for i in range(60)] + ["Успех", "Отказ"]


# ---- codes -------------------------------------------------------------------------------------

IDS = st.text(alphabet=string.ascii_letters + string.digits + "_", min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(idents=st.lists(IDS, max_size=30), limit=st.integers(11, 21))
def test_derived_codes_are_unique_valid_and_short(idents: list[str], limit: int) -> None:
    taken = set(bitrix24_module.DEAL_PRESETS)
    codes = common_module.assign_codes(idents, limit, taken)
    assert len(codes) == len(idents)
    assert len(set(codes)) == len(codes) and not set(codes) & taken
    assert all(re.fullmatch(rf"[A-Z0-9_]{{1,{limit}}}", c) for c in codes)
    assert codes == common_module.assign_codes(idents, limit, taken)


def test_codes_keep_the_start_of_every_word() -> None:
    base = common_module.code_base
    assert base("final_decision_maker", 13) == "FIN_DECI_MAKE"
    assert base("arrival_confirmed", 15) == "ARRIVAL_CONFIRM"
    assert base("qualified", 15) == "QUALIFIED"
    assert common_module.assign_codes(["a", "A", "new"], 15, ["NEW"]) == ["A", "A_2", "NEW_2"]


# ---- the manual steps ------------------------------------------------------------------------


def test_manual_steps_list_required_fields_per_stage_and_robots() -> None:
    text = (GOLDEN / "b2b_inbound.md").read_text(encoding="utf-8")
    assert "## Обязательные поля по стадиям" in text
    assert "- [ ] «Бюджет» (`UF_CRM_BUDGET`): «Квалификация пройдена» (`C{id}:QUALIFIED`)." in text
    assert "робота «Изменить стадию»" in text
    assert "«Заявка оставлена» (статус лида `NEW`): 15 минут, затем — «Сделка зависла" in text
    assert "## Регламент этапов" in text and "## Лиды" in text


def test_manual_steps_of_the_pipeline_without_the_lead_funnel_say_so() -> None:
    text = (GOLDEN / "solution_sales.md").read_text(encoding="utf-8")
    assert "не перенесена: на портале одна воронка лидов, и её занимает `b2b_inbound`" in text
    assert "## Не перенесено в план" in text


def test_capabilities_leave_requires_and_sla_to_manual_steps() -> None:
    capabilities = bitrix24_module.TARGET.capabilities.constructs
    assert capabilities["requires"] == "manual" and capabilities["sla"] == "manual"
    assert capabilities["lead phase"] == "native"
    assert len(capabilities) == 20
