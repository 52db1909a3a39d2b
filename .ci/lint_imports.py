"""Run import-linter (``lint-imports``, contracts in pyproject.toml) on funnelc as installed.

In the repository the targets live in ``targets/`` and become ``funnelc.targets`` only when
installed (setuptools' ``package-dir``), so import-linter, which reads the files of a package,
would not see them.  This script lays the package out as a wheel does — ``funnelc/`` with
``targets/`` inside it as ``funnelc/targets/`` — in a temporary directory and runs
``lint-imports`` there with the repository's contracts.

    python .ci/lint_imports.py                       # what CI runs
    python .ci/lint_imports.py --add funnelc/parse.py "import funnelc.targets.dot"
                                                     # the same with a line added (tests use it)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--add", nargs=2, metavar=("FILE", "LINE"), action="append", default=[])
    args = parser.parse_args(argv)
    lint_imports = Path(sys.executable).parent / "lint-imports"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    with tempfile.TemporaryDirectory(prefix="funnelc-layers-") as scratch:
        tree = Path(scratch)
        shutil.copytree(ROOT / "funnelc", tree / "funnelc", ignore=ignore)
        shutil.copytree(ROOT / "targets", tree / "funnelc" / "targets", ignore=ignore)
        for file, line in args.add:
            with (tree / file).open("a", encoding="utf-8") as stream:
                stream.write(f"\n{line}\n")
        env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
        done = subprocess.run(
            [str(lint_imports), str(ROOT / "pyproject.toml"), "--no-cache"],
            cwd=tree,
            env=env,
            check=False,
        )
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
