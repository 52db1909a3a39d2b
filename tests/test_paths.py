"""Paths in outputs, the order of inputs, links, lone surrogates and encodings.

* Every path written into an output is relative to the project root (the directory of the
  config file, else the inputs' root) with ``/``: a build gives the same bytes from the root, from
  a subdirectory (the config found in the parent) and with absolute paths, and whatever the
  order of the file arguments.
* A ``.funnel`` link out of the tree is never read: a fake secret behind it appears in no
  output format.
* Lone surrogates that arrive through the API are replaced where the text enters (F507), and
  lint and every target then run without raising.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

import funnelc
from funnelc.build import build, emit_all
from funnelc.cli import app
from funnelc.emit import EmitOptions
from funnelc.loader import inputs_root, looks_like_cp1251
from funnelc.render import render_human, render_json
from funnelc.sarif import render_github, render_sarif, to_sarif
from funnelc.source import SourceFile
from tests.conftest import ROOT

ALL_TARGETS = ("json", "dot", "svg", "amocrm", "bitrix24")
CRM_TARGETS = ("json", "amocrm", "bitrix24")


def invoke(args: Sequence[str]) -> Result:
    return CliRunner().invoke(app, list(args))


def tree(directory: Path) -> dict[str, bytes]:
    """Every output file under ``directory`` by its relative path (the build's own
    bookkeeping files included: they must not depend on the directory either)."""
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The examples as a project with a ``funnelc.toml`` that builds every target."""
    root = tmp_path / "project"
    shutil.copytree(ROOT / "examples", root / "examples")
    targets = ", ".join(f'"{t}"' for t in ALL_TARGETS)
    (root / "funnelc.toml").write_text(
        f'sources = ["examples"]\nout = "build"\ntargets = [{targets}]\n', encoding="utf-8"
    )
    for name in ("NO_COLOR", "FORCE_COLOR", "FUNNELC_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    return root


def test_the_same_bytes_from_the_root_a_subdirectory_and_absolute_paths(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    assert invoke(["build"]).exit_code == 0
    from_root = tree(project / "build")
    shutil.rmtree(project / "build")

    monkeypatch.chdir(project / "examples" / "shared")
    result = invoke(["build"])  # the config is found two levels up; `out` is relative to it
    assert result.exit_code == 0, result.stderr
    from_below = tree(project / "build")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    absolute = [str(project / "examples"), "--config", str(project / "funnelc.toml")]
    result = invoke(["build", *absolute, "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.stderr
    from_elsewhere = tree(tmp_path / "out")

    assert len([p for p in from_root if p.startswith(ALL_TARGETS)]) >= 4 * 6
    assert from_below == from_root
    assert from_elsewhere == from_root
    plan = json.loads(from_root["amocrm/b2b_inbound.json"])
    assert plan["pipeline"]["source"] == "examples/b2b_inbound.funnel"
    model = json.loads(from_root["json/buyers_local.json"])
    files = {s["file"] for s in _sources(model)}
    assert files == {
        "examples/real_estate.funnel",
        "examples/shared/realty.funnel",
        "examples/shared/common.funnel",
    }
    assert "`examples/b2b_inbound.funnel`" in from_root["bitrix24/b2b_inbound.md"].decode()


def _sources(value: object) -> list[dict[str, object]]:
    """Every ``source`` object of a JSON model."""
    found: list[dict[str, object]] = []
    if isinstance(value, dict):
        if isinstance(value.get("source"), dict):
            found.append(value["source"])
        for item in value.values():
            found.extend(_sources(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_sources(item))
    return found


def test_without_a_config_paths_are_relative_to_the_inputs_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "a" / "examples")
    monkeypatch.chdir(tmp_path / "a")
    assert invoke(["build", "examples", "--out", "o", "-t", "json"]).exit_code == 0
    monkeypatch.chdir(tmp_path)
    absolute = str(tmp_path / "a" / "examples")
    assert invoke(["build", absolute, "--out", "o", "-t", "json"]).exit_code == 0
    assert tree(tmp_path / "a" / "o") == tree(tmp_path / "o")
    model = json.loads((tmp_path / "o" / "json" / "b2b_inbound.json").read_bytes())
    assert {s["file"] for s in _sources(model)} == {"b2b_inbound.funnel", "shared/common.funnel"}


def test_the_inputs_root_is_their_deepest_common_directory(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "c").mkdir()
    (tmp_path / "a" / "b" / "x.funnel").write_text("", encoding="utf-8")
    assert inputs_root([tmp_path / "a" / "b" / "x.funnel"]) == (tmp_path / "a" / "b").resolve()
    assert inputs_root([tmp_path / "a" / "b"]) == (tmp_path / "a" / "b").resolve()
    both = [tmp_path / "a" / "b" / "x.funnel", tmp_path / "a" / "c"]
    assert inputs_root(both) == (tmp_path / "a").resolve()
    assert inputs_root([tmp_path / "missing"]) == Path.cwd().resolve()


def _build(
    paths: Sequence[Path], out: Path, targets: Sequence[str] = CRM_TARGETS
) -> dict[str, bytes]:
    result = funnelc.compile(list(paths))
    assert result.ok and result.project is not None, render_human(
        result.diagnostics, result.sources
    )
    built = build(result.project, list(targets), out, EmitOptions())
    assert not any(d.is_error for d in built.diagnostics)
    return tree(out)


def test_the_order_of_the_file_arguments_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    files = sorted((ROOT / "examples").glob("*.funnel"))
    assert len(files) >= 3
    forward = _build(files, tmp_path / "forward")
    backward = _build(files[::-1], tmp_path / "backward")
    rotated = _build([*files[2:], *files[:2]], tmp_path / "rotated")
    assert forward == backward == rotated
    # The pipelines come in the order of their files' paths, whatever the arguments say.
    project = funnelc.compile(files[::-1]).project
    assert project is not None
    paths = [project.sources[p.span.path].project_path for p in project.pipelines]
    assert paths == sorted(paths)


def test_the_order_of_the_file_arguments_does_not_move_the_bitrix24_lead_funnel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two pipelines with a lead phase: which owns the portal's one lead funnel, and the
    categories' sort values, follow the paths, not the arguments."""
    monkeypatch.chdir(tmp_path)
    for name in ("a_first", "b_second"):
        (tmp_path / f"{name}.funnel").write_text(
            f'pipeline {name} "Воронка {name}" {{\n'
            '  lead { stage new "Заявка получена" accept "ЛПР известен" }\n'
            '  deal { stage met "Встреча состоялась" won paid "Оплата получена" '
            'lost pit "Умиральная яма" }\n}\n',
            encoding="utf-8",
        )
    files = [Path("a_first.funnel"), Path("b_second.funnel")]
    forward = _build(files, tmp_path / "f", ("bitrix24",))
    backward = _build(files[::-1], tmp_path / "b", ("bitrix24",))
    assert forward == backward
    first = json.loads(backward["bitrix24/a_first.json"])
    second = json.loads(backward["bitrix24/b_second.json"])
    assert first["lead_funnel"] == {"mapping": "statuses", "owner": "a_first"}
    assert second["lead_funnel"] == {"mapping": "shared", "owner": "a_first"}
    assert (first["options"]["category-sort"], second["options"]["category-sort"]) == (500, 510)


def test_sarif_locations_are_relative_to_the_project_root(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "examples" / "broken.funnel").write_text(
        'pipeline broken "Сломанная" { deal { stage a "A" won w "W" lost l "L" } '
        "timeout -> lots }\n",
        encoding="utf-8",
    )
    outputs = []
    for where in (project, project / "examples" / "shared"):
        monkeypatch.chdir(where)
        result = invoke(["check", "--format", "sarif"])
        assert result.exit_code == 1
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    run = json.loads(outputs[0])["runs"][0]
    location = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "examples/broken.funnel", "uriBaseId": "%SRCROOT%"}
    base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base == project.resolve().as_uri() + "/"
    # People and GitHub annotations get paths they can open from where they are.
    monkeypatch.chdir(project / "examples")
    github = invoke(["check", "--format", "github"]).stdout
    assert "file=broken.funnel," in github
    human = invoke(["check"]).stderr
    assert "--> broken.funnel:1:" in human


def test_sarif_percent_encodes_the_uri() -> None:
    result = funnelc.compile_text('pipeline p "П" { }', "воронки/b 2b.funnel")
    sarif = to_sarif(result.diagnostics, result.sources)
    runs = sarif["runs"]
    assert isinstance(runs, list)
    uri = runs[0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "%D0%B2%D0%BE%D1%80%D0%BE%D0%BD%D0%BA%D0%B8/b%202b.funnel"
    assert "originalUriBaseIds" not in runs[0]  # no root for in-memory text


# ---- links ----------------------------------------------------------------------------------
SECRET = "FUNNELC_FAKE_SECRET=hunter2-do-not-print"


def _all_formats(paths: Sequence[str]) -> list[str]:
    outputs = []
    for fmt in ("human", "json", "sarif", "github"):
        result = invoke(["check", *paths, "--format", fmt])
        outputs.append(result.stdout + result.stderr)
    result = invoke(["build", *paths, "--out", "out", "-t", "json"])
    outputs.append(result.stdout + result.stderr)
    return outputs


@pytest.mark.parametrize("given", ["directory", "file", "nested"])
def test_a_link_out_of_the_tree_is_never_read(
    given: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "environ"
    # Written so that it would fail to parse: the excerpt of the error would show the secret.
    secret.write_text(f"{SECRET}\n", encoding="utf-8")
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    (project / "b2b.funnel").write_text(
        'pipeline b2b "B2B" { deal { stage a "Встреча назначена" won w "Оплата получена" '
        'lost l "Сделка проиграна" } }\n',
        encoding="utf-8",
    )
    link = project / ("sub/x.funnel" if given == "nested" else "x.funnel")
    link.symlink_to(secret)
    monkeypatch.chdir(project)
    paths = ["x.funnel"] if given == "file" else ["."]
    outputs = _all_formats(paths)
    for output in outputs:
        assert SECRET not in output and "hunter2" not in output
    assert "F506" in outputs[0]
    assert not (project / "out").exists()  # F506 is an error: the build is not written
    result = funnelc.compile(paths)
    assert [d.code for d in result.diagnostics] == ["F506"]
    assert all(SECRET not in s.text for s in result.sources.values())


def test_a_link_inside_the_tree_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "b2b.funnel").write_text(
        'pipeline b2b "B2B" { deal { stage a "Встреча назначена" won w "Оплата получена" '
        'lost l "Сделка проиграна" } }\n',
        encoding="utf-8",
    )
    (tmp_path / "alias.funnel").symlink_to(tmp_path / "real" / "b2b.funnel")
    (tmp_path / "linked_dir").symlink_to(tmp_path / "real", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    result = funnelc.compile(["."])
    assert result.ok, render_human(result.diagnostics, result.sources)
    assert result.project is not None and len(result.project.pipelines) == 1
    assert list(result.sources) == ["real/b2b.funnel"]


def test_an_import_through_a_link_out_of_the_tree_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "environ").write_text(f"{SECRET}\n", encoding="utf-8")
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "shared.funnel").symlink_to(tmp_path / "environ")
    (tmp_path / "p" / "main.funnel").write_text('import "shared.funnel"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path / "p")
    result = funnelc.compile(["main.funnel"])
    assert [d.code for d in result.diagnostics] == ["F503"]
    assert SECRET not in render_human(result.diagnostics, result.sources)


# ---- lone surrogates ------------------------------------------------------------------------
SURROGATE_PIPELINE = """\
field budget "Бюджет \ud800" money
reason no_budget "Нет бюджета \udfff"
pipeline b2b "B2B: входящие \ud83d заявки" {
  segment "Компании \ud800"
  lead {
    definition "Компания оставила контакты \udc00"
    stage new "Заявка \ud800 получена" { goal "Клиент оставил контакты"  exit "Ответил"  sla 2h }
    accept "ЛПР известен"
  }
  deal {
    stage accepted "Лид \udbff принят в работу" { requires budget  sla 1d }
    won paid "Оплата \ud800 получена"
    lost pit "Умиральная \ud800 яма" { reasons no_budget }
  }
  timeout -> pit
  revive pit -> new after 30d "Маркетинг \ud800 прогревает"
}
"""


def test_a_source_file_replaces_lone_surrogates() -> None:
    source = SourceFile("a\ud800.funnel", "x\ud800y\udfffz")
    assert source.text == "x\ufffdy\ufffdz"
    assert source.surrogates == (1, 3)
    assert source.path == "a\ufffd.funnel" == source.project_path
    assert SourceFile("a.funnel", "abc").surrogates == ()


def test_lone_surrogates_through_lint_and_every_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from funnelc.session import Session

    monkeypatch.delenv("FUNNELC_NO_CACHE", raising=False)
    monkeypatch.setenv("FUNNELC_CACHE_DIR", str(tmp_path / "cache"))
    session = Session(persist=True)
    monkeypatch.setenv("FUNNELC_DEBUG", "1")
    result = funnelc.compile_text(
        SURROGATE_PIPELINE, "b2b\ud800.funnel", lint=True, session=session
    )
    f507 = [d for d in result.diagnostics if d.code == "F507"]
    assert len(f507) == 1 and result.ok, render_human(result.diagnostics, result.sources)
    assert f507[0].span is not None
    source = result.sources[f507[0].span.path]
    position = source.position(f507[0].span.start)
    assert (position.line, position.column) == (1, 22)
    assert f507[0].notes == ("10 code points were replaced in this file",)
    # Every way of showing the diagnostics encodes.
    for text in (
        render_human(result.diagnostics, result.sources),
        render_json(result.diagnostics, result.sources),
        render_sarif(result.diagnostics, result.sources),
        render_github(result.diagnostics, result.sources),
    ):
        text.encode("utf-8")
    assert result.project is not None
    built = build(
        result.project, list(ALL_TARGETS), tmp_path / "out", EmitOptions(validate_output=True)
    )
    assert not any(d.is_error for d in built.diagnostics), built.diagnostics
    written = tree(tmp_path / "out")
    assert {p.split("/")[0] for p in written if "/" in p} >= set(ALL_TARGETS)
    for name in ("json/b2b.json", "amocrm/b2b.md", "bitrix24/b2b.json", "dot/b2b.dot"):
        assert "\ufffd" in written[name].decode("utf-8"), name
    # The name cache still works for the rest of the process, and wrote the names.
    session.flush()
    again = funnelc.compile_text(
        SURROGATE_PIPELINE.replace("\ud800", "x"), "c.funnel", lint=True, session=session
    )
    session.flush()
    assert again.ok
    (cached,) = (tmp_path / "cache").glob("names-*.json")
    assert "Заявка x получена" in json.loads(cached.read_text(encoding="utf-8"))


# ---- encodings --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "encoding", "expected"),
    [
        ('reason no_budget "Нет бюджета"\n', "cp1251", True),
        ("# Причины отказа клиента\n", "cp1251", True),
        ('reason other "Autre raison, déjà vue"\n', "latin-1", False),
        ("Größe über alles\n", "latin-1", False),
        ("plain ascii\n", "cp1251", False),
    ],
)
def test_windows_1251_is_recognised(text: str, encoding: str, expected: bool) -> None:
    assert looks_like_cp1251(text.encode(encoding)) is expected


def test_not_utf8_reports_the_line_and_column_in_characters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    good = "# Воронка\r\n".encode()  # valid UTF-8 before the bad byte, with CRLF
    (tmp_path / "x.funnel").write_bytes(good + 'reason r "Нет"\n'.encode("cp1251"))
    (d,) = funnelc.compile(["x.funnel"]).diagnostics
    assert d.code == "F508"
    assert d.args["line"] == "2" and d.args["column"] == "11" and d.args["byte"] == "0xCD"
    assert d.help is not None and "iconv -f cp1251 -t utf-8 x.funnel" in d.help


def test_an_empty_file_among_others_warns_and_the_build_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "b2b.funnel").write_text(
        'pipeline b2b "B2B" { deal { stage a "Встреча назначена" won w "Оплата получена" '
        'lost l "Сделка проиграна" } }\n',
        encoding="utf-8",
    )
    (tmp_path / "empty.funnel").write_text("# nothing yet\n\n", encoding="utf-8")
    result = funnelc.compile(["."])
    assert result.ok and [d.code for d in result.diagnostics] == ["F509"]
    # An imported file of shared declarations is not "a path with no pipelines".
    (tmp_path / "empty.funnel").unlink()
    (tmp_path / "shared.funnel").write_text('reason r "Нет бюджета"\n', encoding="utf-8")
    (tmp_path / "b2b.funnel").write_text(
        'import "shared.funnel"\n' + (tmp_path / "b2b.funnel").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    assert funnelc.compile(["b2b.funnel", "shared.funnel"]).diagnostics == ()


def test_the_case_collision_is_found_for_any_letters() -> None:
    text = (
        'pipeline Sales "A" { deal { stage a "Встреча назначена" won w "Оплата получена" '
        'lost l "Сделка проиграна" } }\n'
    )
    result = funnelc.compile_text(text + text.replace("Sales", "SALES"))
    assert [d.code for d in result.diagnostics] == ["F110"]
    assert funnelc.compile_text(text + text.replace("Sales", "Sales2")).ok


def test_project_relative_paths_use_slashes(tmp_path: Path) -> None:
    from funnelc.source import relative_to_root

    (tmp_path / "a" / "b").mkdir(parents=True)
    inside = tmp_path / "a" / "b" / "x.funnel"
    assert relative_to_root(inside, tmp_path.resolve()) == "a/b/x.funnel"
    assert relative_to_root(tmp_path / "y.funnel", (tmp_path / "a").resolve()) == "../y.funnel"
    assert os.sep not in relative_to_root(inside, tmp_path.resolve()).replace("/", "")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=len(SURROGATE_PIPELINE)),
            st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_surrogates_anywhere_never_raise(inserted: list[tuple[int, str]]) -> None:
    """Surrogates inserted anywhere (inside names, ids, keywords): compiling with lint and
    rendering every format never raises, and every surrogate is reported as replaced."""
    text = re.sub("[\ud800-\udfff]", "", SURROGATE_PIPELINE)
    for offset, char in sorted(inserted, reverse=True):
        text = text[:offset] + char + text[offset:]
    result = funnelc.compile_text(text, "b2b.funnel", lint=True)
    f507 = [d for d in result.diagnostics if d.code == "F507"]
    assert len(f507) == 1
    for render in (render_human, render_json, render_sarif, render_github):
        render(result.diagnostics, result.sources).encode("utf-8")
    if result.ok and result.project is not None:
        emitted = emit_all(result.project, [*CRM_TARGETS, "dot"], EmitOptions())
        assert not any(d.is_error for d in emitted.diagnostics)
