"""The build writer: output layout, determinism, no needless rewrites, all-or-nothing builds,
stale-file removal limited to funnelc's own files, and atomic replacement of each file.

The promises tested here are the ones ``funnelc/build.py`` makes in its docstring: a failing
build leaves the output directory exactly as it was, files whose bytes did not change keep
their timestamps, and only files listed in the manifest are ever deleted.  A project is
written to a temporary directory and compiled with that directory as the working directory,
because the ``json`` target re-reads sources by their display path (relative to the cwd).

The project helpers (``SAMPLE_*``, :func:`write_project`, :func:`snapshot`,
:func:`available_targets`) are also used by ``test_cli.py`` and ``test_robustness.py``.
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

import funnelc
from funnelc import codes
from funnelc.build import MANIFEST, BuildResult, build, emit_all, read_manifest, write_outputs
from funnelc.diagnostics import Diagnostic
from funnelc.emit import NO_CAPABILITIES, REGISTRY, EmitOptions, Emitted, get_target
from funnelc.model import Pipeline, Project

# --- the sample project --------------------------------------------------------------------

SAMPLE_COMMON = """\
reason no_budget "Нет бюджета"
reason competitor "Выбрали конкурента"
field deadline "Срок запуска" date
"""

SAMPLE_MAIN = '''\
# Inbound B2B requests
import "common.funnel"

pipeline b2b_inbound "B2B: входящие заявки" {
  segment "Компании, оставившие заявку на сайте"
  field budget   "Бюджет"        money
  field source   "Источник"      choice("Сайт", "Звонок", "Рекомендация")
  lead {
    definition "Компания из целевого сегмента"
    stage new "Заявка получена" {
      goal "Клиент оставил контакты"
      exit "Клиент ответил на звонок"
      sla 2h
    }
    accept "ЛПР известен"
  }
  deal {
    stage accepted "Лид принят в работу" { exit "Назначена встреча с ЛПР"  sla 1d }
    stage qualified "Квалификация пройдена" key {
      requires budget, source, deadline
      sla 14d
      probability 30%
      task "Отправить план сделки ЛПР"
      color "#2e7d32"
    }
    won paid "Оплата получена" { next upsell.new }
    lost lost_deal "Сделка проиграна" { reasons no_budget, competitor }
    lost pit "Умиральная яма"
  }
  timeout -> pit
  qualified -> accepted "Нужна повторная встреча"
  revive pit -> new after 30d """Маркетинг
  прогревает"""
}
'''

SAMPLE_UPSELL = """\
pipeline upsell "Допродажи" {
  deal {
    stage new "Потребность выявлена" { sla 30d }
    won done "Допродажа оплачена"
    lost lost "Допродажа не состоялась"
  }
  timeout -> lost
}
"""

PIPELINES = ("b2b_inbound", "upsell")
EXTENSIONS = {"json": "json", "dot": "dot", "svg": "svg"}


def write_project(root: Path, *, upsell: bool = True) -> Path:
    """The sample project under ``root``: three files, two pipelines, one import."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "common.funnel").write_text(SAMPLE_COMMON, encoding="utf-8")
    main = SAMPLE_MAIN if upsell else SAMPLE_MAIN.replace(" { next upsell.new }", "")
    (root / "b2b.funnel").write_text(main, encoding="utf-8")
    if upsell:
        (root / "upsell.funnel").write_text(SAMPLE_UPSELL, encoding="utf-8")
    else:
        (root / "upsell.funnel").unlink(missing_ok=True)
    return root


def target_available(name: str) -> bool:
    """Whether the target's module can be imported (dot and svg are being written)."""
    try:
        get_target(name)
    except ImportError:
        return False
    return True


def available_targets() -> list[str]:
    return [name for name in ("json", "dot", "svg") if target_available(name)]


def require_target(name: str) -> None:
    if not target_available(name):
        pytest.skip(f"target `{name}` is not importable yet ({REGISTRY[name]} is being written)")


Snapshot = dict[str, tuple[bytes, int, int]]


def snapshot(directory: Path) -> Snapshot:
    """Every file under ``directory`` (hidden and temporary ones included): bytes, mtime, inode.

    The inode catches a file that was replaced by one with the same bytes and timestamp.
    """
    result: Snapshot = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            stat = path.stat()
            result[path.relative_to(directory).as_posix()] = (
                path.read_bytes(),
                stat.st_mtime_ns,
                stat.st_ino,
            )
    return result


