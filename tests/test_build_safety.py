"""What a build may touch, and what survives a kill: the promises of ``funnelc/build.py``.

- Stale files are removed per target: a one-off build of one target (or a config without
  ``targets``) keeps every other target's files; a renamed pipeline's own stale file goes and
  is listed; a file funnelc did not write, or edited since, is never removed; a manifest of the
  first format is read by the same rules.
- Nothing is written, read or deleted through a symbolic link inside the output directory
  (F606 when the build would have to write through one).
- A killed build is rolled forward (journal present) or back (no journal) by the next one, which
  also removes every temporary a killed build left; a real ``funnelc build`` is SIGKILLed at
  random moments to show it.
- New files get ``0666 & ~umask``; an unchanged project is not emitted again.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import funnelc
from funnelc import emit
from funnelc.build import JOURNAL, MANIFEST, build, read_manifest, recover, write_outputs
from funnelc.cli import app
from funnelc.emit import EmitOptions
from funnelc.model import Pipeline, Project
from tests.test_build import PIPELINES, snapshot, write_project

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = write_project(tmp_path / "proj")
    monkeypatch.chdir(root)
    for name in ("NO_COLOR", "FORCE_COLOR", "FUNNELC_LANG"):
        monkeypatch.delenv(name, raising=False)
    yield root


def compiled() -> Project:
    result = funnelc.compile(["."])
    assert result.ok and result.project is not None, result.diagnostics
    return result.project


def files_of(out: Path, target: str) -> dict[str, bytes]:
    folder = out / target
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


def leftovers(out: Path) -> list[str]:
    """Temporaries, backups and journals: what a build must never leave behind."""
    return sorted(
        p.relative_to(out).as_posix()
        for p in out.rglob("*")
        if p.name.endswith((".tmp", ".bak")) or p.name == JOURNAL
    )


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stderr


# --- stale files: per target ---------------------------------------------------------------


def test_a_one_off_target_keeps_every_other_targets_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The case of the issue: the examples' default build, then `--target amocrm`."""
    monkeypatch.chdir(tmp_path)
    code, _err = invoke("build", str(EXAMPLES), "--out", "build")
    assert code == 0, _err
    before = {t: files_of(tmp_path / "build", t) for t in ("json", "dot", "svg")}
    assert all(before.values())
    code, err = invoke("build", str(EXAMPLES), "--out", "build", "--target", "amocrm")
    assert code == 0, err
    assert "stale" not in err and "removed" not in err
    for target, files in before.items():
        assert files_of(tmp_path / "build", target) == files, target
    assert files_of(tmp_path / "build", "amocrm")
    # And back: the default build keeps the amoCRM files.
    code, err = invoke("build", str(EXAMPLES), "--out", "build")
    assert code == 0 and "removed" not in err, err
    assert files_of(tmp_path / "build", "amocrm")
    listed = {r.split("/")[0] for r in read_manifest(tmp_path / "build").files}
    assert listed == {"json", "dot", "svg", "amocrm"}


def test_a_config_without_targets_keeps_the_crm_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "funnelc.toml").write_text('sources = ["examples"]\nout = "out"\n', "utf-8")
    code, err = invoke("build", "--target", "amocrm", "--target", "bitrix24")
    assert code == 0, err
    crm = {t: files_of(tmp_path / "out", t) for t in ("amocrm", "bitrix24")}
    assert all(crm.values())
    code, err = invoke("build")
    assert code == 0 and "removed" not in err, err
    for target, files in crm.items():
        assert files_of(tmp_path / "out", target) == files
    assert files_of(tmp_path / "out", "json")


