"""The semantic diff (``funnelc.diff.model_diff``) and its formats, on small in-memory versions.

The scripted series of edits to an example, in a git repository, is ``test_diff_series.py``;
the breaking-change codes and their pages are ``test_diff_codes.py``.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import funnelc
from funnelc.cli import app
from funnelc.diff.breaking import breaking_changes
from funnelc.diff.git import GitError, read_revision
from funnelc.diff.model_diff import ChangeKind, diff_projects
from funnelc.diff.render_human import render as render_human
from funnelc.diff.render_json import render as render_json
from funnelc.diff.render_json import schema_path
from funnelc.diff.render_markdown import LIMIT, merged_project
from funnelc.diff.render_markdown import render as render_markdown
from funnelc.diff.report import Report
from funnelc.model import Ident, Project, StageKey

BASE = """\
field budget "Бюджет" money
reason no_budget "Нет бюджета"
pipeline b2b "B2B" {
  lead {
    stage request "Заявка оставлена"
    lost rejected "Лид отбракован"
  }
  deal {
    stage accepted "Лид принят в работу" { goal "Встреча назначена" sla 1d }
    stage qualified "Квалификация пройдена" {
      exit "План согласован" sla 14d probability 30% requires budget }
    stage proposal "КП обсуждено"
    won paid "Оплата получена"
    lost pit "Умиральная яма" { reasons no_budget }
  }
  timeout -> pit
  proposal -> qualified "Новое КП"
}
"""


def project(text: str) -> Project:
    result = funnelc.compile_text(text, "v.funnel")
    assert result.project is not None, result.diagnostics
    return result.project


def kinds(old: str, new: str) -> list[tuple[str, str, str]]:
    diff = diff_projects(project(old), project(new))
    return [(c.kind.value, c.subject, c.attribute) for c in diff.changes]


def test_no_changes() -> None:
    diff = diff_projects(project(BASE), project(BASE))
    assert diff.empty
    report = Report(diff, "a", "b")
    assert render_human(report).endswith("no changes\n")
    assert "no changes" in render_markdown(report)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("sla 14d", "sla 10d", [("stage-changed", "qualified", "sla")]),
        ("probability 30%", "probability 40%", [("stage-changed", "qualified", "probability")]),
        (
            'stage qualified "Квалификация пройдена" {',
            'stage qualified "Квалификация пройдена" key {',
            [("stage-changed", "qualified", "key")],
        ),
        (
            'exit "План согласован"',
            'exit "План и бюджет согласованы"',
            [("stage-changed", "qualified", "exits")],
        ),
        (
            'goal "Встреча назначена"',
            'goal "Встреча проведена"',
            [("stage-changed", "accepted", "goal")],
        ),
        (" requires budget }", " }", [("stage-changed", "qualified", "requires")]),
        ('"КП обсуждено"', '"КП получено"', [("stage-renamed", "proposal", "name")]),
        (
            'reason no_budget "Нет бюджета"',
            'reason no_budget "Бюджета нет"',
            [("reason-renamed", "no_budget", "name")],
        ),
        (
            'field budget "Бюджет" money',
            'field budget "Бюджет" number',
            [("field-changed", "budget", "type")],
        ),
        ('"Новое КП"', '"Нужно новое КП"', [("edge-changed", "proposal", "explicit:label")]),
        ('  proposal -> qualified "Новое КП"\n', "", [("edge-removed", "proposal", "explicit")]),
        ('pipeline b2b "B2B"', 'pipeline b2b "B2B-продажи"', [("pipeline-renamed", "b2b", "name")]),
    ],
)
def test_one_edit(old: str, new: str, expected: list[tuple[str, str, str]]) -> None:
    assert BASE.count(old) == 1
    assert kinds(BASE, BASE.replace(old, new)) == expected


def test_kind_changed_and_bitrix24_semantics() -> None:
    old = BASE.replace(
        '    won paid "Оплата получена"\n',
        '    stage trial "Пробный период"\n    won paid "Оплата получена"\n',
    )
    new = old.replace('    stage trial "Пробный период"\n', "").replace(
        "    lost pit", '    lost trial "Пробный период"\n    lost pit'
    )
    assert kinds(old, new) == [("stage-kind-changed", "trial", "kind")]
    diff = diff_projects(project(old), project(new))
    assert breaking_changes(diff) == []
    # The trial's SEMANTICS changes (F956); Bitrix24 also renumbers the lost outcomes after it.
    found = [d.code for d in breaking_changes(diff, targets=["bitrix24"])]
    assert found[0] == "F956" and set(found[1:]) <= {"F957"}


def test_stage_moved_between_phases_is_not_a_reorder() -> None:
    new = BASE.replace(
        '    stage accepted "Лид принят в работу"', '    stage accepted "Лид принят в работу"'
    )
    new = new.replace(
        '    stage request "Заявка оставлена"\n',
        '    stage request "Заявка оставлена"\n    stage called "Клиент ответил"\n',
    )
    moved = new.replace('    stage called "Клиент ответил"\n', "").replace(
        "  deal {\n", '  deal {\n    stage called "Клиент ответил"\n'
    )
    assert kinds(new, moved) == [("stage-moved", "called", "phase")]
    found = breaking_changes(diff_projects(project(new), project(moved)))
    assert [d.code for d in found] == ["F953"]


def test_pipelines_added_and_removed() -> None:
    other = (
        'pipeline up "Допродажи" {\n  deal {\n    stage n "Потребность"\n'
        '    won w "Да"\n    lost l "Нет"\n  }\n}\n'
    )
    assert kinds(BASE, BASE + other) == [("pipeline-added", "up", "")]
    assert kinds(BASE + other, BASE) == [("pipeline-removed", "up", "")]
    found = breaking_changes(diff_projects(project(BASE + other), project(BASE)))
    assert [d.code for d in found] == ["F951"]
    diff = diff_projects(project(BASE), project(BASE + other))
    text = render_markdown(Report(diff, "a", "b"))
    assert "```mermaid" in text and "classDef added" in text


def test_removed_outcome_and_required_field() -> None:
    new = BASE.replace(" requires budget }", " }").replace('field budget "Бюджет" money\n', "")
    found = breaking_changes(diff_projects(project(BASE), project(new)))
    assert [d.code for d in found] == ["F955"]
    without_lost = BASE.replace('    lost rejected "Лид отбракован"\n', "")
    found = breaking_changes(diff_projects(project(BASE), project(without_lost)))
    assert [d.code for d in found] == ["F954"]


def test_was_declared_on_the_model_beats_the_name_guess() -> None:
    """A stage whose ``was`` names an old id is that stage re-keyed, whatever its name."""
    base = BASE.replace('  proposal -> qualified "Новое КП"\n', "")
    renamed = base.replace('stage proposal "КП обсуждено"', 'stage offer "КП отправлено"')
    old = project(base)
    new = project(renamed)
    assert kinds(base, renamed) == [
        ("stage-removed", "proposal", ""),
        ("stage-added", "offer", ""),
    ]
    pipeline = new.pipelines[0]
    stages = tuple(
        replace(s, was=Ident("proposal", s.id.span)) if s.id.name == "offer" else s
        for s in pipeline.stages
    )
    declared = replace(new, pipelines=(replace(pipeline, stages=stages),))
    diff = diff_projects(old, declared)
    assert [(c.kind.value, c.was, c.declared) for c in diff.changes] == [
        ("stage-rekeyed", "proposal", True),
        ("stage-renamed", "", False),
    ]
    assert breaking_changes(diff) == []
    # The same through the `was` argument (for callers that know the re-keys).
    again = diff_projects(old, new, was={StageKey("b2b", "offer"): "proposal"})
    assert [c.kind for c in again.changes] == [ChangeKind.STAGE_REKEYED, ChangeKind.STAGE_RENAMED]


def test_reorder_reports_the_fewest_stages() -> None:
    stages = "".join(f'    stage s{i} "Этап {i}"\n' for i in range(8))
    text = 'pipeline p "P" {\n  deal {\n' + stages + '    won w "W"\n    lost l "L"\n  }\n}\n'
    moved = text.replace('    stage s6 "Этап 6"\n', "").replace(
        '    stage s1 "Этап 1"\n', '    stage s1 "Этап 1"\n    stage s6 "Этап 6"\n'
    )
    assert kinds(text, moved) == [("stage-reordered", "s6", "position")]


def _versions(draw: st.DrawFn) -> tuple[str, str]:
    count = draw(st.integers(2, 7))
    names = [f"s{i}" for i in range(count)]
    order = draw(st.permutations(names))
    keep = [n for n in order if draw(st.booleans()) or n == order[0]]

    def text(ids: list[str], sla: dict[str, int]) -> str:
        body = "".join(
            f'    stage {n} "Этап {n}"' + (f" {{ sla {sla[n]}d }}" if n in sla else "") + "\n"
            for n in ids
        )
        return (
            'pipeline p "P" {\n  deal {\n' + body + '    won w "W"\n    lost l "L"\n  }\n'
            "  timeout -> l\n}\n"
        )

    slas = {n: draw(st.integers(1, 3)) for n in names if draw(st.booleans())}
    slas2 = {n: draw(st.integers(1, 3)) for n in names if draw(st.booleans())}
    return text(names, slas), text(keep, slas2)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_diff_properties(data: st.DataObject) -> None:
    """Deterministic; nothing between equal versions; added and removed stages are exactly the
    set differences; every change names a stage of one of the versions; the JSON validates."""
    old_text, new_text = data.draw(st.composite(lambda draw: _versions(draw))())
    old, new = project(old_text), project(new_text)
    diff = diff_projects(old, new)
    assert diff.changes == diff_projects(old, new).changes
    assert diff_projects(old, old).empty

    def ids(p: Project) -> set[str]:
        return {s.id.name for s in p.pipelines[0].stages}

    added = {c.subject for c in diff.changes if c.kind is ChangeKind.STAGE_ADDED}
    removed = {c.subject for c in diff.changes if c.kind is ChangeKind.STAGE_REMOVED}
    assert added == ids(new) - ids(old)
    assert removed == ids(old) - ids(new)
    report = Report(diff, "old", "new", breaking_changes(diff))
    jsonschema.validate(json.loads(render_json(report)), _schema())
    assert render_markdown(report) == render_markdown(report)


def _schema() -> dict[str, object]:
    loaded: dict[str, object] = json.loads(schema_path().read_text(encoding="utf-8"))
    return loaded


def test_merged_pipeline_ghosts_the_removed_stage_where_it_was() -> None:
    new = BASE.replace('    stage proposal "КП обсуждено"\n', "").replace(
        '  proposal -> qualified "Новое КП"\n', ""
    )
    diff = diff_projects(project(BASE), project(new))
    merged, nodes, edges = merged_project(diff, "b2b")
    pipeline = merged.pipeline("b2b")
    assert pipeline is not None
    assert [s.id.name for s in pipeline.stages] == [
        "request",
        "rejected",
        "accepted",
        "qualified",
        "proposal",
        "paid",
        "pit",
    ]
    assert nodes == {StageKey("b2b", "proposal"): "removed"}
    removed = {(k[0], k[1].stage, k[2].stage) for k, v in edges.items() if v == "removed"}
    assert ("explicit", "proposal", "qualified") in removed
    assert ("advance", "qualified", "proposal") in removed
    added = {(k[0], k[1].stage, k[2].stage) for k, v in edges.items() if v == "added"}
    assert added == {("win", "qualified", "paid")}


def _huge(count: int) -> tuple[str, str]:
    """Two versions with ``count`` stages each whose SLAs, goals and names all change, with
    names full of characters Markdown escapes."""

    def text(tag: str, days: int) -> str:
        stages = "".join(
            f'    stage s{i} "Этап <{i}> | *{tag}* [x](y) `z` ###"'
            f' {{ goal "Цель {tag} {i}" sla {days}d }}\n'
            for i in range(count)
        )
        return (
            'pipeline big "Большая воронка" {\n  deal {\n'
            + stages
            + '    won w "W"\n    lost l "L"\n  }\n  timeout -> l\n}\n'
        )

    return text("a", 14), text("b", 10)


def test_a_huge_diff_stays_under_the_comment_limit_and_keeps_its_summary() -> None:
    old, new = _huge(400)
    diff = diff_projects(project(old), project(new))
    assert len(diff.changes) == 3 * 400
    report = Report(diff, "main", "working tree")
    text = render_markdown(report)
    assert len(text) <= LIMIT
    full = render_markdown(report, limit=10**9)
    assert len(full) > LIMIT  # the limit really had to shorten it
    head = full.split("\n\n#### ", 1)[0]
    assert text.startswith(head)  # the summary is whole
    assert "400 stages renamed" in text and "SLA of «" in text
    assert "more changes\\: run \\`funnelc diff\\` to see all" in text
    assert text.rstrip().endswith("</details>")
    # The details that are shown are a prefix of the full list.
    shown = [line for line in text.splitlines() if line.startswith("- ")]
    every = [line for line in full.splitlines() if line.startswith("- ")]
    assert shown[:-1] == every[: len(shown) - 1]


def test_limits_smaller_than_a_diagram_leave_the_diagram_out() -> None:
    diff = diff_projects(project(BASE), project(BASE.replace("sla 14d", "sla 10d")))
    report = Report(diff, "a", "b")
    text = render_markdown(report, limit=600)
    assert "```mermaid" not in text and "1 more diagram left out" in text
    assert "SLA of «Квалификация пройдена» 14d → 10d" in text


def test_markdown_escapes_user_text() -> None:
    hostile = BASE.replace('"КП обсуждено"', '"<img src=x> **bold** | `code` [a](b)"')
    diff = diff_projects(project(BASE), project(hostile))
    text = render_markdown(Report(diff, "a", "b"))
    details = text.split("<details>", 1)[1]
    assert "<img" not in text
    assert "\\*\\*bold\\*\\*" in details and "&lt;img" in details


def test_summary_like_the_issue() -> None:
    added = BASE.replace(
        '    stage proposal "КП обсуждено"\n',
        '    stage proposal "КП обсуждено"\n    stage terms "Условия согласованы"\n'
        '    stage signed "Договор подписан"\n',
    ).replace('  proposal -> qualified "Новое КП"\n', "")
    added = added.replace("sla 14d", "sla 10d")
    diff = diff_projects(project(BASE), project(added))
    human = render_human(Report(diff, "a", "b"))
    assert (
        human.splitlines()[-1]
        == ("1 breaking change, +2 stages, −1 edge, SLA of «Квалификация пройдена» 14d → 10d")
        or human.splitlines()[-1] == "+2 stages, −1 edge, SLA of «Квалификация пройдена» 14d → 10d"
    )


def test_two_paths_on_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    (tmp_path / "old" / "a.funnel").write_text(BASE, encoding="utf-8")
    (tmp_path / "new" / "a.funnel").write_text(BASE.replace("sla 14d", "sla 10d"), "utf-8")
    result = CliRunner().invoke(app, ["diff", "old", "new", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    jsonschema.validate(data, _schema())
    assert data["summary"] == "SLA of «Квалификация пройдена» 14d → 10d"
    one = CliRunner().invoke(app, ["diff", "old"])
    assert one.exit_code == 2
    (tmp_path / "new" / "a.funnel").write_text("pipeline {", encoding="utf-8")
    broken = CliRunner().invoke(app, ["diff", "old", "new"])
    assert broken.exit_code == 1
    assert "does not compile" in broken.stderr
    ru = CliRunner().invoke(app, ["breaking", "old", "old", "--lang", "ru"])
    assert ru.exit_code == 0 and "ломающих изменений нет" in ru.stderr


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def test_git_reads_imports_outside_the_inputs_and_touches_nothing(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / "lib").mkdir()
    (tmp_path / "funnels").mkdir()
    (tmp_path / "lib" / "common.funnel").write_text('field phone "Телефон" phone\n', "utf-8")
    body = BASE.replace(
        'field budget "Бюджет" money\n',
        'import "../lib/common.funnel"\nfield budget "Бюджет" money\n',
    )
    (tmp_path / "funnels" / "b2b.funnel").write_text(body, "utf-8")
    (tmp_path / "notes.txt").write_text("x", "utf-8")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "one")
    (tmp_path / "lib" / "common.funnel").write_text('field phone "Тел." phone\n', "utf-8")
    before = sorted(p.name for p in (tmp_path / ".git").iterdir())
    revision = read_revision("HEAD", [Path("funnels")], tmp_path)
    assert sorted(revision.texts) == ["funnels/b2b.funnel", "lib/common.funnel"]
    assert "Телефон" in revision.texts["lib/common.funnel"]
    assert sorted(p.name for p in (tmp_path / ".git").iterdir()) == before
    assert re.fullmatch(r"[0-9a-f]{40}", revision.commit)
    with pytest.raises(GitError):
        read_revision("nope", [Path("funnels")], tmp_path)
    with pytest.raises(GitError):
        read_revision("HEAD", [Path("/")], tmp_path)


def test_git_outside_a_repository(tmp_path: Path) -> None:
    with pytest.raises(GitError):
        read_revision("HEAD", [Path()], tmp_path)


def test_pipeline_rekeyed_with_and_without_was() -> None:
    renamed = BASE.replace('pipeline b2b "B2B"', 'pipeline inbound "B2B"').replace(
        "sla 14d", "sla 10d"
    )
    old, new = project(BASE), project(renamed)
    diff = diff_projects(old, new)
    assert [(c.kind.value, c.pipeline, c.subject, c.attribute) for c in diff.changes] == [
        ("pipeline-rekeyed", "inbound", "inbound", "id"),
        ("stage-changed", "inbound", "qualified", "sla"),
    ]
    assert diff.changes[0].was == "b2b" and not diff.changes[0].declared
    # The stages' edges follow the pipeline: nothing else changed.
    assert [d.code for d in breaking_changes(diff)] == ["F958"]
    stated = replace(
        new, pipelines=(replace(new.pipelines[0], was=Ident("b2b", new.pipelines[0].id.span)),)
    )
    declared = diff_projects(old, stated)
    assert declared.changes[0].declared
    assert breaking_changes(declared) == []
    # The diagram of a re-keyed pipeline draws only what changed as changed.
    _project, nodes, edges = merged_project(declared, "inbound")
    assert nodes == {StageKey("inbound", "qualified"): "changed"}
    assert "removed" not in edges.values()


def test_breaking_messages_keep_their_code_spans_in_markdown() -> None:
    from funnelc.diff.render_markdown import message_markdown

    assert message_markdown("stage `demo` of pipeline `b2b_inbound` was removed") == (
        "stage `demo` of pipeline `b2b_inbound` was removed"
    )
    assert message_markdown("stage `a|b` is *now* `x`") == "stage `a|b` is \\*now\\* `x`"
    assert message_markdown("`<b>` first") == "`<b>` first"
