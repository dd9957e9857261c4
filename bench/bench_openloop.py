"""Benchmark: the HTTP API under open-loop load — fixed arrival rates, whatever the answers.

Run:  .venv/bin/python bench/bench_openloop.py [--rates 50,100,200,400] [--seconds 10]
                                              [--client-processes 1] [--connections 64] [--quick]

A closed-loop benchmark (bench_api.py: 20 clients that fire again when answered) measures
queueing it causes itself and slows down with the server. Here triggers are *offered* at a fixed
rate: request *i* of a rate is scheduled at ``t0 + i / rate`` on a fixed timeline and sent then,
answered or not, and its latency is counted **from its scheduled start** — time spent waiting
for a free connection in the client's bounded pool, or behind a late generator, is queueing
and counts. Per rate: p50 and p99 of that latency, the achieved throughput (answers per second
from the first scheduled start to the last answer), errors (non-200 answers, failures, and
requests dropped because the client already had ``--backlog`` outstanding), and how late the
generator itself sent (its p99 lag: if that grows, the client, not the server, is the limit).
The summary is the highest offered rate with p99 < 50 ms and no errors, and the highest rate
sustained (≥ 95 % of it answered, no errors).

Each trigger is real: ``POST /documents/{id}/triggers/request_signoff`` as the clerk (emails
the signer) on a document in ``interpretation_plan``, or ``…/reject`` as the named signer (back
to the plan) on one in ``joint_signoff`` — token authentication, the service, the audit chain,
the outbox. Documents are copies (made in SQL) of one taken to the plan through the service; a
request takes a document no other request holds, so no two requests meet on one row.

The server is ``santongbu serve --workers 2`` (its own processes, uvloop/httptools when
installed) on a throwaway PostgreSQL database created and dropped here. CPU is read apart with
psutil: the server's process tree, the PostgreSQL backends serving the benchmark's database,
and the client processes (``time.process_time``). On a 2-core machine shared with the client
the figures say as much about the machine as about the server: read them with the CPU lines.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Figure, application, finish, throwaway_pg

TARGET_P99_MS = 50.0
TARGET_RATE = 300.0  # triggers/s sustained (issue 20)
CLERK, SIGNER = "liu.spc", "chen.spc"
REASON = {"reason": "请补充问答材料"}


# --------------------------------------------------------------------------- documents
def prepare(app: Any, count: int) -> tuple[list[int], str, str]:
    """``count`` documents in interpretation_plan with a complete package; tokens for the clerk
    and the signer. One goes through the service, the rest are copies of its rows."""

    from bench.common import clone_document
    from tests.factories import to_plan
    from workflow.services.tokens import Tokens

    wf = app.wf
    source = to_plan(wf)
    wf.edit_document(CLERK, source, {"plan": "解读方案", "interpreter": CLERK})
    wf.add_material(CLERK, source, form="text", title="文字解读", body="一、制定背景")
    wf.set_signers(CLERK, source, [SIGNER, "director"])  # the unit head and a bureau leader (a rule)
    ids = clone_document(app, source, count)
    tokens = Tokens(app.db, app.clock)
    return ids, tokens.create("admin", CLERK, "bench")[0], tokens.create("admin", SIGNER, "bench")[0]


# --------------------------------------------------------------------------- the client
@dataclass
class Shot:
    scheduled: float  # time.monotonic() of its scheduled start (system-wide clock)
    lag: float  # how late the generator started it
    latency: float | None  # answer − scheduled start; None if it failed or was dropped
    status: str  # "200", another status, "dropped", "timeout", or the exception's name


@dataclass
class ClientResult:
    shots: list[Shot] = field(default_factory=list)
    cpu: float = 0.0
    last_answer: float = 0.0
    docs: list[tuple[int, int]] = field(default_factory=list)  # (document, next trigger: 0 / 1)
    first_error: str = ""  # the first answer that was not a 200: status and the start of its body


def client_process(
    base: str,
    docs: list[tuple[int, int]],
    clerk: str,
    signer: str,
    rate: float,
    count: int,
    start: float,
    connections: int,
    backlog: int,
    drain: float,
) -> ClientResult:
    """One client process: ``count`` requests at ``rate``/s from ``start`` (time.monotonic)."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    cpu0 = time.process_time()
    result = asyncio.run(_offer(base, docs, clerk, signer, rate, count, start, connections, backlog, drain))
    result.cpu = time.process_time() - cpu0
    return result


