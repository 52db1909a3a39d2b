"""The disk cache of stage-name verdicts: a warm run needs no pymorphy3 and gives the same
verdicts; a corrupt or unwritable cache only costs time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from funnelc.lint import name_cache
from funnelc.lint.names import classify
from tests.conftest import EXAMPLES

NAMES = ["Встреча проведена", "Квалификация", "В работе", "КП отправлено", "Meeting held"]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("FUNNELC_NO_CACHE", raising=False)
    monkeypatch.setenv("FUNNELC_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(name_cache, "_memory", None)
    monkeypatch.setattr(name_cache, "_dirty", False)
    monkeypatch.setattr(name_cache, "_used", {})
    return tmp_path


def test_verdicts_survive_a_round_trip(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = [name_cache.classify(n) for n in NAMES]
    name_cache.flush()
    (written,) = cache.glob("names-*.json")
    monkeypatch.setattr(name_cache, "_memory", None)
    second = [name_cache.classify(n) for n in NAMES]
    assert first == second == [classify(n) for n in NAMES]
    assert written.read_text(encoding="utf-8") != ""


def test_a_corrupt_cache_is_ignored(cache: Path) -> None:
    name_cache._path().parent.mkdir(parents=True, exist_ok=True)
    name_cache._path().write_text("{not json", encoding="utf-8")
    assert name_cache.classify("Квалификация") == classify("Квалификация")
    name_cache.flush()  # replaces the corrupt file
    assert name_cache._path().read_text(encoding="utf-8").startswith("{")


def test_an_unwritable_cache_is_not_an_error(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = cache / "file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("FUNNELC_CACHE_DIR", str(blocker / "sub"))
    name_cache.classify("Квалификация")
    name_cache.flush()  # cannot create a directory under a file: silently skipped


def test_warm_check_does_not_load_pymorphy3(tmp_path: Path) -> None:
    env_code = (
        "import os, sys; os.environ.pop('FUNNELC_NO_CACHE', None); "
        f"os.environ['FUNNELC_CACHE_DIR'] = {str(tmp_path)!r}; "
        "import funnelc; "
        f"r = funnelc.compile({str(EXAMPLES)!r}, lint=True); "
        "print(r.ok, 'pymorphy3' in sys.modules)"
    )
    cold = subprocess.run([sys.executable, "-c", env_code], capture_output=True, text=True)
    warm = subprocess.run([sys.executable, "-c", env_code], capture_output=True, text=True)
    assert cold.stdout.split() == ["True", "True"], cold.stderr
    assert warm.stdout.split() == ["True", "False"], warm.stderr


def test_the_file_keeps_the_names_in_use_and_stays_small(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(name_cache, "LIMIT", 3)
    for name in ["Квалификация", "Переговоры", "Договор подписан", "Встреча проведена"]:
        name_cache.classify(name)
    name_cache.flush()
    monkeypatch.setattr(name_cache, "_memory", None)
    monkeypatch.setattr(name_cache, "_used", {})
    name_cache.classify("Звонок")
    name_cache.flush()
    kept = list(json.loads(name_cache._path().read_text(encoding="utf-8")))
    assert kept == ["Звонок", "Квалификация", "Переговоры"]


def test_a_surrogate_name_is_never_written(cache: Path) -> None:
    """Defence in depth (the loader replaces lone surrogates): a name UTF-8 cannot encode that
    reaches the cache is kept out of the file, and later flushes still work."""
    name_cache.classify("Договор \ud800 подписан")
    name_cache.classify("Договор подписан")
    name_cache.flush()
    (written,) = cache.glob("names-*.json")
    assert list(json.loads(written.read_text(encoding="utf-8"))) == ["Договор подписан"]
    name_cache.classify("Счёт выставлен")
    name_cache.flush()
    assert len(json.loads(written.read_text(encoding="utf-8"))) == 2
    assert not list(cache.glob(".names.*"))
