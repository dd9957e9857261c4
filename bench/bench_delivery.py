"""Benchmark: 10,000 queued emails through real Celery workers to an SMTP server, with 2 and 4
worker processes.

Run:  .venv/bin/python bench/bench_delivery.py [--emails 10000] [--processes 2 4]

Nothing is simulated: ``celery -A workers worker --concurrency N`` (prefork, N processes) runs as
a separate process on the production app (settings from the environment) with a Redis broker (a
throwaway ``redis-server`` on a free port), a throwaway PostgreSQL database and SMTP delivery to
an ``aiosmtpd`` server on loopback in this process. No beat runs: the benchmark sends **one**
``deliver_outbox`` task, as a sweep's nudge would, and the tasks spread the backlog over the
processes themselves (each asks for help at a full batch, see workers/delivery_tasks.py).

``--smtp-delay 0.01`` makes the server take 10 ms per message, like a mail server across a
network rather than on loopback: then a worker process mostly waits, and more processes deliver
more even on two cores.

Figure: emails per second, from sending that one task to the last of the emails being accepted
by the SMTP server; every row is checked ``sent`` afterwards and every email counted once (a
duplicate would show as more arrivals than rows).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_escalation_latency import Redis, stop, wait_for
from bench.common import ROOT, Figure, application, finish, throwaway_pg

TARGET_SECONDS = 60.0


class CountingServer:
    """aiosmtpd on loopback that only counts what it accepts (and when the last one came)."""

    def __init__(self, delay: float = 0.0) -> None:
        from aiosmtpd.controller import Controller

        from bench.bench_escalation_latency import free_port

        self.port = free_port()
        self.count = 0
        self.last = 0.0
        self.delay = delay
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        if self.delay:
            import asyncio

            await asyncio.sleep(self.delay)  # a mail server across a network, not on loopback
        with self._lock:
            self.count += 1
            self.last = time.perf_counter()
        return "250 OK"


def queue_emails(db, n: int) -> None:  # type: ignore[no-untyped-def]
    """``n`` pending copies of a real rendered email (a sign-off request), in one statement."""
    from sqlalchemy import text

    with db.engine.begin() as conn:
        template = conn.execute(text("SELECT id FROM outbox ORDER BY id LIMIT 1")).scalar_one()
        conn.execute(
            text(
                "INSERT INTO outbox (document_id, event, language, to_addrs, cc_addrs, context, subject, body_text, body_html, "
                "status, attempts, next_attempt_at, created_at) "
                "SELECT document_id, event, language, to_addrs, cc_addrs, context, subject, body_text, body_html, "
                "'pending', 0, now() - interval '1 minute', now() FROM outbox, generate_series(1, :n) "
                "WHERE id = :t"
            ),
            {"n": n, "t": template},
        )


def pending(db) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    with db.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM outbox WHERE status <> 'sent'")).scalar_one())


def run(emails: int = 10_000, processes: tuple[int, ...] = (2, 4), smtp_delay: float = 0.0) -> list[Figure]:
    from celery import Celery

    from tests.factories import to_signoff
    from workers.delivery_tasks import DELIVER_OUTBOX

    work = Path(tempfile.mkdtemp(prefix="santongbu_bench_delivery_"))
    mail = CountingServer(smtp_delay)
    mail.controller.start()
    redis_server = Redis(work)
    figures: list[Figure] = []
    try:
        with throwaway_pg("delivery") as url, application(url) as app:
            db = app.db
            to_signoff(app.wf)  # type: ignore[arg-type]  # real rendered emails to copy
            env = {
                **os.environ,
                "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
                "SANTONGBU_DATABASE_URL": url,
                "SANTONGBU_BROKER_URL": redis_server.url,
                "SANTONGBU_MAIL_TRANSPORT": "smtp",
                "SANTONGBU_SMTP_HOST": "127.0.0.1",
                "SANTONGBU_SMTP_PORT": str(mail.port),
                "SANTONGBU_LANGUAGE": "zh",
            }
            client = Celery("bench", broker=redis_server.url, set_as_current=False)
            for n in processes:
                log = open(work / f"worker-{n}.log", "wb")  # noqa: SIM115 - closed with the process
                worker = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "workers",
                        "worker",
                        "--concurrency",
                        str(n),
                        "--loglevel",
                        "WARNING",
                        "--without-gossip",
                        "--without-mingle",
                        "--without-heartbeat",
                    ],
                    cwd=work,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
                try:
                    # Warm-up: the worker is up and every process has its connections.
                    before = mail.count + pending(db)
                    queue_emails(db, 20 * n)
                    client.send_task(DELIVER_OUTBOX)
                    wait_for(lambda: pending(db) == 0, 120, f"the warm-up of {n} processes")
                    wait_for(
                        lambda before=before, n=n: mail.count >= before + 20 * n - pending(db),
                        30,
                        "warm-up emails",
                    )
                    queue_emails(db, emails)
                    arrived = mail.count
                    started = time.perf_counter()
                    client.send_task(DELIVER_OUTBOX)
                    wait_for(lambda arrived=arrived: mail.count >= arrived + emails, 600, f"{emails} emails")
                    seconds = mail.last - started
                    wait_for(lambda: pending(db) == 0, 60, "every row recorded sent")
                    time.sleep(1.0)
                    extra = mail.count - arrived - emails
                finally:
                    stop(worker)
                rate = emails / seconds
                where = f", SMTP answering after {smtp_delay * 1000:.0f} ms" if smtp_delay else ""
                print(
                    f"  delivery: {emails} emails with {n} worker processes{where} in {seconds:.1f} s "
                    f"= {rate:.0f} emails/s ({extra} duplicates)",
                    flush=True,
                )
                figures.append(
                    Figure(
                        "delivery",
                        f"{emails} emails, {n} worker processes{where}",
                        rate,
                        "emails/s",
                        note=f"{seconds:.1f} s; {extra} duplicates; one task sent, the rest fanned out",
                        target=(f"{emails} in < {TARGET_SECONDS:.0f} s" if emails >= 10_000 else "")
                        if n == 2
                        else "faster than 2",
                        met=((seconds < TARGET_SECONDS) if emails >= 10_000 else None)
                        if n == 2
                        else (rate > figures[0].value if figures else None),
                    )
                )
    finally:
        redis_server.stop()
        mail.controller.stop()
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--processes", type=int, nargs="+", default=[2, 4])
    parser.add_argument(
        "--smtp-delay",
        type=float,
        default=0.0,
        help="seconds the SMTP server takes per message (a server across a network)",
    )
    parser.add_argument("--quick", action="store_true", help="2,000 emails, 2 processes")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.quick:
        args.emails, args.processes = 2_000, [2]
    finish(run(args.emails, tuple(args.processes), args.smtp_delay), args.json)


if __name__ == "__main__":
    main()
