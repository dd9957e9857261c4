"""Benchmark: deadlines for 100,000 publication instants.

Run:  .venv/bin/python bench/bench_deadline.py [--count 100000] [--baseline 5000]

Instants are spread uniformly (fixed seed) over 2004-01-01 … 2026-12-31 in Asia/Shanghai, so
every official year and the provisional 2027 are exercised. Measured in the same run:

* ``santongbu``  — states.deadline.compute_due on the package calendar (each year expanded
  once into a date → worked table);
* ``naive``      — the same rule asking chinese_calendar.is_workday day by day with no
  caching (what a first implementation usually does), on a sample of ``--baseline``
  instants, checked to agree with ours on every one of them.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Figure, finish
from states.deadline import compute_due
from workflow.kernel.calendar import Calendar

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2004, 1, 1, tzinfo=TZ)
END = datetime(2026, 12, 31, 23, 59, tzinfo=TZ)


def instants(count: int, seed: int = 20190927) -> list[datetime]:
    rng = random.Random(seed)
    span = int((END - START).total_seconds())
    return [(START + timedelta(seconds=rng.randrange(span))).astimezone(UTC) for _ in range(count)]


def naive_due(published: datetime, days: int = 3) -> date:
    """The rule with chinese_calendar asked day by day; 2027 falls back to weekends + holidays."""
    import chinese_calendar
    import holidays

    from workflow.kernel.calendar.sources import CORRECTIONS

    day, counted = published.astimezone(TZ).date(), 0
    while counted < days:
        day += timedelta(days=1)
        try:
            fixed = CORRECTIONS.get(day)  # the same confirmed corrections, so answers compare
            working = fixed[0] == "workday" if fixed else chinese_calendar.is_workday(day)
        except NotImplementedError:
            working = day.weekday() < 5 and day not in holidays.country_holidays("CN", years=day.year)
        counted += working
    return day


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=5_000, help="instants for the naive baseline")
    parser.add_argument("--quick", action="store_true", help="the same count; accepted for bench/run_all.py")
    parser.add_argument("--json", default=None, help="also write the figures here (for bench/run_all.py)")
    args = parser.parse_args(argv)
    sample = instants(args.count)

    t0 = time.perf_counter()
    calendar = Calendar()
    results = [compute_due(p, calendar) for p in sample]
    ours = time.perf_counter() - t0
    provisional = sum(r.provisional for r in results)

    t0 = time.perf_counter()
    again = [compute_due(p, calendar) for p in sample]  # warm: every year already expanded
    warm = time.perf_counter() - t0
    assert again == results

    base_n = min(args.baseline, args.count)
    t0 = time.perf_counter()
    naive = [naive_due(p) for p in sample[:base_n]]
    base = time.perf_counter() - t0
    mismatches = sum(n != r.due_date for n, r in zip(naive, results))

    per_sec, warm_per_sec, base_per_sec = args.count / ours, args.count / warm, base_n / base
    print(
        f"deadlines computed:     {args.count:,} instants, 2004–2026 ({provisional:,} provisional, into 2027)"
    )
    print(
        f"santongbu (cold start): {ours:.3f} s total, {per_sec:,.0f} deadlines/s, {ours / args.count * 1e6:.1f} µs each"
    )
    print(
        f"santongbu (warm):       {warm:.3f} s total, {warm_per_sec:,.0f} deadlines/s, {warm / args.count * 1e6:.1f} µs each"
    )
    print(
        f"naive baseline:         {base:.3f} s for {base_n:,} instants, {base_per_sec:,.0f} deadlines/s "
        f"(≈{args.count / base_per_sec:.1f} s for {args.count:,})"
    )
    print(
        f"speed-up:               ×{per_sec / base_per_sec:.1f} cold, ×{warm_per_sec / base_per_sec:.1f} warm"
    )
    print(f"agreement with naive:   {base_n - mismatches:,}/{base_n:,} identical due dates")
    if mismatches:
        sys.exit(1)
    finish(
        [
            Figure(
                "deadline",
                f"{args.count:,} deadlines, cold (every year expanded once)",
                ours,
                "s",
                baseline=args.count / base_per_sec,
                baseline_name="naive, day by day (extrapolated)",
                note=f"{ours / args.count * 1e6:.1f} µs each",
            ),
            Figure(
                "deadline",
                f"{args.count:,} deadlines, warm",
                warm,
                "s",
                baseline=args.count / base_per_sec,
                baseline_name="naive, day by day (extrapolated)",
                note=f"{warm / args.count * 1e6:.1f} µs each; {base_n:,}/{base_n:,} agree with naive",
            ),
        ],
        args.json,
    )


if __name__ == "__main__":
    main()