def test_a_renamed_pipelines_own_stale_file_goes_and_is_listed(project: Path) -> None:
    out = project / "out"
    assert invoke("build", "--out", "out", "-t", "json", "-t", "dot")[0] == 0
    upsell = project / "upsell.funnel"
    upsell.write_text(
        upsell.read_text(encoding="utf-8").replace("pipeline upsell", "pipeline upsell2"),
        encoding="utf-8",
    )
    main = project / "b2b.funnel"
    main.write_text(
        main.read_text(encoding="utf-8").replace("upsell.new", "upsell2.new"), encoding="utf-8"
    )
    code, err = invoke("build", "--out", "out", "-t", "json")
    assert code == 0, err
    assert sorted(files_of(out, "json")) == ["b2b_inbound.json", "upsell2.json"]
    # The dot target was not built: its file for the old name stays, and stays listed.
    assert "upsell.dot" in files_of(out, "dot")
    assert "dot/upsell.dot" in read_manifest(out).files
    assert "1 stale removed" in err
    assert "removed out/json/upsell.json" in err
    code, err = invoke("build", "--out", "out", "-t", "dot")
    assert code == 0 and "removed out/dot/upsell.dot" in err, err
    assert sorted(files_of(out, "dot")) == ["b2b_inbound.dot", "upsell2.dot"]


def test_foreign_and_edited_files_are_never_removed(project: Path) -> None:
    out = project / "out"
    assert not build(compiled(), ["json"], out, EmitOptions()).diagnostics
    (out / "json" / "mine.json").write_text("{}\n", encoding="utf-8")
    (out / "json" / ".upsell.json.swp").write_text("editor\n", encoding="utf-8")
    (out / "json" / ".notes.tmp").write_text("mine\n", encoding="utf-8")
    (out / "json" / "upsell.json").write_text('{"edited": "by hand"}\n', encoding="utf-8")
    write_project(project, upsell=False)
    result = build(compiled(), ["json"], out, EmitOptions())
    assert not result.diagnostics
    assert result.removed == ()
    assert result.kept == ("json/upsell.json",)
    assert (out / "json" / "upsell.json").read_text(encoding="utf-8") == '{"edited": "by hand"}\n'
    for name in ("mine.json", ".upsell.json.swp", ".notes.tmp"):
        assert (out / "json" / name).is_file(), name
    # Kept, it is no longer funnelc's: not listed, not reported again.
    assert "json/upsell.json" not in read_manifest(out).files
    assert build(compiled(), ["json"], out, EmitOptions()).kept == ()


def test_the_cli_reports_a_kept_file(project: Path) -> None:
    assert invoke("build", "--out", "out", "-t", "json")[0] == 0
    (project / "out" / "json" / "upsell.json").write_text("mine now\n", encoding="utf-8")
    write_project(project, upsell=False)
    code, err = invoke("build", "--out", "out", "-t", "json")
    assert code == 0
    assert "kept out/json/upsell.json: no longer built, but changed since funnelc wrote it" in err


def test_an_old_format_manifest_is_read_per_target(project: Path) -> None:
    out = project / "out"
    for folder, names in (("json", ("b2b_inbound.json", "upsell.json")), ("dot", ("upsell.dot",))):
        (out / folder).mkdir(parents=True)
        for name in names:
            (out / folder / name).write_text("old\n", encoding="utf-8")
    (out / "json" / "foreign.json").write_text("{}\n", encoding="utf-8")
    (out / MANIFEST).write_text(
        "# files written by funnelc build; stale ones are removed on the next build\n"
        "dot/upsell.dot\njson/b2b_inbound.json\njson/upsell.json\n",
        encoding="utf-8",
    )
    write_project(project, upsell=False)
    result = build(compiled(), ["json"], out, EmitOptions())
    assert not result.diagnostics
    assert result.removed == ("json/upsell.json",)
    assert (out / "dot" / "upsell.dot").read_text(encoding="utf-8") == "old\n"
    assert (out / "json" / "foreign.json").is_file()
    manifest = read_manifest(out)
    assert manifest.files["dot/upsell.dot"] is None  # carried over as it was: no hash known
    assert manifest.files["json/b2b_inbound.json"] is not None
    assert (out / MANIFEST).read_text(encoding="utf-8").startswith("# funnelc manifest 2\n")


# --- links ---------------------------------------------------------------------------------


