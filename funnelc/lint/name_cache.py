"""A disk cache of stage-name verdicts, so that a warm ``funnelc check`` never loads pymorphy3.

Classifying a name needs pymorphy3 and its dictionaries (≈60 ms to load); the names of a
project barely change between runs.  Verdicts are kept in one JSON file in the user's cache
directory (``$FUNNELC_CACHE_DIR``, else ``$XDG_CACHE_HOME/funnelc``, else ``~/.cache/funnelc``),
named after a key that changes whenever the classifier or its dictionaries do, so a stale
verdict is never used.  ``FUNNELC_NO_CACHE=1`` turns it off.  Any problem with the cache (an
unwritable directory, a corrupt file) only means the names are classified again.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path

from funnelc.lint.names import NameKind, NameVerdict
from funnelc.source import without_surrogates
from funnelc.version import __version__

_memory: dict[str, NameVerdict] | None = None
_dirty = False
_used: dict[str, None] = {}

LIMIT = 2000
"""Verdicts kept on disk: the names used by the last run first, then older ones.  Loading is
what a warm run pays, so the file is kept small (≈2 ms to read) rather than complete."""


def _enabled() -> bool:
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


def _path() -> Path:
    return cache_dir() / f"names-{_key()}.json"


def _load() -> dict[str, NameVerdict]:
    global _memory, _dirty
    if _memory is not None:
        return _memory
    _memory = {}
    if not _enabled():
        return _memory
    try:
        raw = json.loads(_path().read_text(encoding="utf-8"))
        for text, fields in raw.items():
            _memory[text] = NameVerdict(
                kind=NameKind(fields["kind"]),
                language=fields["language"],
                evidence=fields["evidence"],
                suggestion=fields["suggestion"],
                guessed=fields["guessed"],
            )
    except (OSError, ValueError, KeyError, TypeError):
        _memory = {}
    _dirty = len(_memory) > LIMIT
    return _memory


def classify(text: str) -> NameVerdict:
    """The verdict on ``text``, from the cache or from the classifier."""
    global _dirty
    memory = _load()
    _used[text] = None
    found = memory.get(text)
    if found is None:
        from funnelc.lint.names import classify as run_classifier

        found = memory[text] = run_classifier(text)
        _dirty = True
    return found


def _encodable(text: str, verdict: NameVerdict) -> bool:
    strings = [text, *(v for v in asdict(verdict).values() if isinstance(v, str))]
    return all(without_surrogates(value) == value for value in strings)


def flush() -> None:
    """Write new verdicts to disk (atomically; silently skipped if that is impossible)."""
    global _dirty
    if not _dirty or _memory is None or not _enabled():
        return
    _dirty = False
    memory = _memory
    keep = [*_used, *(text for text in memory if text not in _used)]
    # A name that UTF-8 cannot encode (a lone surrogate that reached the API despite the
    # loader) is never written: it would make every later flush of the process fail.
    keep = [text for text in keep if _encodable(text, memory[text])][:LIMIT]
    data = {text: {**asdict(memory[text]), "kind": memory[text].kind.value} for text in keep}
    with contextlib.suppress(OSError):
        path = _path()
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".names.", dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(data, stream, ensure_ascii=False)
            Path(temporary).replace(path)
        except (OSError, UnicodeError):
            with contextlib.suppress(OSError):
                Path(temporary).unlink()
