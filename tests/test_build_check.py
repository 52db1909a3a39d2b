"""``funnelc build --check``: the committed outputs against what the sources produce.

The check builds into a temporary directory and only reads the output directory: every test
hashes the whole tree (hidden files, the manifest and the journal included) before and after
and asserts it is the same, inode and timestamp too.  Each kind of difference is made on a
real build's output: a stale file (bytes differ), a missing one, an extra one (listed in the
manifest for a checked target, no longer produced), and the current tree.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from funnelc.build import (
    MANIFEST,
    Difference,
    check_outputs,
    describe_differences,
    read_manifest,
)
from funnelc.cli import app
from funnelc.emit import EmitOptions
from tests.test_build import compiled, run_build, snapshot, write_project

TARGETS = ["json", "dot"]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The sample project, built into ``out/`` for json and dot, as the working directory."""
    root = write_project(tmp_path / "proj")
    monkeypatch.chdir(root)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    result = run_build(Path("out"), TARGETS)
    assert result.written, result.diagnostics
    yield root


def check(*extra: str) -> Result:
    """``funnelc build --check`` for the fixture's targets, asserting ``out/`` is untouched."""
    before = snapshot(Path("out")) if Path("out").exists() else None
    args = ["build", ".", "--out", "out", "--check", *extra]
    for target in TARGETS:
        args += ["--target", target]
    result = CliRunner().invoke(app, args)
    after = snapshot(Path("out")) if Path("out").exists() else None
    assert after == before, "build --check changed the output directory"
    return result


def test_current_outputs_pass(project: Path) -> None:
    result = check()
    assert result.exit_code == 0, result.stderr
    assert "out is up to date: 4 file(s) for json, dot" in result.stderr
    assert "error" not in result.stderr


def test_stale_file_fails_with_a_diff(project: Path) -> None:
    dot = Path("out/dot/upsell.dot")
    dot.write_text(dot.read_text(encoding="utf-8").replace("Допродажи", "Старое имя"), "utf-8")
    result = check()
    assert result.exit_code == 1
    assert "error[F670]: `out/dot/upsell.dot` is out of date" in result.stderr
    assert "stale: out/dot/upsell.dot" in result.stderr
    assert "--- out/dot/upsell.dot (committed)" in result.stderr
    assert "+++ out/dot/upsell.dot (from the sources)" in result.stderr
    assert any(
        line.startswith("  -") and "Старое имя" in line for line in result.stderr.splitlines()
    )
    assert any(
        line.startswith("  +") and "Допродажи" in line for line in result.stderr.splitlines()
    )
    # Only that file is named.
    assert result.stderr.count("error[F67") == 1


def test_stale_after_a_source_change(project: Path) -> None:
    upsell = Path("upsell.funnel")
    upsell.write_text(upsell.read_text(encoding="utf-8").replace("30d", "20d"), "utf-8")
    result = check()
    assert result.exit_code == 1
    named = {line.split("`")[1] for line in result.stderr.splitlines() if "error[F670]" in line}
    # The SLA is in the json document and on the diagram; the manifest records both hashes.
    assert named == {"out/json/upsell.json", "out/dot/upsell.dot", "out/.funnelc-manifest"}


def test_missing_file_fails(project: Path) -> None:
    Path("out/json/b2b_inbound.json").unlink()
    result = check()
    assert result.exit_code == 1
    assert "error[F671]: `out/json/b2b_inbound.json` is missing" in result.stderr
    assert "missing: out/json/b2b_inbound.json" in result.stderr


