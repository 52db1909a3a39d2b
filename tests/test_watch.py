"""``funnelc watch``: a real process that re-checks (or rebuilds) on every save, and the
polling loop's debounce with a scripted clock.

The process tests read its stderr line by line in a thread and wait (with a generous
deadline, not a timing assertion) for what each save must produce; Ctrl-C is a real SIGINT.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from funnelc.watch import Watcher
from tests.conftest import SMALL_FUNNEL

GOOD = SMALL_FUNNEL
BROKEN = GOOD.replace("timeout -> l", "timeout -> nowhere")
DEADLINE = 60.0


class Watch:
    """A running ``funnelc watch`` and the lines of its stderr."""

    def __init__(self, cwd: Path, *args: str) -> None:
        env = {**os.environ, "NO_COLOR": "1", "FUNNELC_LANG": "en"}
        env.pop("FORCE_COLOR", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "funnelc", "watch", "--interval", "0.1", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line.rstrip("\n"))

    def expect(self, text: str) -> list[str]:
        """The lines up to and including the first one that contains ``text``."""
        deadline = time.monotonic() + DEADLINE
        start = len(self.seen)
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                assert self.process.poll() is None, "\n".join(self.seen)
                continue
            self.seen.append(line)
            if text in line:
                return self.seen[start:]
        raise AssertionError(f"no {text!r} in:\n" + "\n".join(self.seen))

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=DEADLINE)
        finally:
            if self.process.poll() is None:
                self.process.kill()


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[Watch]]:
    watches: list[Watch] = []
    yield watches
    for watch in watches:
        watch.stop()


def save(path: Path, text: str) -> None:
    """Write ``text`` so that the watcher must see it (the size changes, or the mtime does)."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    if path.stat().st_mtime_ns == before:
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


def test_watch_reports_an_error_and_its_fix(tmp_path: Path, started: list[Watch]) -> None:
    funnel = tmp_path / "p.funnel"
    funnel.write_text(GOOD, encoding="utf-8")
    watch = Watch(tmp_path, "p.funnel")
    started.append(watch)
    first = watch.expect("no errors")
    assert first[0].endswith("] checking p.funnel")
    save(funnel, BROKEN)
    broken = watch.expect("watching")
    assert any("error[F102]: unknown stage `nowhere`" in line for line in broken), broken
    assert not any("no errors" in line for line in broken)
    save(funnel, GOOD)
    fixed = watch.expect("no errors")
    assert not any("error[" in line for line in fixed), fixed
    assert watch.stop() == 0  # Ctrl-C
    assert not any("\x1b" in line for line in watch.seen)  # not a terminal: no clearing


def test_watch_sees_imports_new_files_and_the_config(tmp_path: Path, started: list[Watch]) -> None:
    config = tmp_path / "funnelc.toml"
    sources = 'sources = ["funnels/p.funnel", "more"]\n'
    config.write_text(sources, encoding="utf-8")
    (tmp_path / "funnels").mkdir()
    (tmp_path / "more").mkdir()
    common = tmp_path / "funnels/common.funnel"
    common.write_text('reason cheap "Дорого"\n', encoding="utf-8")
    main = tmp_path / "funnels/p.funnel"
    main.write_text('import "common.funnel"\n' + GOOD, encoding="utf-8")
    watch = Watch(tmp_path)
    started.append(watch)
    assert watch.expect("no errors")[0].endswith("] checking funnels/p.funnel more")
    # An imported file that no input names.
    save(common, 'reason cheap "Дорого" {\n')
    broken = watch.expect("watching")
    assert any("error[" in line for line in broken), broken
    assert any("funnels/common.funnel" in line for line in broken), broken
    save(common, 'reason cheap "Дорого"\n')
    watch.expect("no errors")
    # A new file in a watched folder, then its removal.
    save(tmp_path / "more/q.funnel", BROKEN.replace("pipeline p", "pipeline q"))
    new = watch.expect("watching")
    assert any("error[F102]" in line for line in new), new
    (tmp_path / "more/q.funnel").unlink()
    watch.expect("no errors")
    # The config: its sources change what is checked.
    save(config, 'sources = ["elsewhere"]\n')
    moved = watch.expect("watching")
    assert any("error[F504]" in line and "elsewhere" in line for line in moved), moved
    save(config, sources)
    watch.expect("no errors")
    assert watch.stop() == 0


