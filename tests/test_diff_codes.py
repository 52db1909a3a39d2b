"""The breaking-change codes (F950–F979): each page's example prints what the page shows.

A page of a breaking code shows two versions, ``old.funnel`` and ``new.funnel`` (the first two
``funnel`` blocks of its example), the ``funnelc breaking`` command (whose ``--target`` options
are used) and what it prints; its fix is a new version without that code.  ``pytest --bless``
rewrites the shown output.  ``tests/test_diagnostics.py`` leaves these pages to this module,
and ``tests/test_i18n.py`` checks the Russian pages with :func:`page_diagnostics`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import funnelc
from funnelc.cli import app
from funnelc.codes import CODES
from funnelc.diagnostics import Diagnostic
from funnelc.diff.breaking import breaking_changes
from funnelc.diff.codes import BREAKING_CODES
from funnelc.diff.model_diff import diff_projects
from funnelc.render import render_human
from funnelc.source import SourceFile
from tests.conftest import ROOT
from tests.crm_sim.casefiles import blocks, section

DOCS = ROOT / "docs" / "codes"
CODES_HERE = sorted(c.code for c in BREAKING_CODES)


def _example(page: Path) -> tuple[str, str, list[str]]:
    text = page.read_text(encoding="utf-8")
    example = section(text, "Example" if page.parent.name != "ru" else "Пример")
    funnels = blocks(example, "funnel")
    console = blocks(example, "console")[0]
    return funnels[0], funnels[1], re.findall(r"--target (\S+)", console)


def run_versions(
    old: str, new: str, targets: list[str], workdir: Path
) -> tuple[list[Diagnostic], dict[str, SourceFile]]:
    """The breaking changes from ``old`` to ``new``, compiled as ``old.funnel`` and
    ``new.funnel`` in ``workdir`` (the working directory)."""
    (workdir / "old.funnel").write_text(old, encoding="utf-8")
    (workdir / "new.funnel").write_text(new, encoding="utf-8")
    before = funnelc.compile(Path("old.funnel"))
    after = funnelc.compile(Path("new.funnel"))
    assert before.project is not None, render_human(before.diagnostics, before.sources)
    assert after.project is not None, render_human(after.diagnostics, after.sources)
    found = breaking_changes(diff_projects(before.project, after.project), targets=targets)
    return found, dict(after.sources)


def page_diagnostics(
    page: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[Diagnostic], dict[str, SourceFile]]:
    """The diagnostics of the page's code that its example produces."""
    monkeypatch.chdir(workdir)
    old, new, targets = _example(page)
    found, sources = run_versions(old, new, targets, workdir)
    return [d for d in found if d.code == page.stem], sources


def test_the_codes_are_in_their_range_and_catalogued() -> None:
    for code in CODES_HERE:
        assert 950 <= int(code[1:]) <= 979
        assert CODES[code].name.startswith("breaking-")


@pytest.mark.parametrize("code", CODES_HERE)
def test_page_example_prints_what_it_shows(
    code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bless: bool
) -> None:
    page = DOCS / f"{code}.md"
    diagnostics, sources = page_diagnostics(page, tmp_path, monkeypatch)
    assert [d.code for d in diagnostics] == [code]
    rendered = render_human(diagnostics, sources, lang="en").rstrip("\n")
    text = page.read_text(encoding="utf-8")
    shown = blocks(section(text, "Example"), "text")[0]
    if bless and shown.rstrip("\n") != rendered:
        page.write_text(text.replace(shown, rendered + "\n", 1), encoding="utf-8")
        return
    assert shown.rstrip("\n") == rendered


@pytest.mark.parametrize("code", CODES_HERE)
def test_page_fix_has_no_breaking_change(
    code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = DOCS / f"{code}.md"
    monkeypatch.chdir(tmp_path)
    old, _new, targets = _example(page)
    fix = blocks(section(page.read_text(encoding="utf-8"), "How to fix"), "funnel")[0]
    found, _sources = run_versions(old, fix, targets, tmp_path)
    assert not [d.code for d in found if d.code == code]


@pytest.mark.parametrize("code", CODES_HERE)
def test_the_cli_command_of_the_page_fails_with_the_code(
    code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = DOCS / f"{code}.md"
    monkeypatch.chdir(tmp_path)
    old, new, targets = _example(page)
    (tmp_path / "old.funnel").write_text(old, encoding="utf-8")
    (tmp_path / "new.funnel").write_text(new, encoding="utf-8")
    args = ["breaking", "old.funnel", "new.funnel", "--format", "json"]
    for target in targets:
        args += ["--target", target]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert f'"code": "{code}"' in result.stdout
    # Allowed in the config, the same change is a warning and the run passes.
    (tmp_path / "funnelc.toml").write_text(f'[breaking]\nallow = ["{code}"]\n', encoding="utf-8")
    allowed = CliRunner().invoke(app, args)
    # F957's example re-keys without `was`, which is F952 too, still not allowed.
    assert allowed.exit_code == (1 if code == "F957" else 0), allowed.output
    assert '"severity": "warning"' in allowed.stdout


@pytest.mark.parametrize("code", CODES_HERE)
def test_explain(code: str) -> None:
    result = CliRunner().invoke(app, ["explain", code])
    assert result.exit_code == 0
    assert result.stdout == (DOCS / f"{code}.md").read_text(encoding="utf-8")