def test_missing_output_directory_fails(project: Path) -> None:
    for path in sorted(Path("out").rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    Path("out").rmdir()
    result = check()
    assert result.exit_code == 1
    assert result.stderr.count("error[F671]") == 4  # no manifest: nothing else to compare
    assert not Path("out").exists()


def test_extra_file_fails(project: Path) -> None:
    """A pipeline removed from the sources leaves files the manifest says funnelc wrote."""
    write_project(project, upsell=False)
    result = check()
    assert result.exit_code == 1
    for path in ("out/json/upsell.json", "out/dot/upsell.dot"):
        assert f"error[F672]: `{path}` is no longer produced by the sources" in result.stderr
        assert f"extra: {path} (an earlier build wrote it" in result.stderr


def test_extra_is_judged_by_the_manifest_and_the_targets(project: Path) -> None:
    """A file funnelc did not write, and another target's file, are never extra."""
    Path("out/json/mine.json").write_text("{}\n", encoding="utf-8")
    Path("out/svg").mkdir()
    Path("out/svg/upsell.svg").write_text("<svg/>\n", encoding="utf-8")
    manifest = Path("out") / MANIFEST
    manifest.write_text(
        manifest.read_text(encoding="utf-8") + "file " + "0" * 64 + " 7 svg/upsell.svg\n",
        encoding="utf-8",
    )
    assert "svg/upsell.svg" in read_manifest(Path("out")).files
    assert check().exit_code == 0


def test_manifest_records_are_compared_but_not_its_input_hashes(project: Path) -> None:
    manifest = Path("out") / MANIFEST
    text = manifest.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    edited = [
        line.replace(line.split()[2], "0" * 64) if line.startswith("input json ") else line
        for line in lines
    ]
    manifest.write_text("".join(edited), encoding="utf-8")
    assert check().exit_code == 0  # a cache key, not an output
    manifest.write_text("".join(line for line in lines if "json/upsell.json" not in line), "utf-8")
    result = check()
    assert result.exit_code == 1
    assert "error[F670]: `out/.funnelc-manifest` is out of date" in result.stderr
    assert "  +file " in result.stderr and "json/upsell.json" in result.stderr


def test_a_manifest_left_out_passes(project: Path) -> None:
    """Outputs committed without the manifest: nothing to compare it with, no extras known."""
    (Path("out") / MANIFEST).unlink()
    assert check().exit_code == 0


def test_source_errors_fail_without_writing(project: Path) -> None:
    Path("upsell.funnel").write_text('pipeline upsell "x" { deal { stage a "A"', "utf-8")
    result = check()
    assert result.exit_code == 1
    assert "error[F0" in result.stderr


def test_github_format_annotates_each_file(project: Path) -> None:
    Path("out/json/b2b_inbound.json").unlink()
    result = check("--format", "github")
    assert result.exit_code == 1
    errors = [line for line in result.stdout.splitlines() if line.startswith("::error")]
    assert errors == [
        "::error title=F671::`out/json/b2b_inbound.json` is missing: the sources produce it"
        "%0Ahelp: run `funnelc build` and commit what it writes"
    ]
    assert all(line.startswith("::") for line in result.stdout.splitlines())


def test_the_api_reports_differences(project: Path) -> None:
    Path("out/dot/upsell.dot").write_bytes(b"\xff\x00binary")
    checked = check_outputs(compiled(), TARGETS, Path("out"), EmitOptions())
    assert [(d.path, d.kind) for d in checked.differences] == [("dot/upsell.dot", "stale")]
    assert [d.code for d in checked.diagnostics] == ["F670"]
    text = describe_differences(checked.differences, Path("out"))
    assert "binary files differ: 8 bytes committed" in text


def test_diffs_are_capped_per_file_and_in_total() -> None:
    old = "".join(f"line {n}\n" for n in range(200)).encode()
    new = "".join(f"LINE {n}\n" for n in range(200)).encode()
    differences = [Difference(f"json/p{n}.json", "stale", new, old) for n in range(10)]
    text = describe_differences(differences, Path("out"), per_file=20, total=50)
    lines = text.splitlines()
    assert [line for line in lines if line.startswith("stale: ")] == [
        f"stale: out/json/p{n}.json" for n in range(10)
    ]
    body = [line for line in lines if line.startswith(("  -", "  +", "   ", "  @@"))]
    assert len(body) == 50  # 20 + 20 + 10, then only names
    assert lines.count("  (diff not shown: 50 lines shown already)") == 7
    long = Difference("x", "stale", b"a" * 1000 + b"\n", b"b" * 1000 + b"\n")
    assert max(len(line) for line in describe_differences([long], Path()).splitlines()) < 170


def test_a_link_inside_the_output_directory_is_not_followed(project: Path) -> None:
    """As in a build (F606): a target folder that is a link is reported, never read."""
    elsewhere = project.parent / "elsewhere"
    Path("out/dot").rename(elsewhere)
    Path("out/dot").symlink_to(elsewhere, target_is_directory=True)
    before = snapshot(elsewhere)
    result = check()
    assert result.exit_code == 1
    assert "error[F606]: `out/dot` is a symbolic link inside the output directory" in result.stderr
    assert result.stderr.count("error[F606]") == 1  # once for the link, not once per file
    assert "F670" not in result.stderr and "F671" not in result.stderr
    assert snapshot(elsewhere) == before
