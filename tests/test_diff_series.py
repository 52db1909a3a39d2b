"""Must show: a scripted series of edits to an example, each a commit in a temporary git repo.

The example ``examples/b2b_inbound.funnel`` (with the ``shared/common.funnel`` it imports;
copied into ``tests/fixtures/diff/``) is committed into ``funnels/`` of a fresh repository; then
each step of :data:`STEPS` edits it and commits, and the diff of the commit before against the
work tree is taken the way ``funnelc diff --against HEAD~1`` takes it: the old files read from
git (imports included), the new ones from disk. Each step's report is compared, in all three
formats, with the goldens in ``tests/golden/diff/`` (``pytest --bless`` rewrites them), the JSON
is validated against its schema, and the breaking changes are exactly the ones the step should
have.

The step that re-keys *with* ``was`` writes ``was terms`` in the file, and the compiler fills
``Stage.was`` from it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from funnelc.cli import app
from funnelc.diff.breaking import breaking_changes
from funnelc.diff.model_diff import ChangeKind, diff_projects
from funnelc.diff.render_human import render as render_human
from funnelc.diff.render_json import render as render_json
from funnelc.diff.render_json import schema_path
from funnelc.diff.render_markdown import render as render_markdown
from funnelc.diff.report import Report
from funnelc.diff.run import from_git
from funnelc.model import Project
from tests import node_tools
from tests.conftest import ROOT, check_golden

GOLDEN = ROOT / "tests" / "golden" / "diff"
BASE = ROOT / "tests" / "fixtures" / "diff"
"""A copy of ``examples/b2b_inbound.funnel`` and the ``shared/common.funnel`` it imports, so
that the series does not move when the examples are edited (or reformatted)."""
FILE = "funnels/b2b.funnel"


@dataclass(frozen=True)
class Step:
    name: str
    edits: tuple[tuple[str, str], ...]
    kinds: tuple[ChangeKind, ...]
    """The kinds of change the step must report, in order."""
    breaking: tuple[str, ...] = ()
    was: tuple[tuple[str, str], ...] = ()
    """(new id, old id): the ``was`` this step writes (it stays in the file afterwards)."""


DEMO = (
    '    stage demo "Демо проведено" {\n'
    '      goal "Клиент увидел продукт в работе"\n'
    "      sla 3d\n"
    "    }\n"
)
PROPOSAL_HEAD = '    stage proposal "КП получено" {'
STEPS: tuple[Step, ...] = (
    Step(
        "1-add-stage",
        (('    # Not "КП отправлено"', DEMO + '    # Not "КП отправлено"'),),
        (ChangeKind.STAGE_ADDED,),
    ),
    Step(
        "2-rename",
        (('stage proposal "КП получено и обсуждено"', 'stage proposal "КП получено"'),),
        (ChangeKind.STAGE_RENAMED,),
    ),
    Step(
        "3-rekey-with-was",
        (('stage terms "Условия согласованы"', 'stage agreed "Условия согласованы" was terms'),),
        (ChangeKind.STAGE_REKEYED,),
        was=(("agreed", "terms"),),
    ),
    Step(
        "4-rekey-without-was",
        (('stage accepted "Лид принят в работу"', 'stage taken "Лид принят в работу"'),),
        (ChangeKind.STAGE_REKEYED,),
        breaking=("F952",),
    ),
    Step("5-change-sla", (("      sla 5bd\n", "      sla 3bd\n"),), (ChangeKind.STAGE_CHANGED,)),
    Step("6-remove-stage", ((DEMO, ""),), (ChangeKind.STAGE_REMOVED,), breaking=("F950",)),
    Step(
        "7-reorder",
        (
            (
                PROPOSAL_HEAD,
                '    stage agreed "Условия согласованы" was terms {\n'
                '      goal "Клиент оплатил счёт"\n'
                '      exit "Оплата поступила на расчётный счёт"\n'
                "      requires invoice_number\n"
                "      sla 7d\n"
                "      probability 85%\n"
                "    }\n" + PROPOSAL_HEAD,
            ),
            (
                "    }\n"
                '    stage agreed "Условия согласованы" was terms {\n'
                '      goal "Клиент оплатил счёт"\n'
                '      exit "Оплата поступила на расчётный счёт"\n'
                "      requires invoice_number\n"
                "      sla 7d\n"
                "      probability 85%\n"
                "    }\n"
                "    won paid",
                "    }\n    won paid",
            ),
        ),
        (ChangeKind.STAGE_REORDERED,),
    ),
    Step(
        "8-add-revival",
        (
            (
                "  revive pit -> request",
                '  revive failed -> request after 90d "Повторное касание через квартал"\n'
                "  revive pit -> request",
            ),
        ),
        (ChangeKind.EDGE_ADDED,),
    ),
    Step(
        "9-change-field",
        (('field website          "Сайт компании"  url', 'field website "Сайт" text'),),
        (ChangeKind.FIELD_CHANGED, ChangeKind.FIELD_CHANGED),
    ),
)


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        [
            "git",
            "-c",
            "user.name=funnelc",
            "-c",
            "user.email=dev@funnelc.invalid",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository with one commit per step (``base``, then each step's name)."""
    root = tmp_path_factory.mktemp("series")
    _git(root, "init", "-q", "-b", "main")
    (root / "funnels" / "shared").mkdir(parents=True)
    shutil.copy(BASE / "b2b_inbound.funnel", root / FILE)
    shutil.copy(BASE / "common.funnel", root / "funnels" / "shared")
    (root / "funnelc.toml").write_text('sources = ["funnels"]\n', encoding="utf-8")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "base")
    for step in STEPS:
        path = root / FILE
        text = path.read_text(encoding="utf-8")
        for old, new in step.edits:
            assert text.count(old) == 1, (step.name, old)
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
        _git(root, "commit", "-q", "-am", step.name)
        _git(root, "tag", step.name)
    return root


