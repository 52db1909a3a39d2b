"""Micro-benchmark of the stage-name classifier (funnelc/lint/names.py).

Run from the repository root::

    .venv/bin/python bench/names.py [--starts 5] [--repeat 5]

It prints figures and asserts nothing.  Three things are measured:

* start-up, in fresh processes (median of ``--starts``): importing the ``funnelc`` package,
  which any submodule import pays, then ``funnelc.lint.names`` itself (which must not import
  pymorphy3), then building the analyzer (importing pymorphy3 and
  loading the Russian dictionary), then the first classification;
* per-name time over the labelled corpus (tests/lint/stage_names.tsv) with cold word caches,
  which is what a lint run over a project sees, median of ``--repeat`` passes, with the
  slowest names (typo repair tries a few hundred dictionary look-ups per unknown word);
* per-name time with warm caches, the language-server case where names repeat.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script, bench/ itself is on sys.path, not the root
    sys.path.insert(0, str(ROOT))

from funnelc.lint import names  # noqa: E402

CORPUS = ROOT / "tests" / "lint" / "stage_names.tsv"

_STARTUP = """
import json, sys, time
tp = time.perf_counter()
import funnelc
t0 = time.perf_counter()
import funnelc.lint.names as names
t1 = time.perf_counter()
lazy = "pymorphy3" not in sys.modules
names._analyzer()
t2 = time.perf_counter()
names.classify("Встреча проведена")
t3 = time.perf_counter()
times = {"package": t0 - tp, "import": t1 - t0, "analyzer": t2 - t1, "first": t3 - t2}
print(json.dumps({**times, "lazy": lazy}))
"""


def _corpus() -> list[str]:
    with CORPUS.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [row[0] for row in rows[1:]]


def _startup(starts: int) -> None:
    runs: list[dict[str, float]] = []
    for _ in range(starts):
        done = subprocess.run(
            [sys.executable, "-c", _STARTUP],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(done.stdout))
    print(f"start-up, fresh process, median of {starts}:")
    for key, label in (
        ("package", "import funnelc (the compiler package)"),
        ("import", "then import funnelc.lint.names"),
        ("analyzer", "import pymorphy3 + MorphAnalyzer()"),
        ("first", "first classify()"),
    ):
        print(f"  {label:<38} {statistics.median(r[key] for r in runs) * 1000:8.1f} ms")
    print(f"  {'pymorphy3 left unimported by import':<38} {all(r['lazy'] for r in runs)!s:>8}")


def _clear_caches() -> None:
    names._ru_word.cache_clear()
    names._ru_participle.cache_clear()
    names._phrase_words_matched.cache_clear()


def _pass(corpus: list[str]) -> list[float]:
    times = []
    for name in corpus:
        t0 = time.perf_counter()
        names.classify(name)
        times.append(time.perf_counter() - t0)
    return times


def _per_name(repeat: int) -> None:
    corpus = _corpus()
    names._analyzer()  # built once; start-up is reported separately
    cold: list[list[float]] = []
    for _ in range(repeat):
        _clear_caches()
        cold.append(_pass(corpus))
    warm = [_pass(corpus) for _ in range(repeat)]

    def summary(passes: list[list[float]]) -> str:
        per_name = [statistics.median(ts) for ts in zip(*passes, strict=True)]
        ordered = sorted(per_name)
        p95 = ordered[int(0.95 * (len(ordered) - 1))]
        total = sum(per_name)
        return (
            f"total {total * 1000:7.1f} ms, mean {total / len(per_name) * 1e6:7.1f} µs, "
            f"median {statistics.median(per_name) * 1e6:6.1f} µs, p95 {p95 * 1e6:7.1f} µs, "
            f"max {ordered[-1] * 1e6:8.1f} µs"
        )

    print(f"\nper name over the corpus ({len(corpus)} names), median of {repeat} passes:")
    print(f"  cold word caches: {summary(cold)}")
    print(f"  warm caches:      {summary(warm)}")
    per_name = [statistics.median(ts) for ts in zip(*cold, strict=True)]
    slowest = sorted(zip(per_name, corpus, strict=True), reverse=True)[:5]
    print("  slowest names (cold):")
    for seconds, name in slowest:
        print(f"    {seconds * 1000:7.2f} ms  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5, help="fresh processes for start-up")
    parser.add_argument("--repeat", type=int, default=5, help="passes over the corpus")
    args = parser.parse_args()
    _startup(args.starts)
    _per_name(args.repeat)


if __name__ == "__main__":
    main()