def test_watch_build_rebuilds(tmp_path: Path, started: list[Watch]) -> None:
    funnel = tmp_path / "p.funnel"
    funnel.write_text(GOOD, encoding="utf-8")
    watch = Watch(tmp_path, "p.funnel", "--build", "--out", "gen", "--target", "json")
    started.append(watch)
    first = watch.expect("no errors")
    assert first[0].endswith("] building p.funnel into gen")
    assert any("built 1 pipeline(s) for json into gen: 1 written" in line for line in first)
    before = (tmp_path / "gen/json/p.json").read_bytes()
    save(funnel, GOOD.replace("sla 1d", "sla 3d"))
    assert any("1 written" in line for line in watch.expect("no errors"))
    assert (tmp_path / "gen/json/p.json").read_bytes() != before
    save(funnel, BROKEN)
    broken = watch.expect("watching")
    assert any("error[F102]" in line for line in broken), broken
    assert (tmp_path / "gen/json/p.json").read_bytes() != before  # the last good build stays
    assert watch.stop() == 0


# ---- the loop itself, with a scripted clock --------------------------------------------------


def test_a_burst_of_saves_is_one_run(tmp_path: Path) -> None:
    """Changes on consecutive polls are one change: the loop waits until a poll sees none."""
    path = tmp_path / "p.funnel"
    path.write_text("a", encoding="utf-8")
    polls: list[float] = []
    edits = {2: "ab", 3: "abc", 4: "abcd"}  # saved at the 2nd, 3rd and 4th poll

    def sleep(seconds: float) -> None:
        polls.append(seconds)
        if len(polls) in edits:
            path.write_text(edits[len(polls)], encoding="utf-8")

    watcher = Watcher(lambda: ([path], [tmp_path]), lambda: [], interval=0.3, sleep=sleep)
    watcher.settle()
    watcher.wait()
    assert path.read_text(encoding="utf-8") == "abcd"
    assert polls == [0.3] * 5  # 1 quiet, 2-4 changing, 5 settled
    assert watcher.last == watcher.take()


def test_folders_are_listed_again_only_when_one_changes(tmp_path: Path) -> None:
    listings = []

    def listing() -> tuple[list[Path], list[Path]]:
        listings.append(1)
        return sorted(tmp_path.glob("*.funnel")), [tmp_path]

    watcher = Watcher(listing, lambda: [], sleep=lambda s: None)
    for _ in range(5):
        watcher.take()
    assert len(listings) == 1
    (tmp_path / "new.funnel").write_text("x", encoding="utf-8")
    os.utime(tmp_path, ns=(1, 1))  # the folder's mtime changed
    assert f"f:{tmp_path / 'new.funnel'}" in watcher.take()
    assert len(listings) == 2


def test_the_screen_is_cleared_between_runs_on_a_terminal_only(tmp_path: Path) -> None:
    """On a terminal (a pseudo-terminal here) each run starts with a cleared screen; in a pipe
    (every test above) nothing but text is written."""
    import pty

    funnel = tmp_path / "p.funnel"
    funnel.write_text(GOOD, encoding="utf-8")
    leader, follower = pty.openpty()
    env = {**os.environ, "NO_COLOR": "1", "FUNNELC_LANG": "en", "TERM": "xterm"}
    process = subprocess.Popen(
        [sys.executable, "-m", "funnelc", "watch", "--interval", "0.1", "p.funnel"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=follower,
    )
    os.close(follower)
    seen = b""
    try:
        deadline = time.monotonic() + DEADLINE
        saved = False
        while seen.count(b"no errors") < 2 and time.monotonic() < deadline:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            seen += chunk
            if b"no errors" in seen and not saved:
                save(funnel, GOOD.replace("sla 1d", "sla 2d"))
                saved = True
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=DEADLINE) == 0
        os.close(leader)
    assert seen.count(b"no errors") == 2, seen
    assert seen.count(b"\x1b[H\x1b[2J") == 2, seen