def age(directory: Path) -> None:
    """Set every file's timestamps to 2001, so a rewrite cannot hide in mtime granularity."""
    for path in directory.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(1_000_000_000 * 10**9, 1_000_000_000 * 10**9))


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The sample project in ``tmp_path/proj``, which is also the working directory."""
    root = write_project(tmp_path / "proj")
    monkeypatch.chdir(root)
    yield root


def compiled() -> Project:
    result = funnelc.compile(["."])
    assert result.ok, result.diagnostics
    assert result.project is not None
    return result.project


def run_build(out: Path, targets: list[str] | None = None) -> BuildResult:
    return build(compiled(), targets or ["json"], out, EmitOptions())


# --- layout ----------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["json", "dot", "svg"])
def test_layout_is_out_target_pipeline_ext(project: Path, target: str) -> None:
    require_target(target)
    out = project / "out"
    result = run_build(out, [target])
    assert not result.diagnostics
    expected = {f"{target}/{p}.{EXTENSIONS[target]}" for p in PIPELINES}
    assert set(result.files) == expected
    assert set(result.written) == expected
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert on_disk == expected | {MANIFEST}
    for relative in expected:
        assert (out / relative).read_bytes() == result.files[relative]
        assert result.files[relative], f"{relative} is empty"


def test_layout_with_several_targets(project: Path) -> None:
    targets = available_targets()
    out = project / "out"
    result = run_build(out, targets)
    assert not result.diagnostics
    assert sorted(result.files) == sorted(
        f"{t}/{p}.{EXTENSIONS[t]}" for t in targets for p in PIPELINES
    )
    manifest = read_manifest(out)
    assert list(manifest.files) == sorted(result.files)
    assert sorted(manifest.inputs) == sorted(targets)


def test_json_outputs_are_the_documents_of_each_pipeline(project: Path) -> None:
    import json

    out = project / "out"
    run_build(out, ["json"])
    for pipeline in PIPELINES:
        data = (out / "json" / f"{pipeline}.json").read_bytes()
        assert data.endswith(b"\n") and not data.endswith(b"\n\n")
        assert b"\r" not in data
        document = json.loads(data)
        assert document["id"] == pipeline
    assert "Умиральная яма" in (out / "json" / "b2b_inbound.json").read_text(encoding="utf-8")


def test_cli_build_writes_the_layout(project: Path) -> None:
    from typer.testing import CliRunner

    from funnelc.cli import app

    result = CliRunner().invoke(app, ["build", ".", "-o", "dist", "-t", "json"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (project / "dist" / "json").iterdir()) == [
        f"{p}.json" for p in PIPELINES
    ]
    assert "2 written, 0 unchanged" in result.stderr


# --- determinism and no needless rewrites ----------------------------------------------------


def test_two_builds_give_identical_bytes(project: Path) -> None:
    targets = available_targets()
    run_build(project / "one", targets)
    run_build(project / "two", targets)
    one = {k: v[0] for k, v in snapshot(project / "one").items()}
    two = {k: v[0] for k, v in snapshot(project / "two").items()}
    assert one == two
    assert len(one) == len(targets) * len(PIPELINES) + 1


def test_target_order_does_not_change_the_output(project: Path) -> None:
    targets = available_targets()
    if len(targets) < 2:
        pytest.skip("needs two targets; only json is importable yet")
    run_build(project / "one", targets)
    run_build(project / "two", list(reversed(targets)))
    assert {k: v[0] for k, v in snapshot(project / "one").items()} == {
        k: v[0] for k, v in snapshot(project / "two").items()
    }


def test_second_identical_build_rewrites_nothing(project: Path) -> None:
    out = project / "out"
    targets = available_targets()
    run_build(out, targets)
    age(out)
    before = snapshot(out)
    again = run_build(out, targets)
    assert again.written == ()
    assert again.removed == ()
    assert snapshot(out) == before


def test_only_changed_files_are_rewritten(project: Path) -> None:
    out = project / "out"
    run_build(out, ["json"])
    age(out)
    before = snapshot(out)
    upsell = project / "upsell.funnel"
    upsell.write_text(
        upsell.read_text(encoding="utf-8").replace("Допродажи", "Допродажи 2"), encoding="utf-8"
    )
    again = run_build(out, ["json"])
    assert again.written == ("json/upsell.json",)
    after = snapshot(out)
    assert after["json/b2b_inbound.json"] == before["json/b2b_inbound.json"]
    assert after["json/upsell.json"][0] != before["json/upsell.json"][0]
    # The manifest records the new file's hash and the new inputs.
    assert after[MANIFEST][0] != before[MANIFEST][0]


def test_manifest_is_deterministic(project: Path) -> None:
    targets = available_targets()
    run_build(project / "one", targets)
    run_build(project / "two", list(reversed(targets)))
    one = (project / "one" / MANIFEST).read_bytes()
    assert one == (project / "two" / MANIFEST).read_bytes()
    assert one.endswith(b"\n") and b"\r" not in one
    lines = one.decode("utf-8").splitlines()
    listed = [line.split(" ")[-1] for line in lines if line.startswith("file ")]
    assert listed == sorted(listed)
    assert len(listed) == len(set(listed)) == len(targets) * len(PIPELINES)
    inputs = [line.split(" ")[1] for line in lines if line.startswith("input ")]
    assert inputs == sorted(targets)


# --- failing builds write nothing ------------------------------------------------------------


def _user_files(out: Path) -> None:
    """Files funnelc did not write, which every build must leave alone."""
    (out / "README.txt").write_text("mine\n", encoding="utf-8")
    (out / "json" / "notes.md").write_text("mine too\n", encoding="utf-8")


def test_source_error_leaves_output_untouched(project: Path) -> None:
    from typer.testing import CliRunner

    from funnelc.cli import app

    out = project / "out"
    run_build(out, ["json"])
    _user_files(out)
    age(out)
    before = snapshot(out)
    (project / "upsell.funnel").write_text(
        SAMPLE_UPSELL.replace("timeout -> lost", "timeout -> lots"), encoding="utf-8"
    )
    (project / "b2b.funnel").write_text(
        SAMPLE_MAIN.replace("B2B: входящие", "B2B: новые"), encoding="utf-8"
    )
    result = CliRunner().invoke(app, ["build", ".", "-o", "out", "-t", "json"])
    assert result.exit_code == 1, result.output
    assert "F102" in result.stderr
    assert snapshot(out) == before


class _FakeTarget:
    """What every target declares (funnelc.emit.Target): no checks."""

    capabilities = NO_CAPABILITIES

    def check(self, project: Project, options: EmitOptions) -> list[Diagnostic]:
        return []


class _BrokenTarget(_FakeTarget):
    """Emits the first pipeline fine and reports an error for every other one."""

    name = "broken"
    description = "fails on purpose"

    def emit(self, project: Project, pipeline: Pipeline, options: EmitOptions) -> Emitted:
        if pipeline is project.pipelines[0]:
            return Emitted({f"{pipeline.id.name}.txt": b"partial\n"})
        failure = codes.make(
            "F601", None, pipeline=pipeline.id.name, reason="boom", hint="it is a test"
        )
        return Emitted({f"{pipeline.id.name}.txt": b"half\n"}, (failure,))


class _RaisingTarget(_FakeTarget):
    name = "raising"
    description = "raises on purpose"

    def emit(self, project: Project, pipeline: Pipeline, options: EmitOptions) -> Emitted:
        raise RuntimeError("emitter bug")


@pytest.fixture
def fake_targets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register ``broken`` and ``raising`` through the real registry and importer."""
    module = types.ModuleType("funnelc_test_fake_targets")
    module.TARGET = _BrokenTarget()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(REGISTRY, "broken", module.__name__)
    raising = types.ModuleType("funnelc_test_raising_target")
    raising.TARGET = _RaisingTarget()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, raising.__name__, raising)
    monkeypatch.setitem(REGISTRY, "raising", raising.__name__)


