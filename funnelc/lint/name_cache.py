"""The cache of stage-name verdicts that a :class:`funnelc.session.Session` holds.

Classifying a name needs pymorphy3 and its dictionaries (≈60 ms to load) and ≈0.1–0.4 ms per
name; the names of a project barely change between runs.  A :class:`NameCache` keeps

- every verdict used by the current run and by the last one (a run is one lint of one project),
  however many, so that a 10 000-stage pipeline never classifies a name twice in a row, and
- at most ``capacity`` older verdicts, least recently used first out, so that a long-running
  process (a language server where every edit makes a new name) holds bounded memory.

Optionally (``store=``, what the CLI asks for) the verdicts are kept on disk between processes, in
one JSON file in the user's cache directory (:func:`cache_dir`: ``$FUNNELC_CACHE_DIR``, else
``$XDG_CACHE_HOME/funnelc``, else ``~/.cache/funnelc``), named after a key that changes whenever
the classifier or its dictionaries do, so a stale verdict is never used.  ``FUNNELC_NO_CACHE=1``
turns the disk off.  Any problem with the file (an unwritable directory, a corrupt file) only
means the names are classified again.  Without ``store`` nothing is read or written.

There is no module-level state here: the cache is an object, created and owned by a session.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import tempfile
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from funnelc.lint.name_types import NameKind, NameVerdict
from funnelc.source import without_surrogates
from funnelc.version import __version__

CAPACITY = 4096
"""Older verdicts (not used by the current run) kept in memory and on disk, by default."""


def disk_enabled() -> bool:
    return not os.environ.get("FUNNELC_NO_CACHE")


def cache_dir() -> Path:
    explicit = os.environ.get("FUNNELC_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "funnelc"


def _key() -> str:
    """Changes with funnelc's version, the classifier's source and the dictionaries' version."""
    digest = hashlib.sha256(__version__.encode())
    names_py = Path(__file__).with_name("names.py")
    with contextlib.suppress(OSError):
        digest.update(names_py.read_bytes())
    spec = importlib.util.find_spec("pymorphy3_dicts_ru")
    if spec is not None and spec.origin:
        package_dir = Path(spec.origin).parent
        with contextlib.suppress(OSError):
            for entry in sorted(p.name for p in package_dir.parent.iterdir()):
                if entry.startswith("pymorphy3_dicts_ru-"):
                    digest.update(entry.encode())
    return digest.hexdigest()[:20]


def default_store() -> Path | None:
    """The file the CLI keeps verdicts in, or ``None`` when ``FUNNELC_NO_CACHE`` is set."""
    if not disk_enabled():
        return None
    return cache_dir() / f"names-{_key()}.json"


_Stored = dict[str, Any]
"""A verdict as the file holds it (``kind`` as its value), decoded only when it is looked up:
a cache file that a big project filled holds thousands of verdicts, and making them all into
objects on every start would cost more than the lint of a small project."""


def _stored(verdict: NameVerdict | _Stored) -> _Stored:
    if isinstance(verdict, NameVerdict):
        return {**asdict(verdict), "kind": verdict.kind.value}
    return verdict


def _decoded(fields: _Stored) -> NameVerdict | None:
    """The verdict a stored entry describes, or ``None`` when the entry is damaged."""
    try:
        return NameVerdict(
            kind=NameKind(fields["kind"]),
            language=fields["language"],
            evidence=fields["evidence"],
            suggestion=fields["suggestion"],
            guessed=fields["guessed"],
        )
    except (ValueError, KeyError, TypeError):
        return None


def _encodable(text: str, verdict: NameVerdict | _Stored) -> bool:
    strings = [text, *(v for v in _stored(verdict).values() if isinstance(v, str))]
    return all(without_surrogates(value) == value for value in strings)


def _run_classifier(text: str) -> NameVerdict:
    from funnelc.lint.names import classify

    return classify(text)