async def _offer(
    base: str,
    docs: list[tuple[int, int]],
    clerk: str,
    signer: str,
    rate: float,
    count: int,
    start: float,
    connections: int,
    backlog: int,
    drain: float,
) -> ClientResult:
    import httpx

    result = ClientResult()
    ready: deque[tuple[int, int]] = deque(docs)  # documents no request holds, with their next trigger
    steps = [("request_signoff", f"Bearer {clerk}", None), ("reject", f"Bearer {signer}", REASON)]
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    outstanding: set[asyncio.Task[None]] = set()

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=httpx.Timeout(30.0)) as http:

        async def shoot(scheduled: float, lag: float, doc: int, step: int) -> None:
            trigger, auth, body = steps[step]
            status, latency, nxt = "", None, step
            try:
                r = await http.post(
                    f"/documents/{doc}/triggers/{trigger}", headers={"Authorization": auth}, json=body
                )
                status = str(r.status_code)
                if r.status_code != 200 and not result.first_error:
                    result.first_error = f"{status} {r.text[:300]}"
                if r.status_code == 200:
                    latency = time.monotonic() - scheduled
                    nxt = 1 - step
                    result.last_answer = max(result.last_answer, time.monotonic())
            except httpx.TimeoutException:
                status = "timeout"
            except Exception as exc:  # a refused connection, a reset: counted, not raised
                status = type(exc).__name__
                if not result.first_error:
                    result.first_error = f"{status}: {exc}"
            result.shots.append(Shot(scheduled, lag, latency, status))
            if status == "200" or status.startswith("4"):
                ready.append((doc, nxt))  # the state is known: reusable
            # else: the document's state is unknown after a failure; it is not used again

        for i in range(count):
            scheduled = start + i / rate
            delay = scheduled - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            lag = time.monotonic() - scheduled
            if len(outstanding) >= backlog or not ready:
                result.shots.append(Shot(scheduled, lag, None, "dropped"))
                continue
            doc, step = ready.popleft()
            task = asyncio.create_task(shoot(scheduled, lag, doc, step))
            outstanding.add(task)
            task.add_done_callback(outstanding.discard)
        if outstanding:
            _, pending = await asyncio.wait(set(outstanding), timeout=drain)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
                result.shots.extend(Shot(0.0, 0.0, None, "unfinished") for _ in pending)
    result.docs = list(ready)
    return result


# --------------------------------------------------------------------------- CPU meters
class Meter:
    """CPU seconds of the server's process tree and of the database's backends, with psutil."""

    def __init__(self, server_pid: int, url: str) -> None:
        self.server_pid, self.url = server_pid, url

    def _server(self) -> dict[int, float]:
        """CPU seconds of each process of the server's tree (the supervisor and its workers)."""
        import psutil

        out: dict[int, float] = {}
        try:
            root = psutil.Process(self.server_pid)
            for p in [root, *root.children(recursive=True)]:
                try:
                    t = p.cpu_times()
                    out[p.pid] = t.user + t.system
                except psutil.NoSuchProcess:
                    pass
        except psutil.NoSuchProcess:
            pass
        return out

    def _database(self) -> dict[int, float]:
        import psutil
        import psycopg

        name = self.url.rsplit("/", 1)[1]
        with psycopg.connect(self.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            pids = [
                r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,))
            ]
        out = {}
        for pid in pids:
            try:
                t = psutil.Process(pid).cpu_times()
                out[pid] = t.user + t.system
            except psutil.NoSuchProcess:
                pass
        return out

    @staticmethod
    def _machine() -> float:
        """CPU seconds the whole machine spent busy (every process, ours and anyone else's)."""
        import psutil

        t = psutil.cpu_times()
        return float(t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0))

    def start(self) -> None:
        self.server0, self.db0, self.machine0 = self._server(), self._database(), self._machine()
        self.started = time.monotonic()

    def stop(self) -> tuple[float, float]:
        self.machine = self._machine() - self.machine0
        self.elapsed = time.monotonic() - self.started
        db1, server1 = self._database(), self._server()
        # Each server process's share: with a socket shared by the workers, the kernel decides
        # which accepts a connection, and one busy worker beside an idle one is queueing.
        self.split = sorted((c - self.server0.get(pid, 0.0) for pid, c in server1.items()), reverse=True)
        return sum(self.split), sum(c - self.db0.get(pid, 0.0) for pid, c in db1.items())


