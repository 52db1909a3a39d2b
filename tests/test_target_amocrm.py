"""The ``amocrm`` target: golden plans and manual steps, the plan schema, and replays of the
plans on the local amoCRM fake (``funnelc/fakes/amocrm.py``), sent over HTTP.

Goldens: ``tests/golden/amocrm/<pipeline>.json|.md`` for every example pipeline, built from the
repository root with the default options (which build the examples: off-palette colours use
the nearest palette colour with a warning, lost outcomes other than the one that renames 143
become loss reasons).  Refresh with ``pytest --bless`` and review the diff.

The replay tests check the plans against what the *funnel* says, restated here independently
of the emitter: the statuses, their order and colours, descriptions, fields with their
required statuses, and loss reasons.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import funnelc
from funnelc.build import emit_all
from funnelc.crm.send import SendError as AmoError
from funnelc.emit import EmitOptions
from funnelc.fakes.amocrm import PALETTE
from funnelc.model import Phase, Pipeline, Project, StageKind
from tests.conftest import ROOT
from tests.crm_sim.harness import AmoAccount as Account
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
    from targets import amocrm as amocrm_module
    from targets import crm_common as common_module
else:
    amocrm_module = importlib.import_module("funnelc.targets.amocrm")
    common_module = importlib.import_module("funnelc.targets.crm_common")

GOLDEN = ROOT / "tests" / "golden" / "amocrm"
SCHEMA = ROOT / "targets" / "amocrm-plan.schema.json"


def build(
    project: Project, options: dict[str, Any] | None = None, unsupported: str = "warn"
) -> tuple[dict[str, bytes], list[str]]:
    return build_target("amocrm", project, options, unsupported)


PIPELINE_IDS = pipeline_ids()


# ---- goldens, schema, determinism ----------------------------------------------------------


@pytest.mark.parametrize("pipeline_id", PIPELINE_IDS)
@pytest.mark.parametrize("ext", ["json", "md"])
def test_golden(pipeline_id: str, ext: str, bless: bool) -> None:
    files, _ = build(project_of(examples()))
    check_example_golden(GOLDEN, files, pipeline_id, ext, bless)


def test_goldens_cover_every_example_and_nothing_else() -> None:
    assert {p.name for p in GOLDEN.iterdir()} == golden_names(PIPELINE_IDS)


def test_every_example_builds_with_warnings_only() -> None:
    _, found = build(project_of(examples()))
    assert set(found) <= {"F703", "F901"}


def _validate(plan: dict[str, Any]) -> list[str]:
    return common_module.validate_plan("amocrm", plan)


OPTION_SETS: list[dict[str, Any]] = [
    {},
    {"lead-phase": "pipeline"},
    {
        "extra-lost": "status",
        "unsorted": "off",
        "money": "monetary",
        "currency": "RUB",
        "loss-reasons": "manual",
    },
    {"pipelines": {"b2b_inbound": {"lost": {"pit": "status", "rejected": "status"}}}},
    {"pipelines": {"service": {"lost-status": "pit"}}},
]


@pytest.mark.parametrize("options", OPTION_SETS, ids=lambda o: json.dumps(o, sort_keys=True))
def test_every_plan_validates_against_the_schema(options: dict[str, Any]) -> None:
    files, _ = build(project_of(examples()), options)
    for name, plan in plans(files).items():
        assert _validate(plan) == [], name


def test_schema_is_strict_and_versioned() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["$id"] == amocrm_module.SCHEMA_ID == "urn:funnelc:schema:amocrm-plan:v3"
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    (plan,) = [p for n, p in plans(build(project_of(examples()))[0]).items() if n == "service"]
    mutations: list[Callable[[dict[str, Any]], object]] = [
        lambda p: p.update(extra=1),
        lambda p: _request(p, "pipelines")["body"][0]["_embedded"]["statuses"][0].update(
            color="#99ccff"
        ),
        lambda p: _request(p, "pipelines")["body"][0]["_embedded"]["statuses"][0].update(sort="20"),
        lambda p: p["requests"][0].update(method="DELETE"),
        lambda p: p["requests"][-1]["body"][0]["id"].update({"$ref": "pipeline"}),
    ]
    for mutate in mutations:
        broken = copy.deepcopy(plan)
        mutate(broken)
        assert _validate(broken), "the schema accepted a broken plan"


def test_plans_are_deterministic_utf8_with_a_final_newline() -> None:
    check_deterministic_text(build(project_of(examples()))[0], build(project_of(examples()))[0])


def test_plan_header_names_the_rate_limit_and_the_unconfirmed_assumptions() -> None:
    plan = plans(build(project_of(examples()))[0])["b2b_inbound"]
    assert plan["api"]["rate_limit"]["requests_per_second"] == 7
    unconfirmed = [n for n in plan["notes"] if n.startswith("[UNCONFIRMED]")]
    assert len(unconfirmed) >= 4
    assert any("loss_reasons" in n for n in unconfirmed)
    assert plan["manual_steps"] == "b2b_inbound.md"


# ---- replays on the amoCRM fake ---------------------------------------------------------------

NEAREST = {"#2e7d32": "#87f2c0", "#1565c0": "#98cbff"}
"""The palette colour each off-palette colour of the examples becomes (checked by eye: the
key stages' dark green becomes the palette's green, the dark blue its blue)."""

TYPES = {
    "text": "text",
    "textarea": "textarea",
    "number": "numeric",
    "money": "numeric",
    "date": "date",
    "datetime": "date_time",
    "bool": "checkbox",
    "choice": "select",
    "multichoice": "multiselect",
    "phone": "text",
    "email": "text",
    "url": "url",
}


def expected_statuses(p: Pipeline) -> list[str]:
    """What the funnel says the amoCRM pipeline is, by the mapping documented in
    docs/targets/amocrm.md (default options)."""
    names = ["Неразобранное"] if p.lead is not None else []
    names += [s.name.value for s in p.stages if s.is_open]
    won = [s for s in p.stages if s.kind is StageKind.WON]
    lost = [s for s in p.stages if s.kind is StageKind.LOST and s.phase is Phase.DEAL]
    return [*names, won[0].name.value, lost[0].name.value]


def replay(account: Account, files: dict[str, bytes]) -> None:
    for plan in plans(files).values():
        account.run_plan(plan)


def test_replay_of_every_example_gives_exactly_the_funnels() -> None:
    project = project_of(examples())
    account = Account()
    replay(account, build(project)[0])
    assert len(account.pipelines) == 1 + len(project.pipelines)
    reasons = {r.name for r in account.reasons.values()}
    required: dict[str, set[tuple[str, str]]] = {}
    for p in project.pipelines:
        amo = account.pipeline_named(p.name.value)
        assert [s.name for s in amo.ordered()] == expected_statuses(p), p.id.name
        assert amo.is_unsorted_on == (p.lead is not None)
        for stage in p.stages:
            if not stage.is_open:
                continue
            status = amo.by_name(stage.name.value)
            assert status.color in PALETTE
            if stage.color is not None:
                assert status.color == NEAREST.get(stage.color.value, stage.color.value)
            candidate = status.descriptions.get("candidate", "")
            if stage.goal is not None:
                assert stage.goal.value in candidate
            for text in stage.exits:
                assert text.value in candidate and text.value in status.descriptions["master"]
            newbie = status.descriptions.get("newbie", "")
            for task in stage.tasks:
                assert task.value in newbie
            if stage.probability is not None:
                assert f"{stage.probability} %" in newbie
            if stage.key:
                assert "Ключевой этап" in newbie
            for ref in stage.requires:
                required.setdefault(ref.name, set()).add((p.name.value, stage.name.value))
        for stage in p.stages:
            if stage.kind is StageKind.LOST:
                for ref in stage.reasons:
                    reason = next(r for r in p.reasons if r.id.name == ref.name)
                    assert reason.name.value in reasons
        for stage in p.stages[1:]:
            if stage.kind is StageKind.LOST and stage is not _closing(p):
                assert stage.name.value in reasons  # extra lost outcomes are loss reasons
        for f in p.fields:
            (made,) = [x for x in account.fields.values() if x.code == f.id.name.upper()]
            assert (made.name, made.type) == (f.name.value, TYPES[f.type.kind])
            assert made.enums == list(f.type.options)
    # Shared fields carry the requirements of every pipeline that requires them.
    names = {
        (pid, sid): (p.name, s.name)
        for pid, p in account.pipelines.items()
        for sid, s in p.statuses.items()
    }
    for custom in account.fields.values():
        got = {names[r] for r in custom.required_statuses}
        assert got == required.get(custom.code.lower(), set()), custom.code


def _closing(p: Pipeline) -> Any:
    return next(s for s in p.stages if s.kind is StageKind.LOST and s.phase is Phase.DEAL)


def test_replaying_a_plan_twice_is_refused_by_its_checks() -> None:
    account = Account()
    files, _ = build(project_of(examples()))
    replay(account, files)
    with pytest.raises(AmoError, match="name exists"):
        account.run_plan(plans(files)["service"])


def test_lead_phase_as_a_pipeline_of_its_own() -> None:
    project = project_of(examples())
    account = Account()
    files, _ = build(project, {"lead-phase": "pipeline"})
    replay(account, files)
    b2b = project.pipeline("b2b_inbound")
    assert b2b is not None
    lead = account.pipeline_named("B2B: входящие заявки: лиды")
    deal = account.pipeline_named("B2B: входящие заявки")
    assert [s.name for s in lead.ordered()] == [
        "Неразобранное",
        "Заявка оставлена",
        "Клиент ответил на звонок",
        "Передан в продажи",
        "Лид отбракован",
    ]
    assert deal.ordered()[0].name == "Лид принят в работу"
    assert not deal.is_unsorted_on and lead.is_unsorted_on
    assert len(account.pipelines) == 1 + 5 + 2  # two funnels with a lead phase


def test_extra_lost_outcomes_as_statuses() -> None:
    project = project_of(examples())
    account = Account()
    options = {"pipelines": {"b2b_inbound": {"lost": {"pit": "status"}}}}
    files, found = build(project, options)
    replay(account, files)
    amo = account.pipeline_named("B2B: входящие заявки")
    names = [s.name for s in amo.ordered()]
    assert names[-3:] == ["Сделка зависла (умиральная яма)", "Оплата получена", "Не реализовано"]
    # The pit has no colour of its own: the default for a lost outcome kept as a status.
    assert amo.by_name("Сделка зависла (умиральная яма)").color == "#ffdbdb"
    assert "F703" not in found


def test_lost_status_option_chooses_the_outcome_that_renames_143() -> None:
    files, _ = build(project_of(examples()), {"pipelines": {"service": {"lost-status": "pit"}}})
    body = _request(plans(files)["service"], "pipelines")["body"][0]["_embedded"]["statuses"]
    assert {"id": 143, "name": "Сделка зависла (умиральная яма)"} in body


def test_manual_loss_reasons_are_not_created() -> None:
    files, _ = build(project_of(examples()), {"loss-reasons": "manual"})
    plan = plans(files)["b2b_inbound"]
    assert not any(r["path"] == "/api/v4/leads/loss_reasons" for r in plan["requests"])
    assert "Создайте причины отказа вручную" in files["b2b_inbound.md"].decode()


# ---- tampered plans are refused ----------------------------------------------------------------


def _golden(name: str) -> dict[str, Any]:
    return load_golden(GOLDEN, name)


def _request(plan: dict[str, Any], request_id: str) -> dict[str, Any]:
    request: dict[str, Any] = next(r for r in plan["requests"] if r["id"] == request_id)
    return request


def _statuses(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The statuses the pipeline create embeds (one custom status, 142, 143)."""
    statuses: list[dict[str, Any]] = _request(plan, "pipelines")["body"][0]["_embedded"]["statuses"]
    return statuses


