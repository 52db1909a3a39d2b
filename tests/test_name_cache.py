"""The stage-name verdict cache: a warm run needs no pymorphy3 and gives the same verdicts; a
corrupt or unwritable file only costs time; memory is bounded, the current run's names never
evicted; without being asked, nothing touches the disk."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from funnelc.lint.name_cache import NameCache, default_store
from funnelc.lint.name_types import NameKind, NameVerdict
from funnelc.lint.names import classify
from tests.conftest import EXAMPLES

NAMES = ["Встреча проведена", "Квалификация", "В работе", "КП отправлено", "Meeting held"]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("FUNNELC_NO_CACHE", raising=False)
    monkeypatch.setenv("FUNNELC_CACHE_DIR", str(tmp_path))
    path = default_store()
    assert path is not None and path.parent == tmp_path
    return path


class Counting:
    """A stand-in classifier that counts its calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, text: str) -> NameVerdict:
        self.calls.append(text)
        return NameVerdict(kind=NameKind.PROCESS, language="ru", evidence=text)


def test_verdicts_survive_a_round_trip(store: Path) -> None:
    first = NameCache(store=store)
    verdicts = [first.classify(n) for n in NAMES]
    first.flush()
    assert store.is_file()
    counting = Counting()
    second = NameCache(store=store, classifier=counting)
    assert [second.classify(n) for n in NAMES] == verdicts == [classify(n) for n in NAMES]
    assert counting.calls == []


def test_a_corrupt_file_is_ignored(store: Path) -> None:
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text("{not json", encoding="utf-8")
    cache = NameCache(store=store)
    assert cache.classify("Квалификация") == classify("Квалификация")
    cache.flush()  # replaces the corrupt file
    assert store.read_text(encoding="utf-8").startswith("{")


@pytest.mark.parametrize(
    "damage",
    [
        {"kind": "no such kind"},
        "not an object",
        {"kind": "process"},  # fields missing
        None,
    ],
)
def test_a_damaged_entry_is_classified_again_and_the_others_are_kept(
    store: Path, damage: object
) -> None:
    """Entries are decoded when they are looked up: a damaged one costs only its own
    classification, never the whole file, and is never an error."""
    first = NameCache(store=store)
    for name in NAMES:
        first.classify(name)
    first.flush()
    data = json.loads(store.read_text(encoding="utf-8"))
    data[NAMES[0]] = damage
    store.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    counting = Counting()
    second = NameCache(store=store, classifier=counting)
    assert [second.classify(n) for n in NAMES[1:]] == [classify(n) for n in NAMES[1:]]
    assert counting.calls == []
    assert second.classify(NAMES[0]).evidence == NAMES[0]  # the stand-in's verdict: classified
    assert counting.calls == [NAMES[0]]
    second.flush()
    third = NameCache(store=store, classifier=Counting())
    assert third.classify(NAMES[0]).evidence == NAMES[0]  # the repaired entry was written back


def test_an_unwritable_store_is_not_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    cache = NameCache(store=blocker / "sub" / "names.json")
    cache.classify("Квалификация")
    cache.flush()  # cannot create a directory under a file: silently skipped


def test_without_a_store_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FUNNELC_NO_CACHE", raising=False)
    monkeypatch.setenv("FUNNELC_CACHE_DIR", str(tmp_path))
    import funnelc

    assert funnelc.compile(EXAMPLES, lint=True).ok
    assert list(tmp_path.iterdir()) == []


def test_the_last_run_is_kept_whole_and_older_names_are_capped() -> None:
    counting = Counting()
    cache = NameCache(capacity=2, classifier=counting)
    run = [f"Этап {i}" for i in range(10)]
    for _ in range(3):  # three checks of the same 10-name document: classified once each
        cache.begin_run()
        for name in run:
            cache.classify(name)
    assert counting.calls == run
    assert cache.current_size == 10 and cache.older_size == 0
    for edit in range(5):  # five edits, each with one new name
        cache.begin_run()
        cache.classify(f"Новый {edit}")
    # the last run is kept whole, the current run too, older ones only up to the capacity
    assert cache.current_size == 2 and cache.older_size == 2
    cache.begin_run()
    cache.classify("Новый 4")
    cache.classify("Новый 2")
    assert counting.calls[-1] == "Новый 4"
    cache.classify("Этап 0")  # evicted long ago: classified again
    assert counting.calls[-1] == "Этап 0"


def test_the_file_keeps_the_names_in_use_and_stays_small(store: Path) -> None:
    cache = NameCache(capacity=2, store=store)
    cache.begin_run()
    for name in ["Квалификация", "Переговоры", "Договор подписан", "Встреча проведена"]:
        cache.classify(name)
    cache.flush()
    again = NameCache(capacity=2, store=store)
    again.begin_run()
    again.classify("Звонок")
    again.flush()
    kept = list(json.loads(store.read_text(encoding="utf-8")))
    assert kept == ["Звонок", "Квалификация", "Переговоры"]


def test_warm_check_does_not_load_pymorphy3(tmp_path: Path) -> None:
    code = (
        "import os, sys; os.environ.pop('FUNNELC_NO_CACHE', None); "
        f"os.environ['FUNNELC_CACHE_DIR'] = {str(tmp_path)!r}; "
        "import funnelc; from funnelc.session import Session; "
        f"r = funnelc.compile({str(EXAMPLES)!r}, lint=True, session=Session(persist=True)); "
        "print(r.ok, 'pymorphy3' in sys.modules, 'funnelc.lint.names' in sys.modules)"
    )
    cold = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    warm = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert cold.stdout.split() == ["True", "True", "True"], cold.stderr
    assert warm.stdout.split() == ["True", "False", "False"], warm.stderr


def test_a_surrogate_name_is_never_written(store: Path) -> None:
    """Defence in depth (the loader replaces lone surrogates): a name UTF-8 cannot encode that
    reaches the cache is kept out of the file, and later flushes still work."""
    cache = NameCache(store=store)
    cache.classify("Договор \ud800 подписан")
    cache.classify("Договор подписан")
    cache.flush()
    assert list(json.loads(store.read_text(encoding="utf-8"))) == ["Договор подписан"]
    cache.classify("Счёт выставлен")
    cache.flush()
    assert len(json.loads(store.read_text(encoding="utf-8"))) == 2
    assert not list(store.parent.glob(".names.*"))
