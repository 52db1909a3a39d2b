"""The command line: exit codes, where output goes, colour, and the project config file.

Most tests drive the real typer app in-process with ``typer.testing.CliRunner``; in typer 0.28
its ``Result`` always keeps ``stdout`` and ``stderr`` apart (there is no ``mix_stderr``), which
is what the "JSON and nothing else on stdout" promise needs.  A few tests start
``python -m funnelc`` in a subprocess, for what only a real process shows: the exit status of
a usage error and whether colour follows the terminal, ``NO_COLOR`` and ``FORCE_COLOR``.

Exit codes (``funnelc/cli.py``): 0 no errors, 1 errors in the input or a failed build, 2 the
command was used wrongly (unknown option or target, bad config).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from funnelc.cli import app
from funnelc.codes import CODES
from funnelc.emit import REGISTRY
from funnelc.version import __version__
from tests.conftest import COMMANDS
from tests.conftest import EXAMPLES as EXAMPLES_DIR
from tests.test_build import (
    PIPELINES,
    SAMPLE_UPSELL,
    require_target,
    target_available,
    write_project,
)

DIAGNOSTIC_KEYS = {"code", "severity", "message", "location", "labels", "notes", "help", "fix"}
ESC = "\x1b["

BROKEN = """\
pipeline broken "Сломанная" {
  deal {
    stage a "A" { sla 2d }
    won w "W"
    lost l "L"
  }
  timeout -> lots
}
"""

DUPLICATE = """\
pipeline dup "Дубль" {
  deal {
    stage a "A"
    stage a "Б"
    won w "W"
    lost l "L"
  }
}
"""


def invoke(args: Sequence[str]) -> Result:
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The sample project of ``test_build`` as the working directory, with no config above it
    that could leak in (``tmp_path`` has none, but the variables are cleared for colour)."""
    root = write_project(tmp_path / "proj")
    monkeypatch.chdir(root)
    for name in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    yield root