def _change_sources(project: Path) -> None:
    """Edit both pipelines, so that a build that wrongly wrote would change the json files."""
    (project / "b2b.funnel").write_text(
        SAMPLE_MAIN.replace("B2B: входящие", "B2B: новые"), encoding="utf-8"
    )
    (project / "upsell.funnel").write_text(
        SAMPLE_UPSELL.replace("Допродажи", "Допродажи 2"), encoding="utf-8"
    )


@pytest.mark.usefixtures("fake_targets")
def test_emitter_error_leaves_output_untouched(project: Path) -> None:
    out = project / "out"
    run_build(out, ["json"])
    _user_files(out)
    age(out)
    before = snapshot(out)
    _change_sources(project)
    result = run_build(out, ["json", "broken"])
    assert [d.code for d in result.diagnostics] == ["F601"]
    assert result.written == () and result.removed == ()
    assert snapshot(out) == before


@pytest.mark.usefixtures("fake_targets")
def test_emitter_error_through_cli_leaves_output_untouched(project: Path) -> None:
    from typer.testing import CliRunner

    from funnelc.cli import app

    out = project / "out"
    run_build(out, ["json"])
    age(out)
    before = snapshot(out)
    _change_sources(project)
    result = CliRunner().invoke(app, ["build", ".", "-o", "out", "-t", "json", "-t", "broken"])
    assert result.exit_code == 1, result.output
    assert "F601" in result.stderr
    assert "nothing was written" in result.stderr
    assert snapshot(out) == before


