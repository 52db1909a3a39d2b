"""Parse times of hostile inputs (junk that exercises error recovery), by size.

    .venv/bin/python bench/hostile.py                       # 100 KB and 1 MB of each kind
    .venv/bin/python bench/hostile.py --sizes 40000,160000 --kinds open-braces,nested-blocks

Prints seconds per parse (best of three) and the number of diagnostics.  Linear recovery shows
as times that grow no faster than the size; the kinds are those of ``tests/test_fuzz.py``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from funnelc.parse import parse, parser
from funnelc.source import SourceFile
from tests.test_fuzz import HOSTILE


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    options.add_argument("--sizes", default="100000,1000000")
    options.add_argument("--kinds", default=",".join(HOSTILE))
    args = options.parse_args()
    parser()
    for kind in args.kinds.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            source = SourceFile("hostile.funnel", HOSTILE[kind](size))
            best, found = float("inf"), 0
            for _ in range(3):
                start = time.perf_counter()
                found = len(parse(source).diagnostics)
                best = min(best, time.perf_counter() - start)
            print(f"{kind:28} {size:>9} chars {best:8.4f} s  {found:2} diagnostics", flush=True)


if __name__ == "__main__":
    main()