def write_broken(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(BROKEN, encoding="utf-8")
    return path


# --- version and help ------------------------------------------------------------------------


def test_version() -> None:
    for flag in ("--version", "-V"):
        result = invoke([flag])
        assert result.exit_code == 0
        assert result.stdout == f"funnelc {__version__}\n"


def test_every_command_is_covered_by_these_tests() -> None:
    names = {command.name for command in typer.main.get_command(app).commands.values()}  # type: ignore[attr-defined]
    assert names == set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_on_every_command(command: str) -> None:
    for flag in ("--help", "-h"):
        result = invoke([command, flag])
        assert result.exit_code == 0, result.output
        assert "Usage:" in result.stdout
        assert command in result.stdout.split("\n", 1)[0]
        assert len(result.stdout.strip().splitlines()) >= 3


def test_top_level_help_lists_every_command() -> None:
    result = invoke(["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert f"  {command} " in result.stdout


# --- check -----------------------------------------------------------------------------------


def test_check_valid_file_and_directory(project: Path) -> None:
    for args in (["check", "b2b.funnel", "upsell.funnel"], ["check", "."], ["check"]):
        result = invoke(args)
        assert result.exit_code == 0, (args, result.output)
        assert result.stdout == ""
        assert "error" not in result.stderr


def test_check_errors_exit_1(project: Path) -> None:
    write_broken(project / "broken.funnel")
    result = invoke(["check", "."])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "error[F102]" in result.stderr
    assert "broken.funnel:7:" in result.stderr
    assert result.stderr.endswith("1 error found\n")


def test_check_missing_path_exits_1(project: Path) -> None:
    result = invoke(["check", "nowhere.funnel"])
    assert result.exit_code == 1
    assert "F504" in result.stderr


def test_check_directory_without_funnel_files_exits_1(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("pipeline {\n", encoding="utf-8")
    result = invoke(["check", str(tmp_path / "empty")])
    assert result.exit_code == 1
    assert "F505" in result.stderr


def test_directories_are_searched_recursively(project: Path) -> None:
    write_broken(project / "a" / "b" / "c" / "deep.funnel")
    (project / "a" / "b" / "notes.txt").write_text("not a funnel {{{\n", encoding="utf-8")
    (project / "a" / "b" / "draft.funnel.bak").write_text("pipeline {\n", encoding="utf-8")
    result = invoke(["check", "-f", "json", "a"])
    assert result.exit_code == 1
    files = {d["location"]["file"] for d in json.loads(result.stdout)}
    assert files == {"a/b/c/deep.funnel"}
    # The same tree without the error is clean: no F505, the deep file was found.
    (project / "a" / "b" / "c" / "deep.funnel").write_text(
        BROKEN.replace("lots", "l"), encoding="utf-8"
    )
    assert invoke(["check", "a"]).exit_code == 0


@pytest.mark.parametrize("args", [["check", "--bogus"], ["check", "-x"], ["frobnicate"]])
def test_usage_error_exits_2(project: Path, args: list[str]) -> None:
    result = invoke(args)
    assert result.exit_code == 2
    assert result.stdout == ""


def test_unknown_target_exits_2_with_suggestion(project: Path) -> None:
    result = invoke(["build", ".", "-t", "jsno", "-o", "out"])
    assert result.exit_code == 2
    assert "F603" in result.stderr
    assert "did you mean `json`?" in result.stderr
    assert not (project / "out").exists()


def test_unknown_format_exits_2(project: Path) -> None:
    assert invoke(["check", "--format", "xml"]).exit_code == 2


# --- check --format json ---------------------------------------------------------------------


def _assert_location(location: dict[str, object]) -> None:
    assert set(location) == {"file", "start", "end"}
    for key in ("start", "end"):
        point = location[key]
        assert isinstance(point, dict)
        assert set(point) == {"line", "column", "offset"}
        assert all(isinstance(v, int) and v >= 0 for v in point.values())


def test_check_json_is_only_json(project: Path) -> None:
    write_broken(project / "broken.funnel")
    (project / "dup.funnel").write_text(DUPLICATE, encoding="utf-8")
    result = invoke(["check", "--format", "json", "."])
    assert result.exit_code == 1
    data = json.loads(result.stdout)  # the whole of stdout, nothing before or after
    assert result.stdout.endswith("]\n")
    assert result.stderr == ""
    assert isinstance(data, list) and len(data) == 2
    assert {d["code"] for d in data} == {"F101", "F102"}
    [duplicate] = [d for d in data if d["code"] == "F101"]
    assert len(duplicate["labels"]) == 1
    _assert_location({k: v for k, v in duplicate["labels"][0].items() if k != "message"})
    for diagnostic in data:
        assert set(diagnostic) == DIAGNOSTIC_KEYS
        assert diagnostic["severity"] == "error"
        assert isinstance(diagnostic["message"], str) and diagnostic["message"]
        _assert_location(diagnostic["location"])
        for label in diagnostic["labels"]:
            assert {"message", "file"} <= set(label)
        assert isinstance(diagnostic["notes"], list)
        assert diagnostic["help"] is None or isinstance(diagnostic["help"], str)
    # Cyrillic stays readable (ensure_ascii=False).
    assert "\\u04" not in result.stdout


def _minimal_lint(project: Path) -> None:
    """These tests are about the output format, not the methodology: keep only the minimal
    lint preset so that the sample's stage names and goals are not findings."""
    with (project / "funnelc.toml").open("a", encoding="utf-8") as config:
        config.write('\n[lint]\npreset = "minimal"\n')


def test_check_json_on_clean_input_is_an_empty_list(project: Path) -> None:
    _minimal_lint(project)
    result = invoke(["check", "-f", "json"])
    assert result.exit_code == 0
    assert result.stdout == "[]\n"
    assert result.stderr == ""


def test_check_json_without_location(project: Path) -> None:
    result = invoke(["check", "-f", "json", "missing.funnel"])
    assert result.exit_code == 1
    [diagnostic] = json.loads(result.stdout)
    assert diagnostic["code"] == "F504" and diagnostic["location"] is None


def test_build_json_format_is_only_json(project: Path) -> None:
    _minimal_lint(project)
    result = invoke(["build", "-f", "json", "-t", "json", "-o", "out"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []
    assert result.stderr == ""
    write_broken(project / "broken.funnel")
    failed = invoke(["build", "-f", "json", "-t", "json", "-o", "out"])
    assert failed.exit_code == 1
    assert [d["code"] for d in json.loads(failed.stdout)] == ["F102"]
    assert failed.stderr == ""


# --- explain and codes -----------------------------------------------------------------------


def test_explain_by_code_and_by_name() -> None:
    by_code = invoke(["explain", "F102"])
    assert by_code.exit_code == 0
    assert "F102" in by_code.stdout
    assert by_code.stdout.endswith("\n")
    by_name = invoke(["explain", "unknown-stage"])
    assert by_name.exit_code == 0
    assert by_name.stdout == by_code.stdout
    assert invoke(["explain", "f102"]).stdout == by_code.stdout


@pytest.mark.parametrize("code", sorted(CODES))
def test_explain_every_code(code: str) -> None:
    result = invoke(["explain", code])
    assert result.exit_code == 0
    assert code in result.stdout


def test_explain_unknown_code_exits_2() -> None:
    result = invoke(["explain", "F999"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "unknown code `F999`" in result.stderr
    assert "funnelc codes" in invoke(["explain", "zzzzzzzz"]).stderr  # nothing close


@pytest.mark.parametrize(
    ("typo", "guess"),
    [
        ("F1022", "F102"),
        ("unknwn-stage", "unknown-stage"),
        ("L01", "L001"),
        ("l1", "L001"),
        ("F02", "F002"),
        ("result-named-stag", "result-named-stage"),
    ],
)
def test_explain_typo_suggests(typo: str, guess: str) -> None:
    result = invoke(["explain", typo])
    assert result.exit_code == 2
    assert f"did you mean `{guess}`?" in result.stderr


def test_explain_f999_suggests_something() -> None:
    assert "did you mean" in invoke(["explain", "F999"]).stderr


def test_codes_lists_every_code() -> None:
    result = invoke(["codes"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == len(CODES)
    assert [line.split()[0] for line in lines] == list(CODES)
    for line, entry in zip(lines, CODES.values(), strict=True):
        assert entry.name in line and entry.summary in line


# --- targets and schema ----------------------------------------------------------------------


def test_targets_lists_json_dot_svg() -> None:
    for name in REGISTRY:
        require_target(name)
    result = invoke(["targets"])
    assert result.exit_code == 0, result.output
    # Indented lines under a target list its capabilities (the CRM targets have them).
    listed = [line.split()[0] for line in result.stdout.splitlines() if not line.startswith(" ")]
    assert {"json", "dot", "svg"} <= set(listed)
    assert listed == list(REGISTRY)


def test_schema_prints_valid_json() -> None:
    try:
        from funnelc.schema import SCHEMA_ID, schema_text
    except ImportError as error:
        pytest.skip(f"funnelc.schema cannot be imported yet ({error})")
    result = invoke(["schema"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["$id"] == SCHEMA_ID
    assert result.stdout == schema_text()
    assert result.stderr == ""


# --- the config file -------------------------------------------------------------------------


def _layout(project: Path, sources: str = "funnels") -> Path:
    """Move the sample project's files into ``project/<sources>`` (the config names it)."""
    target = project / sources
    target.mkdir()
    for path in list(project.glob("*.funnel")):
        path.rename(target / path.name)
    return target


def _built(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*.json"))


EXPECTED_JSON = [f"json/{p}.json" for p in PIPELINES]


def test_funnelc_toml_drives_a_bare_build(project: Path) -> None:
    _layout(project)
    write_broken(project / "elsewhere" / "broken.funnel")  # not in `sources`
    (project / "funnelc.toml").write_text(
        'sources = ["funnels"]\nout = "dist"\ntargets = ["json"]\n', encoding="utf-8"
    )
    result = invoke(["build"])
    assert result.exit_code == 0, result.output
    assert _built(project / "dist") == EXPECTED_JSON
    assert invoke(["check"]).exit_code == 0


def test_pyproject_tool_funnelc_works(project: Path) -> None:
    _layout(project)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.funnelc]\nsources = ["funnels"]\nout = "dist"\n'
        'targets = ["json"]\n',
        encoding="utf-8",
    )
    result = invoke(["build"])
    assert result.exit_code == 0, result.output
    assert _built(project / "dist") == EXPECTED_JSON


def test_pyproject_without_tool_funnelc_is_passed_over(project: Path) -> None:
    _layout(project)
    (project / "funnelc.toml").write_text(
        'sources = ["funnels"]\nout = "dist"\ntargets = ["json"]\n', encoding="utf-8"
    )
    sub = project / "sub"
    sub.mkdir()
    (sub / "pyproject.toml").write_text('[project]\nname = "sub"\n', encoding="utf-8")
    os.chdir(sub)
    result = invoke(["build"])
    assert result.exit_code == 0, result.output
    assert _built(project / "dist") == EXPECTED_JSON


def test_config_is_found_from_a_subdirectory(project: Path) -> None:
    funnels = _layout(project)
    (project / "funnelc.toml").write_text(
        'sources = ["funnels"]\nout = "dist"\ntargets = ["json"]\n', encoding="utf-8"
    )
    deep = funnels / "deeper" / "still"
    deep.mkdir(parents=True)
    os.chdir(deep)
    result = invoke(["build"])
    assert result.exit_code == 0, result.output
    # Paths in the file are relative to the file, not to the working directory.
    assert _built(project / "dist") == EXPECTED_JSON
    assert not (deep / "dist").exists()


@pytest.mark.parametrize("command", ["check", "build"])
def test_unknown_config_key_exits_2_with_suggestion(project: Path, command: str) -> None:
    (project / "funnelc.toml").write_text('targts = ["json"]\n', encoding="utf-8")
    result = invoke([command])
    assert result.exit_code == 2
    assert "F604" in result.stderr
    assert "unknown key `targts`" in result.stderr
    assert "did you mean `targets`?" in result.stderr
    assert not (project / "build").exists()


@pytest.mark.parametrize(
    "text",
    [
        "sources = [\n",  # not TOML
        "targets = 3\n",
        'out = ["a", "b"]\n',
        'renderer = "fast"\n',
        "render-timeout = -1\n",
        "render-timeout = true\n",
        "sources = [1, 2]\n",
        'lint = "all"\n',
    ],
)
def test_bad_config_exits_2(project: Path, text: str) -> None:
    (project / "funnelc.toml").write_text(text, encoding="utf-8")
    result = invoke(["build", "-o", "out"])
    assert result.exit_code == 2, result.output
    assert "F604" in result.stderr
    assert not (project / "out").exists()


def test_explicit_config_option(project: Path, tmp_path: Path) -> None:
    _layout(project)
    config = tmp_path / "elsewhere.toml"
    config.write_text(
        f'sources = ["{(project / "funnels").as_posix()}"]\nout = "{(project / "dist").as_posix()}"'
        '\ntargets = ["json"]\n',
        encoding="utf-8",
    )
    result = invoke(["build", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert _built(project / "dist") == EXPECTED_JSON
    missing = invoke(["build", "--config", str(tmp_path / "missing.toml")])
    assert missing.exit_code == 2
    assert "F604" in missing.stderr


def test_cli_options_override_the_config(project: Path) -> None:
    _layout(project)
    write_broken(project / "broken" / "broken.funnel")
    # Each configured value alone would fail: a broken source, an unknown target.
    (project / "funnelc.toml").write_text(
        'sources = ["broken"]\nout = "dist"\ntargets = ["nosuch"]\n', encoding="utf-8"
    )
    assert invoke(["build"]).exit_code == 2  # the unknown target, before compiling
    assert invoke(["check"]).exit_code == 1  # the configured broken source
    result = invoke(["build", "funnels", "-t", "json", "-o", "other"])
    assert result.exit_code == 0, result.output
    assert _built(project / "other") == EXPECTED_JSON
    assert not (project / "dist").exists()
    assert invoke(["check", "funnels"]).exit_code == 0


def test_config_targets_table_selects_targets(project: Path) -> None:
    _layout(project)
    (project / "funnelc.toml").write_text(
        'sources = ["funnels"]\nout = "dist"\n\n[targets.json]\n', encoding="utf-8"
    )
    result = invoke(["build"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (project / "dist").iterdir()) == [".funnelc-manifest", "json"]


def test_bare_build_without_config_builds_every_target_into_build(project: Path) -> None:
    from funnelc.emit import DEFAULT_TARGETS

    for name in DEFAULT_TARGETS:
        require_target(name)
    result = invoke(["build"])
    assert result.exit_code == 0, result.output
    # Every default target; the CRM targets are built only when asked for.
    built = sorted(p.name for p in (project / "build").iterdir() if p.is_dir())
    assert built == sorted(DEFAULT_TARGETS)


def test_build_reports_written_and_unchanged(project: Path) -> None:
    first = invoke(["build", "-t", "json", "-o", "out"])
    assert "2 written, 0 unchanged" in first.stderr
    second = invoke(["build", "-t", "json", "-o", "out"])
    assert "0 written, 2 unchanged" in second.stderr
    (project / "upsell.funnel").unlink()
    (project / "b2b.funnel").write_text(
        (project / "b2b.funnel").read_text("utf-8").replace(" { next upsell.new }", ""), "utf-8"
    )
    third = invoke(["build", "-t", "json", "-o", "out"])
    assert third.exit_code == 0, third.output
    assert "1 stale removed" in third.stderr
    assert _built(project / "out") == ["json/b2b_inbound.json"]


# --- a real process: exit status and colour --------------------------------------------------


def run(
    args: Sequence[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    stderr: int = subprocess.PIPE,
) -> subprocess.CompletedProcess[str]:
    """``python -m funnelc ARGS`` with the colour variables and ``TERM`` cleared."""
    clean = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM")}
    clean["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, "-m", "funnelc", *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


@pytest.fixture
def broken_dir(tmp_path: Path) -> Path:
    write_broken(tmp_path / "broken.funnel")
    return tmp_path


def test_process_usage_error_exits_2(broken_dir: Path) -> None:
    done = run(["check", "--bogus"], broken_dir)
    assert done.returncode == 2
    assert "No such option" in done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr


def test_process_exit_codes(broken_dir: Path, tmp_path: Path) -> None:
    assert run(["check", "."], broken_dir).returncode == 1
    good = write_project(tmp_path / "good")
    assert run(["check", "."], good).returncode == 0
    assert run(["--version"], good).stdout == f"funnelc {__version__}\n"


def test_process_no_colour_when_not_a_terminal(broken_dir: Path) -> None:
    done = run(["check", "."], broken_dir)
    assert done.returncode == 1
    assert "error[F102]" in done.stderr
    assert ESC not in done.stderr


def test_process_force_color_and_color_always(broken_dir: Path) -> None:
    forced = run(["check", "."], broken_dir, env={"FORCE_COLOR": "1"})
    assert ESC in forced.stderr
    always = run(["check", "--color", "always", "."], broken_dir)
    assert ESC in always.stderr
    # Stripped of its escapes, the coloured text is the plain text.
    plain = run(["check", "."], broken_dir).stderr
    assert re.sub(r"\x1b\[[0-9;]*m", "", always.stderr) == plain


def test_process_no_color_wins_over_force_color(broken_dir: Path) -> None:
    done = run(["check", "."], broken_dir, env={"NO_COLOR": "1", "FORCE_COLOR": "1"})
    assert done.returncode == 1
    assert ESC not in done.stderr
    never = run(["check", "--color", "never", "."], broken_dir, env={"FORCE_COLOR": "1"})
    assert ESC not in never.stderr


def test_process_json_never_coloured(broken_dir: Path) -> None:
    done = run(["check", "-f", "json", "--color", "always", "."], broken_dir)
    assert done.returncode == 1
    assert ESC not in done.stdout
    assert json.loads(done.stdout)[0]["code"] == "F102"


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_process_colour_on_a_terminal_unless_no_color(broken_dir: Path) -> None:
    import pty

    for env, coloured in (({}, True), ({"NO_COLOR": "1"}, False), ({"TERM": "dumb"}, False)):
        leader, follower = pty.openpty()
        try:
            done = run(["check", "."], broken_dir, env={"TERM": "xterm", **env}, stderr=follower)
        finally:
            os.close(follower)
        chunks = []
        try:
            while True:
                chunk = os.read(leader, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except OSError:
            pass
        finally:
            os.close(leader)
        text = b"".join(chunks).decode("utf-8", "replace")
        assert done.returncode == 1
        assert "F102" in text
        assert (ESC in text) is coloured, env


# --- the sample's own checks -----------------------------------------------------------------


def test_sample_upsell_is_valid_alone(tmp_path: Path) -> None:
    """Guards the fixtures above: the upsell file compiles on its own."""
    (tmp_path / "u.funnel").write_text(SAMPLE_UPSELL, encoding="utf-8")
    assert invoke(["check", str(tmp_path / "u.funnel")]).exit_code == 0
    assert target_available("json")


def test_main_registers_only_the_command_it_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """``main`` builds only the named command (start-up), and restores the whole group."""
    from funnelc import cli

    before = list(cli.app.registered_commands)
    seen: list[list[str]] = []
    real = cli.app.__call__

    def spy(*args: object, **kwargs: object) -> object:
        seen.append([cli._command_name(i) for i in cli.app.registered_commands])
        return real(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(type(cli.app), "__call__", lambda self, *a, **k: spy(*a, **k))
        with pytest.raises(SystemExit) as done:
            cli.main(["check", str(EXAMPLES_DIR)])
        assert done.value.code == 0
        with pytest.raises(SystemExit) as done:
            cli.main(["chek"])
        assert done.value.code == 2
    assert seen[0] == ["check"]
    assert len(seen[1]) == len(before) > 10  # a typo gets the whole group and its suggestions
    assert cli.app.registered_commands == before
    assert "Did you mean 'check'" in capsys.readouterr().err