# --------------------------------------------------------------------------- one rate
@dataclass
class RateResult:
    rate: float
    offered: int
    ok: int
    errors: dict[str, int]
    p50_ms: float
    p99_ms: float
    achieved: float
    lag_p99_ms: float
    server_cpu: float
    db_cpu: float
    client_cpu: float
    wall: float
    server_split: list[float] = field(default_factory=list)  # each server process's share of its CPU
    first_error: str = ""
    machine_cpu: float = 0.0  # CPU seconds of the whole machine meanwhile: others' work shows here
    metered: float = 1e-9  # seconds the meters ran (from before the first request to after the drain)

    @property
    def machine_cores(self) -> tuple[float, float]:
        """(the whole machine's busy cores, the part not ours: neither server, PostgreSQL nor
        client) over the metered time — a machine shared with others shows it here."""
        ours = self.server_cpu + self.db_cpu + self.client_cpu
        return self.machine_cpu / self.metered, max(0.0, self.machine_cpu - ours) / self.metered

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def per_trigger_ms(self, cpu: float) -> float:
        return cpu / max(self.ok, 1) * 1e3


def offer_rate(
    pool: Any,
    base: str,
    parts: list[list[tuple[int, int]]],
    clerk: str,
    signer: str,
    rate: float,
    seconds: float,
    connections: int,
    backlog: int,
    meter: Meter | None,
) -> tuple[RateResult, list[list[tuple[int, int]]]]:
    """Offer ``rate``/s for ``seconds`` from ``len(parts)`` client processes (each a share of
    the rate, interleaved on one timeline). Returns the result and the documents' new states."""
    k = len(parts)
    count = int(rate * seconds)
    start = time.monotonic() + 1.0  # every client process is up and waiting by then
    if meter:
        meter.start()
    futures = [
        pool.submit(
            client_process,
            base,
            parts[j],
            clerk,
            signer,
            rate / k,
            count // k,
            start + j / rate,  # client j takes slots j, j + k, j + 2k, … of the timeline
            max(1, connections // k),
            max(1, backlog // k),
            30.0,
        )
        for j in range(k)
    ]
    results = [f.result() for f in futures]
    server_cpu, db_cpu = meter.stop() if meter else (0.0, 0.0)
    split = [round(c / max(server_cpu, 1e-9), 2) for c in meter.split] if meter else []
    shots = [s for r in results for s in r.shots]
    ok = [s.latency for s in shots if s.latency is not None]
    errors: dict[str, int] = {}
    for s in shots:
        if s.latency is None:
            errors[s.status] = errors.get(s.status, 0) + 1
    last = max((r.last_answer for r in results), default=start) or start
    wall = max(last - start, 1e-9)
    lags = sorted(s.lag for s in shots)
    ordered = sorted(ok)

    def pct(values: list[float], q: float) -> float:
        return values[min(len(values) - 1, round(q * (len(values) - 1)))] * 1e3 if values else float("nan")

    return (
        RateResult(
            rate=rate,
            offered=len(shots),
            ok=len(ok),
            errors=errors,
            p50_ms=statistics.median(ordered) * 1e3 if ordered else float("nan"),
            p99_ms=pct(ordered, 0.99),
            achieved=len(ok) / wall,
            lag_p99_ms=pct(lags, 0.99),
            server_cpu=server_cpu,
            db_cpu=db_cpu,
            client_cpu=sum(r.cpu for r in results),
            wall=wall,
            server_split=split,
            first_error=next((r.first_error for r in results if r.first_error), ""),
            machine_cpu=meter.machine if meter else 0.0,
            metered=meter.elapsed if meter else 1e-9,
        ),
        [r.docs for r in results],
    )


def me_latency(base: str, token: str, n: int = 200) -> tuple[float, float]:
    """GET /me, one client, one request at a time: (p50, p99) in ms — the per-request floor."""
    import httpx

    samples = []
    with httpx.Client(base_url=base) as http:
        for i in range(n + 20):
            started = time.perf_counter()
            r = http.get("/me", headers={"Authorization": f"Bearer {token}"})
            if r.status_code != 200:
                raise SystemExit(f"GET /me answered {r.status_code}: {r.text[:200]}")
            if i >= 20:
                samples.append(time.perf_counter() - started)
    samples.sort()
    return statistics.median(samples) * 1e3, samples[round(0.99 * (len(samples) - 1))] * 1e3


# --------------------------------------------------------------------------- the run
def main(argv: list[str] | None = None) -> int:
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from bench.bench_api import served

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="50,100,200,400", help="offered triggers per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long each rate is offered")
    parser.add_argument("--workers", type=int, default=2, help="server processes (santongbu serve --workers)")
    parser.add_argument("--client-processes", type=int, default=1, help="load generator processes")
    parser.add_argument("--connections", type=int, default=64, help="the clients' connection pool, in all")
    parser.add_argument("--backlog", type=int, default=2000, help="outstanding requests before dropping")
    parser.add_argument("--quick", action="store_true", help="3 s per rate")
    parser.add_argument("--json", default=None, help="also write the figures here (for bench/run_all.py)")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds = min(args.seconds, 3.0)
    rates = [float(r) for r in args.rates.split(",")]
    k = args.client_processes
    # Enough documents that a request never waits for one: the backlog, and a margin.
    docs_needed = min(args.backlog, int(max(rates) * args.seconds)) + 50 * k
    figures: list[Figure] = []

    print(f"load average at start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    with throwaway_pg("openloop") as url, application(url) as app:
        started = time.perf_counter()
        docs, clerk, signer = prepare(app, docs_needed)
        print(f"  openloop: {len(docs)} documents ready in {time.perf_counter() - started:.1f} s", flush=True)
        app.db.dispose()  # type: ignore[attr-defined]  # the server processes hold the connections now
        parts: list[list[tuple[int, int]]] = [[(d, 0) for d in docs[j::k]] for j in range(k)]
        with (
            served(url, args.workers, app.folder) as (base, pid),
            ProcessPoolExecutor(k, mp_context=get_context("spawn")) as pool,
        ):
            p50, p99 = me_latency(base, clerk)
            print(
                f"  openloop: GET /me, 1 client, {args.workers} processes: p50 {p50:.2f} ms, p99 {p99:.2f} ms"
            )
            figures.append(
                Figure(
                    "openloop",
                    f"GET /me, 1 client, one request at a time (serve --workers {args.workers}), p50",
                    p50,
                    "ms",
                    note=f"p99 {p99:.1f} ms",
                )
            )
            # Warm-up, not counted: connections, imports, caches in every server process.
            warm, parts = offer_rate(
                pool, base, parts, clerk, signer, 50, 2, args.connections, args.backlog, None
            )
            answered_or_fail(warm, "the warm-up")
            results: list[RateResult] = []
            for rate in rates:
                res, parts = offer_rate(
                    pool,
                    base,
                    parts,
                    clerk,
                    signer,
                    rate,
                    args.seconds,
                    args.connections,
                    args.backlog,
                    Meter(pid, url),
                )
                answered_or_fail(res, f"{rate:.0f}/s")
                results.append(res)
                errors = ", ".join(f"{n} {k_}" for k_, n in sorted(res.errors.items())) or "none"
                print(
                    f"  openloop {rate:5.0f}/s offered: {res.ok}/{res.offered} answered, "
                    f"{res.achieved:6.1f}/s achieved; p50 {res.p50_ms:8.1f} ms  p99 {res.p99_ms:8.1f} ms "
                    f"(from the scheduled start); generator lag p99 {res.lag_p99_ms:.1f} ms; errors: {errors}\n"
                    f"      CPU per trigger: server {res.per_trigger_ms(res.server_cpu):.2f} ms, "
                    f"PostgreSQL {res.per_trigger_ms(res.db_cpu):.2f} ms, "
                    f"client {res.per_trigger_ms(res.client_cpu):.2f} ms; "
                    f"busy cores: server {res.server_cpu / res.wall:.2f}, PostgreSQL {res.db_cpu / res.wall:.2f}, "
                    f"client {res.client_cpu / res.wall:.2f}; the whole machine {res.machine_cores[0]:.2f} "
                    f"(not ours {res.machine_cores[1]:.2f}) of {os.cpu_count()}; "
                    f"server CPU by process {res.server_split}",
                    flush=True,
                )
                time.sleep(1.0)  # let the server settle between rates
    figures += rate_figures(results, args.workers)
    print(f"load average at end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finish(figures, args.json)
    return 0


def answered_or_fail(res: RateResult, what: str) -> None:
    """No figures from a rate nobody answered: percentiles of nothing are NaN, and a table of
    NaN reads like a slow server when the set-up (or the server) is broken. Exit non-zero with
    one line that shows the first refusal instead."""
    if res.ok == 0:
        errors = ", ".join(f"{n} {k}" for k, n in sorted(res.errors.items())) or "none"
        raise SystemExit(
            f"openloop: {what}: 0 of {res.offered} triggers answered 200 ({errors}); "
            f"first answer: {res.first_error or 'none'} — no figures"
        )


def rate_figures(results: list[RateResult], workers: int) -> list[Figure]:
    figures: list[Figure] = []
    for r in results:
        label = f"{r.rate:.0f}/s offered"
        errors = ", ".join(f"{n} {k}" for k, n in sorted(r.errors.items())) or "no errors"
        at_100 = r.rate == 100
        figures += [
            Figure("openloop", f"{label}: p50 from the scheduled start", r.p50_ms, "ms"),
            Figure(
                "openloop",
                f"{label}: p99 from the scheduled start",
                r.p99_ms,
                "ms",
                baseline=TARGET_P99_MS,
                baseline_name="target",
                target=f"p99 < {TARGET_P99_MS:.0f} ms" if at_100 else "",
                met=(r.p99_ms < TARGET_P99_MS and not r.error_count) if at_100 else None,
                note=f"generator lag p99 {r.lag_p99_ms:.1f} ms",
            ),
            Figure(
                "openloop",
                f"{label}: achieved",
                r.achieved,
                "/s",
                baseline=r.rate,
                baseline_name="offered",
                note=f"{r.ok}/{r.offered} answered, {errors}",
            ),
            Figure(
                "openloop",
                f"{label}: CPU per trigger, server / PostgreSQL / client",
                r.per_trigger_ms(r.server_cpu),
                "ms",
                note=(
                    f"PostgreSQL {r.per_trigger_ms(r.db_cpu):.2f} ms, client {r.per_trigger_ms(r.client_cpu):.2f} ms; "
                    f"busy cores {r.server_cpu / r.wall:.2f} / {r.db_cpu / r.wall:.2f} / {r.client_cpu / r.wall:.2f}; "
                    f"whole machine {r.machine_cores[0]:.2f}, not ours {r.machine_cores[1]:.2f}"
                ),
            ),
        ]
    under = [r.rate for r in results if r.p99_ms < TARGET_P99_MS and not r.error_count]
    sustained = [r.rate for r in results if r.achieved >= 0.95 * r.rate and not r.error_count]
    figures += [
        Figure(
            "openloop",
            f"highest offered rate with p99 < {TARGET_P99_MS:.0f} ms and no errors (serve --workers {workers})",
            max(under, default=0.0),
            "/s",
        ),
        Figure(
            "openloop",
            "highest offered rate sustained (≥ 95 % answered, no errors)",
            max(sustained, default=0.0),
            "/s",
            target=f"≥ {TARGET_RATE:.0f}/s",
            met=max(sustained, default=0.0) >= TARGET_RATE,
        ),
    ]
    return figures


if __name__ == "__main__":
    raise SystemExit(main())
