"""``funnelc watch``: run a check (or a build) again whenever a watched file changes.

Polling, with the standard library only: every ``interval`` (0.3 s) the watched files are
``stat``ed and their ``(mtime_ns, size)`` compared with the last poll's.  The watched files are
the ``.funnel`` files the inputs name (directories searched as ``check`` searches them), the
files the last run actually read (imports outside the inputs included), and the config file
(or where ``funnelc.toml`` would appear).  The inputs' directories are watched too, by their
own mtime, so that a new file (or an editor's save by rename) is found without walking the
tree on every poll.  A change is *debounced*: the run starts once a poll sees nothing more
change (an editor writing a file in several steps, or a ``git checkout`` of many, runs it once).

Why not ``watchdog`` (inotify, FSEvents): it is not a dependency, and the files a funnel
project has are few, so a third of a second of polling costs a few dozen ``stat`` calls and
works the same on every system, network drives and containers included.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

Signature = dict[str, tuple[int, int] | None]
"""Path → (mtime in ns, size), or ``None`` for a path that does not exist (now)."""

_SKIPPED = {"__pycache__", "node_modules"}


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)  # noqa: PTH116 - one call for both fields
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


def directories(inputs: Iterable[Path]) -> list[Path]:
    """The input directories and the folders below them (not hidden ones, not through links)."""
    found: list[Path] = []
    for given in inputs:
        if not given.is_dir():
            continue
        for current, subdirectories, _files in os.walk(given, followlinks=False):
            subdirectories[:] = sorted(
                d for d in subdirectories if not d.startswith(".") and d not in _SKIPPED
            )
            found.append(Path(current))
    return found


def signature(files: Iterable[Path], folders: Iterable[Path]) -> Signature:
    result: Signature = {}
    for path in files:
        result[f"f:{path}"] = _stat(path)
    for path in folders:
        stamp = _stat(path)
        result[f"d:{path}"] = None if stamp is None else (stamp[0], 0)
    return result


class Watcher:
    """The polling loop.  ``discover`` lists the input files and folders (walking the tree: it
    runs again only when a folder's mtime changed); ``extra`` names the files the last run read
    and the config, stat'ed on every poll.  ``sleep`` is injectable for tests."""

    def __init__(
        self,
        discover: Callable[[], tuple[list[Path], list[Path]]],
        extra: Callable[[], list[Path]],
        *,
        interval: float = 0.3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.discover = discover
        self.extra = extra
        self.interval = interval
        self.sleep = sleep
        self._files: list[Path] = []
        self._folders: list[Path] | None = None
        self._stamps: Signature = {}
        self.last: Signature = {}

    def take(self) -> Signature:
        """The signature now."""
        stamps = signature((), self._folders or ())
        if self._folders is None or stamps != self._stamps:
            self._files, self._folders = self.discover()
            stamps = signature((), self._folders)
        self._stamps = stamps
        files = dict.fromkeys([*self._files, *self.extra()])
        return {**signature(files, ()), **stamps}

    @property
    def count(self) -> int:
        """How many files are watched."""
        return len(dict.fromkeys([*self._files, *self.extra()]))

    def settle(self) -> None:
        """Remember the current state (after a run: what it read is watched from now on)."""
        self.last = self.take()

    def wait(self) -> None:
        """Return when something changed and then stayed unchanged for one interval."""
        while True:
            self.sleep(self.interval)
            now = self.take()
            if now != self.last:
                break
        while True:  # debounce
            self.sleep(self.interval)
            later = self.take()
            if later == now:
                self.last = later
                return
            now = later
