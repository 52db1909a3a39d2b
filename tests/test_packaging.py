"""The installed wheel works on its own: grammar, code docs, schemas and targets ship inside it.

This builds the wheel, installs it into a fresh virtual environment (dependencies come from the
package index, as for a user) and runs ``funnelc build`` on the examples from a directory
outside the checkout, so nothing can be picked up from the source tree by accident.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT

pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    completed = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, encoding="utf-8", timeout=900
    )
    assert completed.returncode == 0, (
        f"{' '.join(args)} failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}"
    )
    return completed.stdout + completed.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # Build from a copy of the tracked files only: a developer's stale setuptools ``build/lib``
    # (left by ``pip install .``) would otherwise leak old files into the wheel.
    source = tmp_path_factory.mktemp("source")
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, tracked):
        relative = Path(os.fsdecode(name))
        if not (ROOT / relative).is_file():
            continue
        (source / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / relative, source / relative)
    _run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(source)], cwd=source)
    (built,) = out.glob("funnelc-*.whl")
    return built


def test_wheel_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "funnelc/grammar/funnel.lark" in names
    assert "funnelc/grammar/funnel.parser.pickle" in names
    assert "funnelc/targets/__init__.py" in names
    assert "funnelc/codes_docs/F101.md" in names
    assert "funnelc/codes_docs/ru/F101.md" in names
    assert {"funnelc/fakes/__main__.py", "funnelc/crm/send.py"} <= names  # the CRM fakes ship
    assert "funnelc/ci/comment.py" in names  # the Action runs python -m funnelc.ci.comment
    assert any(n.startswith("funnelc/targets/") and n.endswith(".schema.json") for n in names)
    # targets/ must not install as a bare top-level package that would clash with others.
    assert not any(n.startswith("targets/") for n in names)
    assert not any(n.startswith(("tests/", "examples/", "bench/")) for n in names)


def test_wheel_carries_the_compiled_catalogues(wheel: Path) -> None:
    """Each ``.po`` of the source tree is in the wheel as the ``.mo`` compiled from it (and
    only as that: the run time reads the ``.mo`` with stdlib gettext)."""
    from funnelc.po import compile_mo, parse_po

    archive = zipfile.ZipFile(wheel)
    names = set(archive.namelist())
    sources = sorted((ROOT / "funnelc" / "locale").glob("*/LC_MESSAGES/*.po"))
    assert sources
    for po in sources:
        relative = po.relative_to(ROOT).with_suffix(".mo").as_posix()
        assert relative in names
        expected = compile_mo(parse_po(po.read_text(encoding="utf-8")))
        assert archive.read(relative) == expected
    assert not any(n.endswith((".po", ".json")) and "/locale/" in n for n in names)


def test_installed_wheel_builds_examples(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    _run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], cwd=tmp_path)

    work = tmp_path / "work"
    work.mkdir()
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    funnelc = str(bindir / "funnelc")
    _run([funnelc, "--version"], cwd=work, env=environment)
    _run([funnelc, "check", str(EXAMPLES)], cwd=work, env=environment)
    _run([funnelc, "build", str(EXAMPLES), "--out", "out"], cwd=work, env=environment)
    built = sorted(p.relative_to(work / "out").as_posix() for p in (work / "out").rglob("*.*"))
    assert any(p.startswith("json/") for p in built)
    assert any(p.startswith("svg/") for p in built)
    assert any(p.startswith("dot/") for p in built)
    explained = _run([funnelc, "explain", "F101"], cwd=work, env=environment)
    assert "F101" in explained
    # Russian comes from the compiled catalogue and the Russian pages inside the wheel.
    russian = _run([funnelc, "explain", "F101", "--lang", "ru"], cwd=work, env=environment)
    assert "Пример" in russian
    broken = work / "broken.funnel"
    broken.write_text('pipeline p "П" {\n  deal {\n    stage a "А"\n  }\n}\n', encoding="utf-8")
    completed = subprocess.run(
        [funnelc, "check", "--lang", "ru", str(broken)],
        cwd=work,
        env=environment,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
    )
    assert completed.returncode == 1
    assert "ошибк" in completed.stderr and "help:" not in completed.stderr, completed.stderr
    schema = json.loads(_run([funnelc, "schema"], cwd=work, env=environment))
    assert schema["$id"].startswith("urn:funnelc:")
    assert "amocrm" in _run(
        [str(python), "-m", "funnelc.fakes", "--help"], cwd=work, env=environment
    )
    # The installed code, not the checkout, was used.
    where = _run(
        [str(python), "-c", "import funnelc, sys; sys.stdout.write(funnelc.__file__)"],
        cwd=work,
        env=environment,
    )
    assert str(env_dir) in where
