"""``funnelc apply`` of 50 pipelines × 20 stages against each fake, with the vendors' limits on.

Prints, per CRM: the requests made (HTTP, retries included), the apply time, the minimum time
the rate limits allow for that many requests, their ratio (goal ≤ 1.15), and for Bitrix24 how
full the batches were.

The time is **simulated**: the fake (``limits=True``) and the client's pacer share one
:class:`~funnelc.fakes._server.ManualClock`, and every wait of the client advances it (real
time at 7 requests a second would take minutes and measure the machine, not the pacing).
Requests go to the fake in-process through an httpx ``MockTransport`` (no sockets); the
fake's replies, its rate limits (429 / 503) and its renumbering are the same as over HTTP.

- amoCRM: at most 7 requests in any one second, so ``n`` requests need at least
  ``⌊(n − 1) / 7⌋`` seconds (the first 7 go at once).
- Bitrix24: a leaky bucket that drains 2 a second and holds 50: at least ``(n − 50) / 2``
  seconds (0 while ``n`` ≤ 50: then the ratio is not defined and is printed as ``—``).

The account starts as the vendor's new one; the first funnel pipeline is called like amoCRM's
default pipeline ("Воронка"), so it is adopted rather than created (an amoCRM account holds at
most 50 pipelines, the default one included).

Usage::

    .venv/bin/python bench/apply_bench.py [--pipelines 50] [--stages 20]
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path
from typing import Any

from funnelc.fakes._server import ManualClock, in_process
from funnelc.fakes.amocrm import AmoCRM
from funnelc.fakes.bitrix24 import Bitrix24
from funnelc.sync.client import Bucket, Window
from funnelc.sync.run import prepare, run_apply

NAMES = (
    "Заявка получена", "Контакт установлен", "Потребность выявлена", "Встреча назначена",
    "Встреча проведена", "ЛПР определён", "Бюджет подтверждён", "Решение согласовано",
    "КП получено", "КП обсуждено", "Условия согласованы", "Договор отправлен",
    "Договор согласован", "Договор подписан", "Счёт выставлен", "Предоплата получена",
    "Поставка согласована", "Товар получен",
)  # fmt: skip


def funnel_text(pipelines: int, stages: int) -> str:
    """``pipelines`` deal pipelines of ``stages`` stages each (``stages − 2`` open + won +
    lost), each stage with a goal and an exit (amoCRM descriptions)."""
    out = []
    opened = stages - 2
    for p in range(pipelines):
        name = "Воронка" if p == 0 else f"Сегмент {p:02d}: продажи"
        out.append(f'pipeline seg{p:02d} "{name}" {{\n  segment "Клиенты сегмента {p}"\n  deal {{')
        for s in range(opened):
            label = NAMES[s % len(NAMES)] + ("" if s < len(NAMES) else f" ({s // len(NAMES)})")
            key = " key" if s == opened // 2 else ""
            out.append(
                f'    stage s{s:02d} "{label}"{key} {{ goal "Клиент на шаге {s}" '
                f'exit "Подтверждён шаг {s}" sla 5d }}'
            )
        out.append('    won paid "Оплата получена"\n    lost pit "Умиральная яма"\n  }')
        out.append("  timeout -> pit\n}\n")
    return "\n".join(out)


def bench(target: str, paths: list[Path], full_bucket: bool = False) -> dict[str, Any]:
    clock = ManualClock()
    fake: AmoCRM | Bitrix24
    if target == "amocrm":
        fake = AmoCRM(token="bench", limits=True, clock=clock)
        env = {"AMOCRM_BASE_URL": "http://amo.bench.invalid", "AMOCRM_TOKEN": "bench"}
    else:
        fake = Bitrix24(secret="bench", limits=True, clock=clock)
        if full_bucket:  # another client of the portal just spent the burst
            fake._bucket, fake._bucket_at = 50.0, clock()
        env = {"BITRIX24_WEBHOOK_URL": "http://b24.bench.invalid/rest/1/bench/"}
    import os
    from unittest import mock

    err = io.StringIO()
    start = clock()
    with mock.patch.dict(os.environ, env):
        outcome = prepare(
            target,
            paths,
            base_url=None,
            allow_delete=True,
            client_options={
                "transport": in_process(fake),
                "clock": clock,
                "sleep": clock.advance,
            },
            err=err,
        )
        assert outcome.plan is not None, err.getvalue()
        code = run_apply(outcome, None, yes=True, out=io.StringIO(), err=err)
    assert code == 0, err.getvalue()
    elapsed = clock() - start
    assert outcome.session is not None
    stats = outcome.session.client.stats
    if target == "amocrm":
        minimum = Window.minimum(stats.requests)
    elif full_bucket:
        minimum = stats.requests / 2  # nothing left to burst: 2 a second
    else:
        minimum = Bucket.minimum(stats.requests)
    # And the account is what the funnels say: a fresh plan is empty.
    with mock.patch.dict(os.environ, env):
        again = prepare(
            target,
            paths,
            base_url=None,
            allow_delete=True,
            client_options={"transport": in_process(fake), "clock": clock, "sleep": clock.advance},
            err=err,
        )
    return {
        "target": target,
        "requests": stats.requests,
        "retries": stats.retries,
        "seconds": elapsed,
        "minimum": minimum,
        "ratio": elapsed / minimum if minimum else None,
        "batches": list(stats.batches),
        "unchanged_after": again.code == 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipelines", type=int, default=50)
    parser.add_argument("--stages", type=int, default=20)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        funnels = Path(tmp) / "funnels"
        funnels.mkdir()
        (funnels / "bench.funnel").write_text(
            funnel_text(args.pipelines, args.stages), encoding="utf-8"
        )
        print(
            f"apply of {args.pipelines} pipelines × {args.stages} stages, limits on, "
            "simulated clock shared by the fake and the client"
        )
        print(
            f"{'CRM':<32} {'requests':>8} {'retries':>7} {'time s':>8} {'min s':>7} "
            f"{'ratio':>6}  batches (commands each)"
        )
        for target, full in (("amocrm", False), ("bitrix24", False), ("bitrix24", True)):
            lock = funnels / "funnel.lock.json"
            lock.unlink(missing_ok=True)
            row = bench(target, [funnels], full)
            target = f"{target} (bucket full at start)" if full else target
            ratio = f"{row['ratio']:.3f}" if row["ratio"] is not None else "—"
            batches = row["batches"]
            fill = (
                f"{len(batches)} batches, {sum(b == 50 for b in batches)} full: {batches}"
                if batches
                else "—"
            )
            print(
                f"{target:<32} {row['requests']:>8} {row['retries']:>7} {row['seconds']:>8.2f} "
                f"{row['minimum']:>7.2f} {ratio:>6}  {fill}"
            )
            if not row["unchanged_after"]:
                print(f"  ! {target}: a plan after the apply is not empty")
    return 0


if __name__ == "__main__":
    sys.exit(main())