def _was_seen(project: Project) -> dict[str, str]:
    """(new id → old id) for every stage whose source says ``was OLD``."""
    return {s.id.name: s.was.name for p in project.pipelines for s in p.stages if s.was is not None}


def report_at(repo: Path, step: Step, monkeypatch: pytest.MonkeyPatch) -> Report:
    """The diff of the step's commit against the one before, as `diff --against` makes it
    (the work tree checked out at the step's commit)."""
    monkeypatch.chdir(repo)
    _git(repo, "checkout", "-q", step.name)
    versions = from_git(f"{step.name}~1", [Path("funnels")], repo)
    assert versions.old.project is not None and versions.new.project is not None
    index = STEPS.index(step)
    old, new = versions.old.project, versions.new.project
    # The ``was`` clauses are in the files themselves; the compiler fills ``Stage.was``.
    assert _was_seen(new) == dict(_was_written(index))
    diff = diff_projects(old, new)
    found = breaking_changes(diff)
    return Report(diff, f"{step.name}~1", versions.new_label, found, dict(versions.new.sources))


def _was_written(index: int) -> tuple[tuple[str, str], ...]:
    """The ``was`` clauses in the file after step ``index`` (``-1``: the base)."""
    return tuple(pair for step in STEPS[: index + 1] for pair in step.was)


@pytest.mark.parametrize("step", STEPS, ids=lambda s: s.name)
def test_step(step: Step, repo: Path, monkeypatch: pytest.MonkeyPatch, bless: bool) -> None:
    report = report_at(repo, step, monkeypatch)
    assert tuple(c.kind for c in report.changes) == step.kinds, report.changes
    assert [d.code for d in report.breaking] == list(step.breaking)
    human = render_human(report, lang="en")
    markdown = render_markdown(report, "en")
    document = render_json(report, "en")
    check_golden(GOLDEN / f"{step.name}.txt", human.encode("utf-8"), bless)
    check_golden(GOLDEN / f"{step.name}.md", markdown.encode("utf-8"), bless)
    check_golden(GOLDEN / f"{step.name}.json", document.encode("utf-8"), bless)
    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(json.loads(document), schema)
    assert "\x1b[" not in human