def _created(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The statuses created after the pipeline, with their descriptions."""
    request = next(r for r in plan["requests"] if r["id"].startswith("statuses."))
    statuses: list[dict[str, Any]] = request["body"]
    return statuses


@pytest.mark.parametrize(
    ("tamper", "error"),
    [
        (lambda p: _statuses(p)[0].update(color="#99ccff"), "palette"),
        (
            lambda p: _created(p)[0]["descriptions"][0].update(description="я" * 1001),
            "1000",
        ),
        (
            lambda p: _created(p)[0]["descriptions"][1].update(level="newbie"),
            "two descriptions",
        ),
        (
            lambda p: _statuses(p).extend(
                {"request_id": f"x{i}", "name": f"Этап {i}", "sort": 100 + i} for i in range(96)
            ),
            "100 statuses",
        ),
        (
            lambda p: p["requests"][-1]["body"][0]["required_statuses"].append(
                {"pipeline_id": {"$ref": "pipeline.id"}, "status_id": {"$ref": "status.x.id"}}
            ),
            "unresolved",
        ),
        (lambda p: _statuses(p).append({"id": 141, "name": "Ещё"}), "only 142 and 143"),
    ],
)
def test_the_account_refuses_a_tampered_plan(tamper: Any, error: str) -> None:
    plan = _golden("service")
    tamper(plan)
    with pytest.raises(AmoError, match=error):
        Account().run_plan(plan)


def test_the_account_refuses_a_51st_pipeline() -> None:
    account = Account()
    for n in range(49):
        account.post_pipelines(
            [
                {
                    "name": f"P{n}",
                    "sort": n,
                    "is_main": False,
                    "is_unsorted_on": False,
                    "_embedded": {"statuses": [{"name": "A", "sort": 10, "color": "#fffeb2"}]},
                }
            ]
        )
    with pytest.raises(AmoError, match="too many pipelines"):
        account.run_plan(_golden("service"))


# ---- long pipelines --------------------------------------------------------------------------


def _long_project(count: int) -> Project:
    stages = " ".join(f'stage s{i} "Этап {i}" {{ requires f{i % 3} }}' for i in range(count))
    text = (
        "".join(f'field f{i} "Поле {i}" text\n' for i in range(3))
        + f'pipeline long "Длинная" {{ deal {{ {stages} won w "Успех" lost l "Отказ" }} }}\n'
    )
    result = funnelc.compile_text(text, "long.funnel")
    return project_of(result)


def test_statuses_after_the_first_go_in_batches_of_50() -> None:
    files, _ = build(_long_project(97))
    plan = plans(files)["long"]
    assert _validate(plan) == []
    extra = [r for r in plan["requests"] if r["id"].startswith("statuses.")]
    assert [len(r["body"]) for r in extra] == [50, 46]  # 97 = 1 embedded + 50 + 46
    assert extra[0]["path"] == "/api/v4/leads/pipelines/{pipeline.long.id}/statuses"
    account = Account()
    account.run_plan(plan)
    amo = account.pipeline_named("Длинная")
    assert len(amo.statuses) == 99
    assert [s.name for s in amo.ordered()][:3] == ["Этап 0", "Этап 1", "Этап 2"]
    (f0,) = [f for f in account.fields.values() if f.code == "F0"]
    assert len(f0.required_statuses) == 33


def test_ninety_eight_custom_statuses_and_the_inbox_are_too_many() -> None:
    project = _long_project(98)
    built = emit_all(
        project, ["amocrm"], EmitOptions(target_options={"amocrm": {"unsorted": "on"}})
    )
    assert [d.code for d in built.diagnostics] == ["F702"]
    built = emit_all(project, ["amocrm"], EmitOptions())
    assert [d.code for d in built.diagnostics] == []


# ---- the manual steps ------------------------------------------------------------------------

ENGLISH = """\
field budget "Budget" money
reason no_budget "No budget"
pipeline inbound "Inbound requests" {
  lead {
    definition "A company that asked for a quote"
    stage request "Request received" { sla 2h task "Call back" timeout -> junk }
    accept "Decision maker known"
    lost junk "Junk"
  }
  deal {
    stage qualified "Qualified" key {
      goal "Budget confirmed" exit "Budget in the card" requires budget sla 5bd probability 30%
    }
    won paid "Paid"
    lost failed "Lost" { reasons no_budget }
    lost pit "Pit"
  }
  timeout -> pit
  revive pit -> request after 30d "Marketing nurtures"
}
"""


def test_manual_steps_of_an_english_pipeline_are_english() -> None:
    files, _ = build(project_of(funnelc.compile_text(ENGLISH, "en.funnel")))
    text = files["inbound.md"].decode("utf-8")
    assert text.startswith("# amoCRM: manual steps for the pipeline “Inbound requests”\n")
    for heading in ("## Stage SLAs and timeouts", "## Reviving deals", "## Key stage"):
        assert heading in text
    assert "“Request received”: 2 hours, then to “Lost” with the loss reason “Junk”." in text
    assert "“Qualified”: 5 business days" in text
    cyrillic = [line for line in text.splitlines() if any("а" <= c <= "я" for c in line)]
    assert cyrillic == [], cyrillic
    plan = json.loads(files["inbound.json"])
    assert plan["pipeline"]["language"] == "en"
    statuses = _created(plan)
    assert statuses[0]["descriptions"][0]["description"].startswith("Goal: Budget confirmed\n")


def test_manual_steps_of_a_russian_pipeline_cover_every_construct() -> None:
    text = (GOLDEN / "solution_sales.md").read_text(encoding="utf-8")
    for heading in (
        "## Сроки этапов (SLA) и таймауты",
        "## Задачи на этапах",
        "## Вероятность",
        "## Ключевой этап",
        "## Передача лида в продажи",
        "## Причины отказа",
        "## Возврат сделок (revive)",
        "## Следующая сделка (next)",
        "## Переходы вне основного порядка",
    ):
        assert heading in text
    assert "«Внедрение завершено»: 14 дней, затем — «Не реализовано» с причиной отказа" in text
    assert "- [ ] " in text


def test_unsupported_constructs_are_listed_in_the_manual_steps() -> None:
    """What the plan cannot carry (here: a colour on the won outcome, which is the system
    status 142) is reported as F901 and listed for the admin, not silently dropped."""
    result = funnelc.compile_text(
        'pipeline p "Продажи" {\n'
        "  deal {\n"
        '    stage a "Встреча состоялась" { sla 2d }\n'
        '    won w "Оплата получена" { color "#deff81" }\n'
        '    lost l "Сделка проиграна"\n'
        "  }\n"
        "  timeout -> l\n"
        "}\n",
        "p.funnel",
    )
    assert result.project is not None
    files, found = build(result.project)
    assert "F901" in found
    text = files["p.md"].decode("utf-8")
    assert "## Не перенесено в план" in text
    assert "«Оплата получена»" in text.split("## Не перенесено в план", 1)[1]


# ---- helpers -----------------------------------------------------------------------------------


def test_nearest_palette_colour_is_perceptual_and_deterministic() -> None:
    nearest = common_module.nearest_colour
    assert nearest("#2e7d32", amocrm_module.PALETTE) == "#87f2c0"
    assert nearest("#ff0000", amocrm_module.PALETTE) == "#ff8f92"
    assert nearest("#ffffff", amocrm_module.PALETTE) == "#f2f3f4"
    assert nearest("#808080", amocrm_module.PALETTE) == "#e6e8ea"
    assert nearest("#9e9e9e", amocrm_module.PALETTE) == "#e6e8ea"
    assert nearest("#1565c0", amocrm_module.PALETTE) == "#98cbff"
    assert nearest("#0000ff", amocrm_module.PALETTE) == "#98cbff"
    assert nearest("#008000", amocrm_module.PALETTE) == "#87f2c0"
    for colour in amocrm_module.PALETTE:
        assert nearest(colour, amocrm_module.PALETTE) == colour
    assert len(set(amocrm_module.PALETTE)) == 21


def test_capabilities_name_every_construct() -> None:
    target = amocrm_module.TARGET
    assert set(target.capabilities.constructs) == set(CONSTRUCTS)
    assert set(target.capabilities.constructs.values()) <= {"native", "manual", "unsupported"}


CONSTRUCTS = (
    "pipeline",
    "lead phase",
    "deal stages",
    "won",
    "lost outcomes",
    "pit",
    "loss reasons",
    "fields",
    "requires",
    "sla",
    "timeout",
    "revive",
    "next",
    "explicit edges",
    "then",
    "probability",
    "goal/exit/task",
    "colour",
    "key stage",
    "segment",
)


def test_golden_directory_is_where_the_cli_writes(tmp_path: Path) -> None:
    with contextlib.chdir(ROOT):
        from typer.testing import CliRunner

        from funnelc.cli import app

        out = tmp_path / "out"
        result = CliRunner().invoke(
            app, ["build", "examples", "--target", "amocrm", "--out", str(out)]
        )
    assert result.exit_code == 0, result.output
    for path in GOLDEN.iterdir():
        assert (out / "amocrm" / path.name).read_bytes() == path.read_bytes()