def test_a_stale_entry_through_a_directory_link_deletes_nothing_outside(
    project: Path, tmp_path: Path
) -> None:
    """A committed build/ with `dot -> elsewhere` and a manifest line for it."""
    out = project / "out"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "precious.json").write_text("keep\n", encoding="utf-8")
    out.mkdir()
    (out / "dot").symlink_to(elsewhere, target_is_directory=True)
    (out / MANIFEST).write_text("dot/precious.json\njson/precious.json\n", encoding="utf-8")
    result = build(compiled(), ["json"], out, EmitOptions())
    assert not result.diagnostics and result.removed == ()
    assert (elsewhere / "precious.json").read_text(encoding="utf-8") == "keep\n"
    # Building the linked target itself is refused before anything is written.
    result = build(compiled(), ["dot"], out, EmitOptions())
    assert [d.code for d in result.diagnostics] == ["F606"]
    assert sorted(p.name for p in elsewhere.iterdir()) == ["precious.json"]


def test_a_stale_file_that_is_a_link_is_left_alone(project: Path, tmp_path: Path) -> None:
    out = project / "out"
    victim = tmp_path / "victim.txt"
    victim.write_text("keep\n", encoding="utf-8")
    assert not build(compiled(), ["json"], out, EmitOptions()).diagnostics
    (out / "json" / "upsell.json").unlink()
    (out / "json" / "upsell.json").symlink_to(victim)
    write_project(project, upsell=False)
    result = build(compiled(), ["json"], out, EmitOptions())
    assert not result.diagnostics and result.removed == () and result.kept == ()
    assert victim.read_text(encoding="utf-8") == "keep\n"
    assert (out / "json" / "upsell.json").is_symlink()
    assert "json/upsell.json" not in read_manifest(out).files


@pytest.mark.parametrize("link", ["json", "json/upsell.json", MANIFEST])
def test_writing_through_a_link_is_refused(project: Path, tmp_path: Path, link: str) -> None:
    out = project / "out"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "upsell.json").write_text("outside\n", encoding="utf-8")
    (out / "json").mkdir(parents=True)
    if link == "json":
        (out / "json").rmdir()
        (out / "json").symlink_to(outside, target_is_directory=True)
    else:
        (out / link).symlink_to(outside / "upsell.json")
    before = snapshot(outside)
    result = build(compiled(), ["json"], out, EmitOptions())
    assert [d.code for d in result.diagnostics] == ["F606"]
    assert (out / link).as_posix() in result.diagnostics[0].message
    assert snapshot(outside) == before
    assert leftovers(out) == []