@pytest.mark.usefixtures("fake_targets")
def test_emitter_exception_leaves_output_untouched(project: Path) -> None:
    out = project / "out"
    run_build(out, ["json"])
    age(out)
    before = snapshot(out)
    _change_sources(project)
    with pytest.raises(RuntimeError, match="emitter bug"):
        run_build(out, ["json", "raising"])
    assert snapshot(out) == before


@pytest.mark.usefixtures("fake_targets")
def test_emitter_error_into_a_missing_directory_creates_nothing(project: Path) -> None:
    out = project / "never"
    result = run_build(out, ["json", "broken"])
    assert result.diagnostics
    assert not out.exists()


def test_unknown_target_writes_nothing(project: Path) -> None:
    out = project / "out"
    result = run_build(out, ["json", "jsno"])
    assert [d.code for d in result.diagnostics] == ["F603"]
    assert result.diagnostics[0].help == "did you mean `json`?"
    assert not out.exists()


def test_output_path_that_is_a_file_is_a_diagnostic(project: Path) -> None:
    (project / "out").write_text("not a directory\n", encoding="utf-8")
    result = run_build(project / "out", ["json"])
    assert [d.code for d in result.diagnostics] == ["F605"]
    assert (project / "out").read_text(encoding="utf-8") == "not a directory\n"


# --- stale files -----------------------------------------------------------------------------


def test_removed_pipeline_removes_only_its_own_stale_files(project: Path) -> None:
    out = project / "out"
    run_build(out, ["json"])
    _user_files(out)
    (out / "json" / "upsell.json.bak").write_bytes(b"a user's backup\n")
    write_project(project, upsell=False)
    result = run_build(out, ["json"])
    assert result.removed == ("json/upsell.json",)
    assert not (out / "json" / "upsell.json").exists()
    assert (out / "json" / "b2b_inbound.json").is_file()
    assert (out / "README.txt").read_text(encoding="utf-8") == "mine\n"
    assert (out / "json" / "notes.md").read_text(encoding="utf-8") == "mine too\n"
    assert (out / "json" / "upsell.json.bak").read_bytes() == b"a user's backup\n"
    listed = (out / MANIFEST).read_text(encoding="utf-8")
    assert "upsell" not in listed
    # The next build has nothing stale left to remove.
    assert run_build(out, ["json"]).removed == ()


def test_dropped_target_removes_its_directory_only_when_empty(project: Path) -> None:
    out = project / "out"
    files = {"json/a.json": b"{}\n", "extra/a.txt": b"x\n", "other/b.txt": b"y\n"}
    write_outputs(out, files)
    (out / "other" / "mine.txt").write_text("mine\n", encoding="utf-8")
    built = ["json", "extra", "other"]
    written, removed, kept = write_outputs(out, {"json/a.json": b"{}\n"}, targets=built)
    assert written == []
    assert removed == ["extra/a.txt", "other/b.txt"]
    assert kept == []
    assert not (out / "extra").exists()
    assert (out / "other" / "mine.txt").is_file()


def test_first_build_into_a_directory_without_manifest_removes_nothing(project: Path) -> None:
    out = project / "out"
    (out / "json").mkdir(parents=True)
    (out / "json" / "old.json").write_text("{}\n", encoding="utf-8")
    result = run_build(out, ["json"])
    assert result.removed == ()
    assert (out / "json" / "old.json").is_file()


