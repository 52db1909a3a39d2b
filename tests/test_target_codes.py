"""The diagnostic codes of the CRM targets (F7xx, F8xx, F9xx): cases, snapshots and docs.

Target codes appear only in a build with that target, so their cases live apart from the
compiler's, under ``tests/errors/targets/``.  A case is a ``.funnel`` file whose header says
what to expect and how to build it::

    # expect: F801
    # target: bitrix24
    # unsupported: error                       (optional; default warn)
    # option: pipelines.b2b.status-ids.x = "X" (optional, repeatable: TOML for [targets.<t>])
    # inject: what bug                         (optional: F904, a plan funnelc itself breaks)

Its rendered diagnostics are compared with ``<case>.stderr``; ``pytest --bless`` rewrites them.

The docs page of each target code (``docs/codes/<CODE>.md``) has the usual shape; its example is
built the way its ``console`` block says (``--target``, ``--unsupported``) with the ``toml``
block as the project config, and must print exactly its ``text`` block.  The fix must build
without that code.  ``tests/test_diagnostics.py`` counts these cases when it checks that every
code has one, and leaves these pages to this module.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import funnelc
from funnelc.build import emit_all
from funnelc.codes import CODES
from funnelc.codes_targets import TARGET_CODES
from funnelc.diagnostics import Diagnostic, sorted_diagnostics
from funnelc.emit import EmitOptions
from funnelc.render import render_human
from tests.conftest import ROOT, check_golden
from tests.crm_sim.casefiles import blocks as _blocks
from tests.crm_sim.casefiles import expected_codes
from tests.crm_sim.casefiles import section as _section

CASES = ROOT / "tests" / "errors" / "targets"
DOCS = ROOT / "docs" / "codes"

_HEADER = re.compile(r"# (target|unsupported|option|inject): (.+)$")


@dataclass(frozen=True)
class Case:
    name: str
    path: Path
    expect: tuple[str, ...]
    target: str
    unsupported: str
    options: dict[str, Any]
    inject: bool = False


def read_case(path: Path) -> Case:
    lines = path.read_text(encoding="utf-8").splitlines()
    expect = expected_codes(path, lines)
    header: dict[str, list[str]] = {"target": [], "unsupported": [], "option": [], "inject": []}
    for line in lines[1:]:
        found = _HEADER.fullmatch(line)
        if found is None:
            break
        header[found.group(1)].append(found.group(2))
    (target,) = header["target"]
    unsupported = header["unsupported"][0] if header["unsupported"] else "warn"
    options = tomllib.loads("\n".join(header["option"]))
    return Case(path.stem, path, expect, target, unsupported, options, bool(header["inject"]))


def case_files() -> list[Path]:
    return sorted(CASES.glob("*.funnel"))


CASE_LIST = [read_case(p) for p in case_files()]


INTERNAL = frozenset({"F904"})
"""Codes no funnel can cause (a bug in funnelc): their case and their page inject the bug."""


@contextlib.contextmanager
def injected_bug(target: str) -> Iterator[None]:
    """A plan builder that writes a blank name into its first stage command (what F904 is for:
    ``check`` let through a funnel whose plan breaks the schema)."""
    module = importlib.import_module(f"funnelc.targets.{target}")
    original = module.plan_document

    def broken(*args: Any) -> dict[str, Any]:
        document: dict[str, Any] = original(*args)
        for request in document["requests"]:
            for command in request.get("commands", []):
                if "NAME" in command["params"].get("fields", {}):
                    command["params"]["fields"]["NAME"] = ""
                    return document
        raise AssertionError("no stage command to break")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "plan_document", broken)
        yield


def build(
    result: funnelc.Result,
    target: str,
    unsupported: str,
    options: dict[str, Any],
    inject: bool = False,
) -> list[Diagnostic]:
    """Compile errors, or else what ``funnelc build --target <target>`` reports (with
    ``inject``, under :func:`injected_bug` and ``FUNNELC_DEBUG=1``, which validates plans)."""
    if result.project is None:
        return list(result.diagnostics)
    emit_options = EmitOptions(
        unsupported=unsupported, target_options={target: options}, validate_output=inject
    )
    with injected_bug(target) if inject else contextlib.nullcontext():
        built = emit_all(result.project, [target], emit_options)
    return sorted_diagnostics([*result.diagnostics, *built.diagnostics])


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in CASE_LIST])
def test_case(case: Case, bless: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = funnelc.compile(case.path.relative_to(ROOT))
    assert result.ok, render_human(result.diagnostics, result.sources)
    diagnostics = build(result, case.target, case.unsupported, case.options, case.inject)
    rendered = render_human(diagnostics, result.sources)
    check_golden(CASES / f"{case.name}.stderr", rendered.encode("utf-8"), bless)
    assert tuple(d.code for d in diagnostics) == case.expect


def test_case_names_start_with_an_expected_target_code() -> None:
    target_codes = {c.code for c in TARGET_CODES}
    for case in CASE_LIST:
        assert case.name[:4] in case.expect, case.name
        assert set(case.expect) <= target_codes, case.name


def test_every_target_code_has_a_case_per_target_it_applies_to() -> None:
    covered = {(code, case.target) for case in CASE_LIST for code in case.expect}
    for entry in TARGET_CODES:
        targets = {"7": ["amocrm"], "8": ["bitrix24"]}.get(entry.code[1], [])
        for target in targets:
            assert (entry.code, target) in covered, f"no {target} case for {entry.code}"
        assert any(code == entry.code for code, _ in covered), f"no case for {entry.code}"
    # F903 is a rule of both CRMs.
    assert {("F903", "amocrm"), ("F903", "bitrix24")} <= covered


def test_every_snapshot_belongs_to_a_case() -> None:
    names = {c.name for c in CASE_LIST}
    strays = sorted(p.name for p in CASES.glob("*.stderr") if p.stem not in names)
    assert not strays, f"snapshots without a case: {strays}"


def test_the_unsupported_option_sets_the_severity_of_f901(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    case = read_case(CASES / "F901-amocrm-outcome-colours.funnel")
    result = funnelc.compile(case.path.relative_to(ROOT))
    severities = {}
    for mode in ("ignore", "warn", "error"):
        found = [d for d in build(result, "amocrm", mode, {}) if d.code == "F901"]
        severities[mode] = {d.severity.value for d in found}
    assert severities == {"ignore": set(), "warn": {"warning"}, "error": {"error"}}


# ---- the docs pages of the target codes ------------------------------------------------------


@dataclass(frozen=True)
class Example:
    funnel: str
    target: str
    unsupported: str
    options: dict[str, Any]


def example(section: str, fallback: Example | None = None) -> Example:
    """The build a page section describes: its funnel snippet, the target and ``--unsupported``
    of its console block, and its ``funnelc.toml`` block (``[targets.<t>]`` tables)."""
    funnels = _blocks(section, "funnel")
    consoles = _blocks(section, "console")
    tomls = _blocks(section, "toml")
    target = fallback.target if fallback else ""
    unsupported = fallback.unsupported if fallback else "warn"
    if consoles:
        command = consoles[0]
        target_match = re.search(r"--target[= ](\w+)", command)
        assert target_match is not None, "the console block must name the target"
        target = target_match.group(1)
        mode = re.search(r"--unsupported[= ](\w+)", command)
        unsupported = mode.group(1) if mode else "warn"
    if tomls:
        config = tomllib.loads(tomls[0])
        options = dict(config.get("targets", {}).get(target, {}))
    else:
        options = dict(fallback.options) if fallback else {}
    funnel = funnels[0] if funnels else (fallback.funnel if fallback else "")
    return Example(funnel, target, unsupported, options)


def _pages() -> list[Path]:
    return [DOCS / f"{c.code}.md" for c in TARGET_CODES]


def _render(page: Path) -> tuple[Example, str, list[Diagnostic]]:
    text = page.read_text(encoding="utf-8")
    shown = example(_section(text, "Example"))
    result = funnelc.compile_text(shown.funnel, "example.funnel")
    assert result.ok, render_human(result.diagnostics, result.sources)
    inject = page.stem in INTERNAL
    diagnostics = build(result, shown.target, shown.unsupported, shown.options, inject)
    mine = [d for d in diagnostics if d.code == page.stem]
    return shown, render_human(mine, result.sources), diagnostics


@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.stem)
def test_docs_example_prints_what_the_page_shows(page: Path, bless: bool) -> None:
    assert page.is_file(), f"docs/codes/{page.name} is missing"
    _, rendered, diagnostics = _render(page)
    assert page.stem in [d.code for d in diagnostics]
    text = page.read_text(encoding="utf-8")
    shown = _blocks(_section(text, "Example"), "text")[0]
    if bless and shown.rstrip("\n") != rendered.rstrip("\n"):
        page.write_text(text.replace(shown, rendered.rstrip("\n") + "\n", 1), encoding="utf-8")
        return
    assert shown.rstrip("\n") == rendered.rstrip("\n"), rendered


@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.stem)
def test_docs_fix_builds_without_the_code(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    before = example(_section(text, "Example"))
    fix = example(_section(text, "How to fix"), before)
    result = funnelc.compile_text(fix.funnel, "example.funnel")
    assert result.ok, render_human(result.diagnostics, result.sources)
    diagnostics = build(result, fix.target, fix.unsupported, fix.options)
    assert page.stem not in [d.code for d in diagnostics], render_human(diagnostics, result.sources)
    assert not any(d.is_error for d in diagnostics), render_human(diagnostics, result.sources)


def test_target_codes_are_in_the_catalogue() -> None:
    for entry in TARGET_CODES:
        assert CODES[entry.code] is entry
        assert entry.code[1] in "6789"  # F62x: the svg target, F66x: mermaid