def test_the_cli_shows_f606_not_a_traceback(project: Path, tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (project / "out").mkdir()
    (project / "out" / "json").symlink_to(tmp_path / "outside", target_is_directory=True)
    code, err = invoke("build", "--out", "out", "-t", "json")
    assert code == 1
    assert "error[F606]: `out/json` is a symbolic link" in err
    assert "Traceback" not in err
    assert list((tmp_path / "outside").iterdir()) == []


def test_the_output_directory_itself_may_be_a_link(project: Path, tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (project / "out").symlink_to(tmp_path / "real", target_is_directory=True)
    result = build(compiled(), ["json"], project / "out", EmitOptions())
    assert not result.diagnostics
    assert sorted(files_of(tmp_path / "real", "json")) == [f"{p}.json" for p in PIPELINES]


def test_a_forged_journal_cannot_move_or_delete_anything_outside(
    project: Path, tmp_path: Path
) -> None:
    out = project / "out"
    assert not build(compiled(), ["json"], out, EmitOptions()).diagnostics
    victim = tmp_path / "victim.txt"
    victim.write_text("keep\n", encoding="utf-8")
    digest = hashlib.sha256(b"keep\n").hexdigest()
    (out / "json" / "mine.txt").write_text("keep\n", encoding="utf-8")
    (out / "elsewhere").symlink_to(tmp_path, target_is_directory=True)
    forged = {
        "renames": [
            ["../victim.txt", "json/b2b_inbound.json", None],
            ["json/.x.funnelc-0000000000000000.tmp", "../victim.txt", None],
            ["elsewhere/.victim.txt.funnelc-0000000000000000.tmp", "elsewhere/victim.txt", None],
        ],
        "delete": [
            ["../victim.txt", 5, digest],
            [str(victim), 5, digest],
            ["elsewhere/victim.txt", 5, digest],
            ["json/mine.txt", 5, "0" * 64],  # a user's file, with a hash it does not have
        ],
    }
    (out / JOURNAL).write_text(json.dumps(forged), encoding="utf-8")
    (out / "json" / ".x.funnelc-0000000000000000.tmp").write_text("x\n", encoding="utf-8")
    recover(out)
    assert victim.read_text(encoding="utf-8") == "keep\n"
    assert (out / "json" / "mine.txt").read_text(encoding="utf-8") == "keep\n"
    assert not (out / JOURNAL).exists()
    assert leftovers(out) == []


# --- kills, recovery, modes ---------------------------------------------------------------


def test_the_next_build_removes_what_a_killed_one_left(project: Path) -> None:
    out = project / "out"
    assert not build(compiled(), ["json"], out, EmitOptions()).diagnostics
    left = [
        "json/.b2b_inbound.json.funnelc-0123456789abcdef.tmp",
        "json/.upsell.json.funnelc-0123456789abcdef.bak",
        "json/.upsell.json.k2j4_x9a.tmp",  # mkstemp's name, from funnelc before the journal
        f".{MANIFEST}.abcdefgh.tmp",
    ]
    for relative in left:
        (out / relative).write_text("half\n", encoding="utf-8")
    foreign = ["json/.notes.abcdefgh.tmp", "json/.mine.tmp", ".cache.bak"]
    for relative in foreign:
        (out / relative).write_text("mine\n", encoding="utf-8")
    before = files_of(out, "json")
    result = build(compiled(), ["json"], out, EmitOptions())
    assert not result.diagnostics
    assert all(not (out / r).exists() for r in left)
    assert all((out / r).is_file() for r in foreign)
    assert {k: v for k, v in files_of(out, "json").items() if not k.startswith(".")} == {
        k: v for k, v in before.items() if not k.startswith(".")
    }


def test_a_build_interrupted_after_its_commit_is_rolled_forward(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = project / "out"
    assert not build(compiled(), ["json"], out, EmitOptions()).diagnostics
    old = files_of(out, "json")
    write_project(project, upsell=False)
    main = project / "b2b.funnel"
    main.write_text(main.read_text(encoding="utf-8").replace("B2B:", "B2B, v2:"), "utf-8")
    real_replace = Path.replace

    def killed(self: Path, target: str | os.PathLike[str]) -> Path:
        if Path(target).name == MANIFEST:
            raise KeyboardInterrupt  # not an OSError: no undo in-process, as with a kill
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        build(compiled(), ["json"], out, EmitOptions())
    monkeypatch.undo()
    assert (out / JOURNAL).is_file()
    recover(out)
    new = files_of(out, "json")
    assert sorted(new) == ["b2b_inbound.json"]  # the stale upsell.json went too
    assert new["b2b_inbound.json"] != old["b2b_inbound.json"]
    assert sorted(read_manifest(out).files) == ["json/b2b_inbound.json"]
    assert leftovers(out) == []


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
def test_outputs_get_the_umask_mode(tmp_path: Path, umask: int) -> None:
    previous = os.umask(umask)
    try:
        write_outputs(tmp_path / "out", {"json/a.json": b"{}\n"})
        write_outputs(tmp_path / "out", {"json/a.json": b"[]\n"})  # a replaced file too
    finally:
        os.umask(previous)
    for path in (tmp_path / "out" / "json" / "a.json", tmp_path / "out" / MANIFEST):
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path


# --- no-op rebuilds -----------------------------------------------------------------------


def _emits(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    asked: list[str] = []
    real = emit.get_target

    def counting(name: str) -> emit.Target:
        asked.append(name)
        return real(name)

    monkeypatch.setattr("funnelc.build.get_target", counting)
    return asked


def test_an_unchanged_project_is_not_emitted_again(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = project / "out"
    first = build(compiled(), ["json", "dot"], out, EmitOptions())
    asked = _emits(monkeypatch)
    before = snapshot(out)
    again = build(compiled(), ["json", "dot"], out, EmitOptions())
    assert asked == []
    assert again.reused == ("json", "dot")
    assert dict(again.files) == dict(first.files)
    assert again.written == again.removed == ()
    assert snapshot(out) == before


@pytest.mark.parametrize("change", ["source", "options", "tampered", "missing", "target"])
def test_a_changed_input_or_output_is_emitted_again(
    project: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    out = project / "out"
    build(compiled(), ["json", "dot"], out, EmitOptions())
    expected = files_of(out, "json")
    options = EmitOptions()
    if change == "source":
        main = project / "b2b.funnel"
        main.write_text(main.read_text(encoding="utf-8").replace("B2B:", "B2B 2:"), "utf-8")
    elif change == "options":
        options = EmitOptions(unsupported="ignore")
    elif change == "tampered":
        (out / "json" / "upsell.json").write_text("{}\n", encoding="utf-8")
    elif change == "missing":
        (out / "json" / "upsell.json").unlink()
    else:
        (out / MANIFEST).write_text(
            (out / MANIFEST).read_text(encoding="utf-8").replace("input json ", "input json 0"),
            encoding="utf-8",
        )
    asked = _emits(monkeypatch)
    result = build(compiled(), ["json", "dot"], out, options)
    assert asked == ["json"] or (change in ("source", "options") and asked == ["json", "dot"])
    if change in ("tampered", "missing"):
        assert result.written == ("json/upsell.json",)
        assert files_of(out, "json") == expected


_WARNS_ON_AMOCRM = """\
pipeline b2b "B2B: входящие заявки" {
  deal {
    stage accepted "Лид принят в работу"
    won paid "Оплата получена" { color "green" }
    lost lost "Не реализовано"
  }
}
"""


def test_a_target_that_warned_is_emitted_every_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its warnings must show (and fail a --strict build) on every run."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "b2b.funnel").write_text(_WARNS_ON_AMOCRM, encoding="utf-8")
    out = tmp_path / "out"
    first = build(compiled(), ["amocrm"], out, EmitOptions())
    assert [d.code for d in first.diagnostics] == ["F901"]
    assert "amocrm" not in read_manifest(out).inputs
    asked = _emits(monkeypatch)
    again = build(compiled(), ["amocrm"], out, EmitOptions())
    assert asked == ["amocrm"]
    assert [d.code for d in again.diagnostics] == ["F901"]


# --- a real build, killed at random moments --------------------------------------------------

_KILL_PIPELINES = 40


def _kill_project(root: Path, version: int) -> None:
    """Many small pipelines, so that writing is a good part of a build; ``version`` changes
    every file's bytes, and version 1 has one pipeline fewer (a stale file to remove)."""
    for index in range(_KILL_PIPELINES):
        path = root / f"p{index}.funnel"
        if version == 1 and index == _KILL_PIPELINES - 1:
            path.unlink(missing_ok=True)
            continue
        path.write_text(
            f'pipeline p{index} "Воронка {index}, версия {version}" {{\n'
            '  deal {\n    stage new "Заявка" { sla 1d }\n'
            '    won done "Оплачено"\n    lost lost "Отказ"\n  }\n  timeout -> lost\n}\n',
            encoding="utf-8",
        )


def _outputs(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


_SLOW_RENAMES = """
import sys, time
from pathlib import Path
real = Path.replace
def slow(self, target):
    time.sleep(0.004)
    return real(self, target)
Path.replace = slow
from funnelc.cli import main
main(sys.argv[1:])
"""
"""``funnelc build`` with each rename of the apply step 4 ms slower, so that random kills land
between two renames often enough to show what such a kill leaves (recovery uses ``os.replace``
and is not slowed)."""


def test_a_sigkilled_build_leaves_the_old_or_the_new_outputs(tmp_path: Path) -> None:
    if not hasattr(signal, "SIGKILL"):
        pytest.fail("this platform has no SIGKILL")  # the suite runs on POSIX only
    root = tmp_path / "proj"
    root.mkdir()
    arguments = ["build", ".", "-o", "out", "-t", "json", "-t", "dot"]
    plain = [sys.executable, "-m", "funnelc", *arguments]
    slowed = [sys.executable, "-c", _SLOW_RENAMES, *arguments]
    env = {**os.environ, "NO_COLOR": "1"}
    expected: list[dict[str, bytes]] = []
    for version in (0, 1):
        _kill_project(root, version)
        done = subprocess.run(
            [*plain[:6], f"expected{version}", *plain[7:]],
            cwd=root,
            env=env,
            capture_output=True,
            check=False,
        )
        assert done.returncode == 0
        expected.append(_outputs(root / f"expected{version}"))
    assert expected[0] != expected[1]
    _kill_project(root, 0)
    started = time.perf_counter()
    assert subprocess.run(slowed, cwd=root, env=env, capture_output=True).returncode == 0
    duration = time.perf_counter() - started
    out = root / "out"
    current = 0
    rng = random.Random(7)
    delay = 0.7 * duration
    staging = committed = iterations = 0
    # About 20-30 kills on an idle machine, at least 15 on a busy one.
    deadline = time.monotonic() + 14
    while iterations < 40 and (iterations < 15 or time.monotonic() < deadline):
        iterations += 1
        _kill_project(root, 1 - current)
        process = subprocess.Popen(
            slowed, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.85, 1.15) * delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        journal = (out / JOURNAL).exists()
        hit = bool(leftovers(out))
        committed += journal
        staging += hit and not journal
        recover(out)
        outputs = _outputs(out)
        assert outputs in expected, f"a mix after kill {iterations}: {sorted(outputs)}"
        # Aim at the write phase: later after a kill before it (or while staging), earlier
        # after one past it.
        if not hit:
            delay *= 1.1 if expected.index(outputs) == current else 0.9
        elif not journal:
            delay *= 1.03
        current = expected.index(outputs)
        assert set(read_manifest(out).files) == set(outputs)
        assert leftovers(out) == []
    # The next build cleans up and finishes the job.
    _kill_project(root, 1 - current)
    assert subprocess.run(plain, cwd=root, env=env, capture_output=True).returncode == 0
    assert _outputs(out) == expected[1 - current]
    assert leftovers(out) == []
    # Kills must have landed while files were renamed, or this test shows little.
    print(f"{iterations} kills: {staging} while staging, {committed} while renaming")
    assert committed >= 1, f"no kill of {iterations} hit the renames ({staging} the staging)"


def test_dot_and_svg_share_each_pipelines_dot(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    dot = importlib.import_module("funnelc.targets.dot")
    real = dot.build_graph
    built: list[str] = []

    def counting(project: Project, pipeline: Pipeline, language: str | None = None) -> object:
        built.append(pipeline.id.name)
        return real(project, pipeline, language)

    monkeypatch.setattr(dot, "build_graph", counting)
    result = build(compiled(), ["dot", "svg"], project / "out", EmitOptions())
    assert not result.diagnostics
    assert sorted(built) == sorted(PIPELINES)
    # Outside a build nothing is kept: a second emit computes it again.
    built.clear()
    dot.dot_source(compiled(), compiled().pipelines[0])
    assert built == [PIPELINES[0]]


def test_a_file_system_without_hard_links_still_builds(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = project / "out"
    assert not build(compiled(), ["json"], out, EmitOptions()).diagnostics

    def no_links(*args: object, **kwargs: object) -> None:
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    main = project / "b2b.funnel"
    main.write_text(main.read_text(encoding="utf-8").replace("B2B:", "B2B 2:"), "utf-8")
    result = build(compiled(), ["json"], out, EmitOptions())
    assert not result.diagnostics
    assert result.written == ("json/b2b_inbound.json",)
    assert leftovers(out) == []


def test_a_failed_rename_removes_the_new_files_it_added(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rolled back in-process: a file that did not exist before is gone again."""
    out = project / "out"
    write_project(project, upsell=False)
    assert not build(compiled(), ["json"], out, EmitOptions()).diagnostics
    before = snapshot(out)
    write_project(project)
    real_replace = Path.replace

    def fail_on_manifest(self: Path, target: str | os.PathLike[str]) -> Path:
        if Path(target).name == MANIFEST:
            raise OSError(13, "Permission denied")
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", fail_on_manifest)
    result = build(compiled(), ["json"], out, EmitOptions())
    monkeypatch.undo()
    assert [d.code for d in result.diagnostics] == ["F605"]
    assert snapshot(out) == before
    assert leftovers(out) == []


def test_a_second_build_waits_for_the_one_writing(project: Path) -> None:
    import fcntl
    import threading

    out = project / "out"
    assert not build(compiled(), ["json"], out, EmitOptions()).diagnostics
    project_ = compiled()
    handle = os.open(out, os.O_RDONLY)
    fcntl.flock(handle, fcntl.LOCK_EX)  # as a build that is writing holds it
    finished = threading.Event()

    def second() -> None:
        build(project_, ["json"], out, EmitOptions())
        finished.set()

    waiting = threading.Thread(target=second)
    try:
        waiting.start()
        assert not finished.wait(0.5)
    finally:
        os.close(handle)
    waiting.join(30)
    assert finished.is_set()


# --- a property over sequences of builds ---------------------------------------------------

_TARGETS = ("json", "dot", "svg", "amocrm")
_STEP = st.tuples(
    st.sets(st.sampled_from(_TARGETS), min_size=1),
    st.sets(st.sampled_from(("a", "b", "c", "d")), min_size=1),  # the pipelines
    st.integers(0, 2),  # a version: changes every file's bytes
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_STEP, min_size=1, max_size=6))
def test_each_build_changes_only_its_own_targets(
    steps: list[tuple[set[str], set[str], int]],
) -> None:
    # Durability is not what this checks: without fsync each example takes milliseconds.
    with tempfile.TemporaryDirectory() as scratch, mock.patch("os.fsync"):
        out = Path(scratch) / "out"
        out.mkdir()
        foreign = {"README.md": b"mine\n", "json/notes.txt": b"mine\n", "svg/.keep": b""}
        for relative, data in foreign.items():
            (out / relative).parent.mkdir(parents=True, exist_ok=True)
            (out / relative).write_bytes(data)
        last: dict[str, dict[str, bytes]] = {}  # target → the files its last build wrote
        for targets, pipelines, version in steps:
            files = {
                f"{t}/{p}.out": f"{t} {p} v{version}\n".encode() for t in targets for p in pipelines
            }
            write_outputs(out, files, targets=targets)
            for target in targets:
                last[target] = {r: d for r, d in files.items() if r.startswith(f"{target}/")}
            on_disk = {
                p.relative_to(out).as_posix(): p.read_bytes()
                for p in out.rglob("*")
                if p.is_file() and p.name != MANIFEST
            }
            expected = dict(foreign)
            for target_files in last.values():
                expected.update(target_files)
            assert on_disk == expected
            assert set(read_manifest(out).files) == {r for f in last.values() for r in f}


def test_a_project_without_source_texts_is_never_skipped(project: Path) -> None:
    from dataclasses import replace

    bare = replace(compiled(), sources={})
    out = project / "out"
    assert not build(bare, ["dot"], out, EmitOptions()).diagnostics
    assert read_manifest(out).inputs == {}
    assert build(bare, ["dot"], out, EmitOptions()).reused == ()


def test_a_no_op_from_a_subdirectory_is_a_no_op(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not build(compiled(), ["json"], project / "out", EmitOptions()).diagnostics
    (project / "sub").mkdir()
    monkeypatch.chdir(project / "sub")
    result = funnelc.compile([".."])
    assert result.project is not None
    again = build(result.project, ["json"], Path("../out"), EmitOptions())
    assert again.reused == ("json",)
