"""``funnelc plan`` / ``apply`` as processes: killed half-way (Must show 4), and no secret in
any output, file or trace (Must show 6).

The fake CRM runs in this process (a server thread); ``funnelc`` runs as a subprocess, so a
SIGKILL stops it at any point — between a request and its reply, or while the lock is saved.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from funnelc.fakes._server import App, FakeServer, Faults, Reply, Request
from funnelc.fakes.amocrm import AmoCRM
from funnelc.fakes.bitrix24 import Bitrix24
from tests.sync_support import EXAMPLES, SECRET, TOKEN, environ, make_fake, shape, writes

TARGETS = ["amocrm", "bitrix24"]


class Slow:
    """A fake that takes ``delay`` seconds a request, so that kills land mid-apply."""

    def __init__(self, app: App, delay: float) -> None:
        self.app, self.delay = app, delay

    def handle(self, request: Request) -> Reply:
        time.sleep(self.delay)
        return self.app.handle(request)


def _funnelc(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "funnelc", *args],
        env={**os.environ, "FUNNELC_SYNC_BACKOFF": "0.01", "NO_COLOR": "1", **env},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def _run(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    proc = _funnelc(args, env, cwd)
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


def served(fake: AmoCRM | Bitrix24) -> int:
    """Requests the fake has served."""
    return len(fake.requests) if isinstance(fake, AmoCRM) else fake.requests


@pytest.mark.parametrize("target", TARGETS)
def test_an_apply_killed_at_random_points_ends_like_an_uninterrupted_one(
    target: str, tmp_path: Path
) -> None:
    args = ["apply", "funnels", "--target", target, "--yes", "--allow-delete"]
    clean_dir = tmp_path / "clean"
    shutil.copytree(EXAMPLES, clean_dir / "funnels")
    clean_fake = make_fake(target)
    with FakeServer(clean_fake) as server:
        code, _out, err = _run(args, environ(target, server, clean_fake), clean_dir)
        assert code == 0, err
    expected = shape(clean_fake)

    killed_dir = tmp_path / "killed"
    shutil.copytree(EXAMPLES, killed_dir / "funnels")
    fake = make_fake(target)
    rng = random.Random(9)
    kills = 0
    with FakeServer(Slow(fake, 0.04)) as server:
        env = environ(target, server, fake)
        for _attempt in range(12):
            before = writes(fake)
            # Kill after a random number of requests reached the fake (and a random moment
            # more): between two requests, while one is served, or while the lock is saved.
            goal = served(fake) + rng.randint(1, 6 if target == "bitrix24" else 15)
            proc = _funnelc(args, env, killed_dir)
            deadline = time.monotonic() + 120
            while proc.poll() is None and served(fake) < goal and time.monotonic() < deadline:
                time.sleep(0.002)
            time.sleep(rng.uniform(0, 0.05))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.communicate(timeout=60)
            if proc.returncode == 0 and writes(fake) == before:
                break  # an apply ran to its end with nothing left to do
        code, _out, err = _run(args, env, killed_dir)
        assert code == 0, err
        assert kills >= 2
        assert shape(fake) == expected
        # And nothing is pending: the plan is empty, and one more apply writes nothing.
        code, _out, err = _run(
            [*args[:1], "funnels", "--target", target, "--yes", "--allow-delete"], env, killed_dir
        )
        before = writes(fake)
        code, out, err = _run(
            ["plan", "funnels", "--target", target, "--allow-delete"], env, killed_dir
        )
        assert code == 0, out + err
        assert writes(fake) == before


@pytest.mark.parametrize("target", TARGETS)
def test_no_secret_in_any_output_trace_or_file(target: str, tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "funnels")
    faults = Faults(every=3, kind="503" if target == "bitrix24" else "429")
    fake = make_fake(target, faults=faults)
    texts: list[str] = []
    with FakeServer(fake) as server:
        # The client paces itself on a simulated clock (the fake is on 127.0.0.1): every 503
        # still fills its bucket and every wait is still traced, but none takes real seconds.
        env = {**environ(target, server, fake), "FUNNELC_SYNC_SIMULATED_CLOCK": "1"}
        for args in (
            ["plan", "funnels", "--verbose", "--out", "plan.json"],
            ["plan", "funnels", "--verbose", "--format", "json"],
            ["apply", "plan.json", "--verbose", "--yes"],
            ["apply", "funnels", "--verbose"],  # no TTY, no --yes: refused
            ["plan", "funnels", "--verbose", "--lang", "ru"],
        ):
            code, out, err = _run([*args, "--target", target], env, tmp_path)
            texts += [out, err]
        assert "→ " in texts[0] + texts[1]  # the trace is there
        # Errors: a refused credential, and a server that is not there at all.
        wrong = dict(env)
        if target == "amocrm":
            wrong["AMOCRM_TOKEN"] = TOKEN + "x"
        else:
            wrong["BITRIX24_WEBHOOK_URL"] = env["BITRIX24_WEBHOOK_URL"].replace(
                SECRET, SECRET + "x"
            )
        code, out, err = _run(["plan", "funnels", "--verbose", "--target", target], wrong, tmp_path)
        assert code == 1
        texts += [out, err]
    code, out, err = _run(
        ["plan", "funnels", "--verbose", "--target", target, "--base-url", server.origin],
        env,
        tmp_path,
    )
    assert code == 1 and "no reply" in err
    texts += [out, err]
    texts += [p.read_text(encoding="utf-8") for p in tmp_path.rglob("*.json")]
    assert faults.injected > 0
    for text in texts:
        assert TOKEN not in text and SECRET not in text
        assert TOKEN[:12] not in text and SECRET[:12] not in text