def test_the_changes_are_what_each_step_did(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The details of each step, beyond its kinds."""
    seen = {s.name: report_at(repo, s, monkeypatch).changes for s in STEPS}
    (added,) = seen["1-add-stage"]
    assert (added.subject, added.name, added.after) == ("demo", "Демо проведено", "deal")
    (renamed,) = seen["2-rename"]
    assert (renamed.before, renamed.after) == ("КП получено и обсуждено", "КП получено")
    (was,) = seen["3-rekey-with-was"]
    assert (was.was, was.subject, was.declared) == ("terms", "agreed", True)
    (guessed,) = seen["4-rekey-without-was"]
    assert (guessed.was, guessed.subject, guessed.declared) == ("accepted", "taken", False)
    (sla,) = seen["5-change-sla"]
    assert (sla.subject, sla.attribute, sla.before, sla.after) == ("qualified", "sla", "5bd", "3bd")
    (removed,) = seen["6-remove-stage"]
    assert removed.subject == "demo"
    (moved,) = seen["7-reorder"]
    assert moved.subject in ("agreed", "proposal")
    (revival,) = seen["8-add-revival"]
    assert (revival.attribute, revival.subject, revival.target) == ("revive", "failed", "request")
    name, kind = seen["9-change-field"]
    assert (name.attribute, name.before, name.after) == ("name", "Сайт компании", "Сайт")
    assert (kind.attribute, kind.before, kind.after) == ("type", "url", "text")


def test_breaking_flags_exactly_the_breaking_steps(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flagged = {s.name for s in STEPS if report_at(repo, s, monkeypatch).breaking}
    assert flagged == {"4-rekey-without-was", "6-remove-stage"}


def test_bitrix24_adds_the_status_id_of_a_rekey_with_was(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under the bitrix24 target even a re-key with ``was`` changes the STATUS_ID (F957)."""
    step = STEPS[2]
    report = report_at(repo, step, monkeypatch)
    found = breaking_changes(report.diff, targets=["bitrix24"])
    assert [d.code for d in found] == ["F957"]
    pinned = {"bitrix24": {"pipelines": {"b2b_inbound": {"status-ids": {"agreed": "TERMS"}}}}}
    assert breaking_changes(report.diff, targets=["bitrix24"], target_options=pinned) == []


@pytest.mark.parametrize("step", [STEPS[3], STEPS[5], STEPS[7]], ids=lambda s: s.name)
def test_the_cli_says_the_same(
    step: Step, repo: Path, monkeypatch: pytest.MonkeyPatch, bless: bool
) -> None:
    """``funnelc diff --against`` and ``funnelc breaking --against`` in the repository print
    the goldens of the step and exit as ``buf breaking`` does."""
    monkeypatch.chdir(repo)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    _git(repo, "checkout", "-q", step.name)
    for fmt, suffix in (("human", "txt"), ("markdown", "md"), ("json", "json")):
        result = CliRunner().invoke(
            app, ["diff", "--against", f"{step.name}~1", "--format", fmt, "--lang", "en"]
        )
        assert result.exit_code == 0, result.output
        assert result.stdout == (GOLDEN / f"{step.name}.{suffix}").read_text(encoding="utf-8")
    breaking = CliRunner().invoke(app, ["breaking", "--against", f"{step.name}~1"])
    assert breaking.exit_code == (1 if step.breaking else 0), breaking.output
    for code in step.breaking:
        assert f"error[{code}]" in breaking.stderr
    # The work tree is untouched by reading the old version.
    assert _git(repo, "status", "--porcelain") == ""


def test_breaking_is_allowed_by_the_config(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    _git(repo, "checkout", "-q", "6-remove-stage")
    config = repo / "funnelc.toml"
    try:
        config.write_text(
            'sources = ["funnels"]\n[breaking]\nallow = ["breaking-stage-removed"]\n',
            encoding="utf-8",
        )
        result = CliRunner().invoke(app, ["breaking", "--against", "HEAD~1"])
        assert result.exit_code == 0, result.output
        assert "warning[F950]" in result.stderr
        config.write_text('sources = ["funnels"]\n[breaking]\nallow = ["F999"]\n', "utf-8")
        bad = CliRunner().invoke(app, ["breaking", "--against", "HEAD~1"])
        assert bad.exit_code == 2
        assert "F999" in bad.stderr
    finally:
        _git(repo, "checkout", "-q", "--", "funnelc.toml")


def test_russian_output(repo: Path, monkeypatch: pytest.MonkeyPatch, bless: bool) -> None:
    report = report_at(repo, STEPS[4], monkeypatch)
    human = render_human(report, lang="ru")
    check_golden(GOLDEN / "5-change-sla.ru.txt", human.encode("utf-8"), bless)
    assert "срок этапа" in human


def test_an_unknown_revision_is_a_usage_error(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(app, ["diff", "--against", "no-such-rev"])
    assert result.exit_code == 2
    assert "no-such-rev" in result.stderr


def test_colour_only_when_asked(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    _git(repo, "checkout", "-q", STEPS[0].name)
    painted = CliRunner().invoke(app, ["diff", "--against", "HEAD~1", "--color", "always"])
    assert "\x1b[32m" in painted.stdout
    monkeypatch.setenv("NO_COLOR", "1")
    plain = CliRunner().invoke(app, ["diff", "--against", "HEAD~1"])
    assert "\x1b[" not in plain.stdout


def test_was_in_the_source() -> None:
    import funnelc

    result = funnelc.compile_text(
        'pipeline p "P" {\n  deal {\n    stage b "B" was a\n    won w "W"\n    lost l "L"\n  }\n}\n'
    )
    assert result.project is not None
    pipeline = result.project.pipeline("p")
    assert pipeline is not None
    stage = pipeline.stage("b")
    assert stage is not None and stage.was is not None and stage.was.name == "a"


def test_the_diagrams_parse_in_mermaid(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every diff diagram of the series parses with the real Mermaid library (the harness of
    ``tests/test_target_mermaid.py``), and Mermaid gives the diff's classes to its nodes: the
    removed stage ghosted, the added one green."""
    from tests.test_target_mermaid import HARNESS, _npm_ci

    _npm_ci()
    sources: dict[str, str] = {}
    for step in STEPS:
        text = (GOLDEN / f"{step.name}.md").read_text(encoding="utf-8")
        charts = re.findall(r"^```mermaid\n(.*?)^```$", text, re.S | re.M)
        assert len(charts) == 1, step.name
        sources[step.name] = charts[0]
    done = subprocess.run(
        [*node_tools.node(), str(HARNESS / "check.mjs")],
        input=json.dumps(sources),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=600,
        env=node_tools.env(),
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)["results"]
    failed = {name: r["error"] for name, r in results.items() if not r["ok"]}
    assert failed == {}

    def classes_of(step: str, name: str) -> list[str]:
        for vertex in results[step]["vertices"].values():
            if vertex["shown"].split("\n")[0] == name:
                return list(vertex["classes"])
        raise AssertionError(f"no node {name!r} in {step}")

    assert "added" in classes_of("1-add-stage", "Демо проведено")
    assert "removed" in classes_of("6-remove-stage", "Демо проведено")
    assert "changed" in classes_of("5-change-sla", "Квалификация пройдена")
    assert "changed" not in classes_of("5-change-sla", "Заявка оставлена")