class NameCache:
    """Verdicts by name text: all of the current run's, plus ``capacity`` older ones (LRU)."""

    def __init__(
        self,
        capacity: int = CAPACITY,
        store: Path | Callable[[], Path | None] | None = None,
        classifier: Callable[[str], NameVerdict] = _run_classifier,
    ) -> None:
        self.capacity = capacity
        self._store = store
        self.classified = 0
        """How many names this cache has had to classify (not found in it)."""
        self._classifier = classifier
        self._current: dict[str, NameVerdict] = {}
        self._last: dict[str, NameVerdict] = {}
        self._older: OrderedDict[str, NameVerdict | _Stored] = OrderedDict()
        self._loaded = store is None
        self._dirty = False
        self._file_size = 0

    @property
    def store(self) -> Path | None:
        """The file verdicts are kept in between processes, if any (resolved on first use)."""
        if callable(self._store):
            self._store = self._store()
        return self._store

    def __len__(self) -> int:
        return len(self._current) + len(self._last) + len(self._older)

    @property
    def current_size(self) -> int:
        """Verdicts used by the current run (and by the last one: both are kept whole)."""
        return len(self._current) + len(self._last)

    @property
    def older_size(self) -> int:
        """Verdicts of earlier runs: at most ``capacity``."""
        return len(self._older)

    def begin_run(self) -> None:
        """Start a new run.  The run that ends becomes "the last run", kept whole; the run
        before it joins the older verdicts as their most recent ones, and the older verdicts
        beyond ``capacity`` are dropped, least recently used first."""
        for text, found in self._last.items():
            self._older.pop(text, None)
            self._older[text] = found
        self._last = self._current
        self._current = {}
        while len(self._older) > self.capacity:
            self._older.popitem(last=False)

    def classify(self, text: str) -> NameVerdict:
        """The verdict on ``text``, from the cache or from the classifier."""
        found = self._current.get(text)
        if found is not None:
            return found
        if not self._loaded:
            self._load()
        found = self._last.pop(text, None)
        if found is None:
            older = self._older.pop(text, None)
            found = _decoded(older) if isinstance(older, dict) else older
        if found is None:
            found = self._classifier(text)
            self.classified += 1
            self._dirty = True
        self._current[text] = found
        return found

    def _load(self) -> None:
        self._loaded = True
        store = self.store
        if store is None:
            return
        try:
            raw = json.loads(store.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if not isinstance(raw, dict):
            return
        # Entries are decoded when they are looked up (a damaged one is classified again).
        # The file lists the most recently used first; the OrderedDict keeps the least first.
        # (It is loaded before the first verdict of the session is looked up, so the cache is
        # still empty here.)
        for text, fields in reversed(list(raw.items())):
            if isinstance(fields, dict):
                self._older.setdefault(text, fields)
        self._file_size = len(raw)

    def flush(self) -> None:
        """Write the verdicts to ``store`` (atomically; silently skipped if that is impossible):
        the current and the last run's, then the ``capacity`` most recent older ones."""
        recent = {**self._last, **self._current}
        if self._file_size > len(recent) + self.capacity:
            self._dirty = True  # the file holds more than is kept: write it smaller
        if not self._dirty or self.store is None:
            return
        self._dirty = False
        keep = list(self._current)
        keep.extend(text for text in self._last if text not in self._current)
        keep.extend(text for text in reversed(self._older) if text not in recent)
        # A name that UTF-8 cannot encode (a lone surrogate that reached the API despite the
        # loader) is never written: it would make every later flush of the process fail.
        keep = [t for t in keep if _encodable(t, recent.get(t) or self._older[t])]
        keep = keep[: len(recent) + self.capacity]
        data = {}
        for text in keep:
            found = recent.get(text) or self._older[text]
            data[text] = _stored(found)
        path = self.store
        assert path is not None
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=".names.", dir=path.parent)
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as stream:
                    json.dump(data, stream, ensure_ascii=False)
                Path(temporary).replace(path)
            except (OSError, UnicodeError):
                with contextlib.suppress(OSError):
                    Path(temporary).unlink()
