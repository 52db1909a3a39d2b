"""`funnelc check` must not pay for the language server: pygls and lsprotocol are imported by
the ``lsp`` command only."""

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
sys.stderr.write("MODULES " + __import__("json").dumps(heavy) + "\\n")
"""


def _imported(args: list[str], cwd: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={"FUNNELC_NO_CACHE": "1", "PATH": "", "PYTHONPATH": str(Path.cwd())},
        timeout=120,
    )
    line = next(x for x in done.stderr.splitlines() if x.startswith("MODULES "))
    return list(json.loads(line.removeprefix("MODULES ")))


def test_check_does_not_import_pygls(tmp_path: Path) -> None:
    main, _common = write(tmp_path)
    assert _imported(["check", main.name], tmp_path) == []


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
