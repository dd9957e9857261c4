"""The production Celery app on a clock offset from the real one, for bench_escalation_latency.

``celery -A bench.latency_app worker`` / ``beat``. The offset (seconds, from
``SANTONGBU_BENCH_CLOCK_OFFSET``) moves "now" to a few seconds before a real document's
deadline, which lies days ahead on the working-day calendar; from there on the clock runs at
real speed, so what the benchmark times — the deadline passing, the beat's tick, the sweep, the
delivery nudge, SMTP — takes exactly as long as it would on the day. Everything else is
``workers.app.make_app`` as deployed: settings from the environment, Redis broker.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from workers.app import make_app


class OffsetClock:
    """Real time plus a fixed offset (monotonic in practice: it follows the system clock)."""

    def __init__(self, offset_seconds: float) -> None:
        self.offset = timedelta(seconds=offset_seconds)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


app = make_app(
    clock=OffsetClock(float(os.environ.get("SANTONGBU_BENCH_CLOCK_OFFSET", "0"))),
    name="santongbu-bench-latency",
)
