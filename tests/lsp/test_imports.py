"""`funnelc check` must not pay for what it does not do: the language server (pygls and
lsprotocol, imported by the ``lsp`` command only), the targets and their schemas, rendering,
HTTP, formatting, fixes, diffs and the other commands' modules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.lsp.document import write

_PROBE = """
import sys
from funnelc.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("pygls", "lsprotocol", "cattrs"))
lazy = sorted(m for m in sys.modules if m in __import__("os").environ["LAZY"].split(","))
sys.stderr.write("LAZY " + __import__("json").dumps(lazy) + "\\n")
sys.stderr.write("MODULES " + __import__("json").dumps(heavy) + "\\n")
"""


# Imported only by the commands (or the rare cases) that need them; a clean `funnelc check`
# imports none of them.
LAZY = (
    "jsonschema",
    "graphviz",
    "httpx",
    "yaml",
    "rich",
    "funnelc.build",
    "funnelc.emit",
    "funnelc.renderer",
    "funnelc.schema",
    "funnelc.sarif",
    "funnelc.fmt",
    "funnelc.watch",
    "funnelc.fixes",
    "funnelc.lint.suppress",
    "funnelc.lint.docs",
    "funnelc.crm.send",
    "funnelc.diff.model_diff",
    "funnelc.targets.dot",
    "funnelc.targets.json",
    "funnelc.targets.mermaid",
)


def _imported(
    args: list[str], cwd: Path, marker: str = "MODULES ", cache: Path | None = None
) -> list[str]:
    disk = {"FUNNELC_CACHE_DIR": str(cache)} if cache else {"FUNNELC_NO_CACHE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={
            **disk,
            "PATH": "",
            "PYTHONPATH": str(Path.cwd()),
            "LAZY": ",".join(LAZY),
        },
        timeout=120,
    )
    line = next((x for x in done.stderr.splitlines() if x.startswith(marker)), None)
    assert line is not None, done.stderr
    return list(json.loads(line.removeprefix(marker)))


def test_check_does_not_import_pygls(tmp_path: Path) -> None:
    main, _common = write(tmp_path)
    assert _imported(["check", main.name], tmp_path) == []


def test_check_imports_none_of_the_lazy_modules(tmp_path: Path) -> None:
    """A warm check (stage-name verdicts in the cache, as on every run but the first)."""
    main, _common = write(tmp_path)
    examples = Path(__file__).resolve().parents[2] / "examples"
    cache = tmp_path / "cache"
    for target in (main.name, str(examples)):
        _imported(["check", target], tmp_path, "LAZY ", cache)  # warms the cache
        assert _imported(["check", target], tmp_path, "LAZY ", cache) == []


def test_the_probe_sees_a_lazy_module_when_it_is_imported(tmp_path: Path) -> None:
    """The check above can fail: `funnelc fmt` imports what `check` must not."""
    main, _common = write(tmp_path)
    assert "funnelc.fmt" in _imported(["fmt", "--check", main.name], tmp_path, "LAZY ")


def test_lsp_help_does_not_start_the_server_and_lsp_is_a_command(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "funnelc", "lsp", "--help"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        env={"FUNNELC_LANG": "en", "PATH": ""},
    )
    assert done.returncode == 0
    assert "language server" in done.stdout