def test_manifest_entries_outside_the_output_are_never_removed(
    project: Path, tmp_path: Path
) -> None:
    out = project / "out"
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n", encoding="utf-8")
    sibling = project / "sibling.txt"
    sibling.write_text("keep me too\n", encoding="utf-8")
    out.mkdir()
    (out / MANIFEST).write_text(
        f"# hand-edited\n../sibling.txt\njson/../../sibling.txt\n{victim.as_posix()}\n",
        encoding="utf-8",
    )
    result = run_build(out, ["json"])
    assert result.removed == ()
    assert victim.read_text(encoding="utf-8") == "keep me\n"
    assert sibling.read_text(encoding="utf-8") == "keep me too\n"


def test_unreadable_manifest_is_treated_as_empty(project: Path) -> None:
    out = project / "out"
    out.mkdir()
    (out / MANIFEST).write_bytes(b"\xff\xfe not utf-8\n")
    (out / "keep.txt").write_text("x\n", encoding="utf-8")
    result = run_build(out, ["json"])
    assert not result.diagnostics
    assert (out / "keep.txt").is_file()
    assert (out / MANIFEST).read_text(encoding="utf-8").count("json/") == len(PIPELINES)


# --- atomic writes ---------------------------------------------------------------------------


def _no_temporaries(out: Path) -> None:
    left = [p.name for p in out.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".")]
    assert set(left) <= {MANIFEST}, left


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_failed_write_keeps_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    out = tmp_path / "out"
    write_outputs(out, {"json/a.json": b"old\n"})
    age(out)
    before = snapshot(out)

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    if failing == "fsync":
        monkeypatch.setattr(os, "fsync", fail)
    else:
        monkeypatch.setattr(Path, "replace", fail)
    with pytest.raises(OSError, match="No space left"):
        write_outputs(out, {"json/a.json": b"new\n"})
    monkeypatch.undo()
    assert snapshot(out) == before
    _no_temporaries(out)


def test_failed_write_through_build_is_a_diagnostic(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = project / "out"
    run_build(out, ["json"])
    age(out)
    before = snapshot(out)
    _change_sources(project)

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", fail)
    result = run_build(out, ["json"])
    monkeypatch.undo()
    assert [d.code for d in result.diagnostics] == ["F605"]
    assert "No space left on device" in result.diagnostics[0].message
    _no_temporaries(out)
    # The first file that failed is intact; see the next test for the ones before it.
    assert snapshot(out)["json/b2b_inbound.json"] == before["json/b2b_inbound.json"]


def test_full_disk_on_a_later_file_leaves_every_file_untouched(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staging (writing the new bytes) happens for every file before any is replaced."""
    import funnelc.build as build_module

    out = project / "out"
    run_build(out, ["json"])
    age(out)
    before = snapshot(out)
    _change_sources(project)
    real_stage = build_module._stage

    def full_on_upsell(path: Path, data: bytes) -> Path:
        if path.name == "upsell.json":
            raise OSError(28, "No space left on device")
        return real_stage(path, data)

    monkeypatch.setattr(build_module, "_stage", full_on_upsell)
    result = run_build(out, ["json"])
    monkeypatch.undo()
    assert [d.code for d in result.diagnostics] == ["F605"]
    _no_temporaries(out)
    assert snapshot(out) == before


def test_write_failure_on_a_later_file_leaves_earlier_files_untouched(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rename that fails half-way is undone from the backups of the files already replaced."""
    out = project / "out"
    run_build(out, ["json"])
    age(out)
    before = snapshot(out)
    _change_sources(project)
    real_replace = Path.replace

    def fail_on_upsell(self: Path, target: str | os.PathLike[str]) -> Path:
        if Path(target).name == "upsell.json":
            raise OSError(28, "No space left on device")
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", fail_on_upsell)
    result = run_build(out, ["json"])
    monkeypatch.undo()
    assert [d.code for d in result.diagnostics] == ["F605"]
    _no_temporaries(out)
    assert snapshot(out) == before


# --- the API on in-memory projects -----------------------------------------------------------


def test_emit_all_works_for_a_project_compiled_from_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No file on disk: the targets must take positions from the compile, not re-read files."""
    monkeypatch.chdir(tmp_path)
    text = SAMPLE_COMMON + SAMPLE_MAIN.replace('import "common.funnel"', "") + SAMPLE_UPSELL
    result = funnelc.compile_text(text)
    assert result.ok and result.project is not None
    targets = available_targets()
    emitted = emit_all(result.project, targets, EmitOptions())
    assert not emitted.diagnostics
    assert sorted(emitted.files) == sorted(
        f"{t}/{p}.{EXTENSIONS[t]}" for t in targets for p in PIPELINES
    )
    assert list(tmp_path.iterdir()) == []
