"""Benchmark of the checkin service: online scans, and the offline download of a large event.

    python -m ticketflow_local.bench.checkin [--tickets 50000] [--seconds 10] [--windows 3]
                                             [--concurrency 32] [--rate 1000] [--downstream running|stopped]

The event's tickets are bulk-loaded into the checkin projection (COPY), each
with a QR code signed by the event's Ed25519 key, as issuance would have sent
them. A registered device then scans distinct tickets over HTTP, and downloads
the whole event for offline scanning.

The scans are sent by wrk (Debian's package, installed when missing), whose C
event loop takes a small share of the two cores the services also run on, from
``--concurrency`` gates (connections), each scanning the next ticket under a
fresh nonce (``scans.lua``), in ``--windows`` windows of ``--seconds``; the
window with the median p99 is reported, beside every window's figures, since
this machine's speed drifts within minutes. Two loads are measured:

- gates at ``--rate`` scans per second (the target's measure): after each
  answer a gate waits a random pause (exponential, as people arrive at a gate)
  before its next scan, its mean calibrated by a short probe and then by each
  window's latency, so that the gates together scan a little above ``--rate``;
- gates at full speed: each scans again as soon as it has its answer. The
  service is saturated, so its latency is mostly the queue (on average,
  concurrency divided by throughput).

Without wrk, an aiohttp client sends ``--scans`` scans at full speed instead.
The full-speed load then measures the machine's floor: a bare application that
only stores each scan's nonce (``floor_app``). The offline download is of an
event of ``--tickets`` of its own.

With ``--downstream stopped`` (``make bench BENCH=checkin-alone``, reported in
bench-results/checkin-alone.md) the services consuming ticket.checked_in are
not running: the checkin service alone, as a gate server of its own would run;
the events wait in Kafka, and are consumed after the measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path

import aiohttp
import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ticketflow_schemas import qr

from ..config import REPO_ROOT, plain_database_url, service_url
from ..debian import ensure_package
from ..flow import Flow
from ..processes import port_open
from . import floor_app
from .cleanup import caught_up, with_the_others
from .report import Report, percentile
from .resources import ResourceSampler, cpu_per_unit

CHECKIN = service_url("checkin")
WRK = Path("/usr/bin/wrk")
WRK_SCRIPT = Path(__file__).with_name("scans.lua")
# Scanned before the measurement, on tickets of their own: about five seconds at full rate, so that
# connections, prepared statements, caches and the broker's JIT-compiled paths are warm (with two
# thousand, the first benchmark of a fresh stack measured its warm-up: 8-20% fewer scans per second).
WARM_UP_TICKETS = 10_000
WARM_UP_SECONDS = 6
# Tickets each measured second may scan: more than the service has carried (about 2,000), so no
# window runs out of distinct tickets.
TICKETS_PER_SECOND = 3_500
# The gates' pace aims this far above the rate asked for: their pauses are random and the latency
# moves from one window to the next, so a window may fall short of the aim (3% above gave windows
# of 986 to 1,012 scans/s; the pauses also follow each window's latency, `scan_windows`).
PACE_MARGIN = 1.06
PROBE_SECONDS = 3


async def seed_event(count: int) -> tuple[uuid.UUID, list[str]]:
    """An event of ``count`` issued, assigned tickets in the checkin projection; returns it and the QR codes."""
    event_id, type_id = uuid.uuid4(), uuid.uuid4()
    key = Ed25519PrivateKey.generate()
    key_id = int.from_bytes(uuid.uuid4().bytes[:4])
    now = datetime.now(UTC)
    payloads, rows = [], []
    prefix = uuid.uuid4().hex[:4].upper()
    for n in range(count):
        ticket_id = uuid.uuid4()
        body = qr.QrBody(ticket_id, 1, key_id)
        payload = qr.encode(body, key.sign(body.signing_input()))
        payloads.append(payload)
        rows.append((ticket_id, f"TB-{prefix}-{n:06d}", uuid.uuid4(), event_id, "Checkin benchmark", type_id,
                     "Conference pass", 1, payload, f"Attendee {n}", f"attendee{n}@example.com", f"Company {n % 500}",
                     now))
    connection = await asyncpg.connect(plain_database_url("checkin"))
    try:
        async with connection.transaction():
            await connection.execute(
                "INSERT INTO signing_keys (key_id, event_id, public_key) VALUES ($1, $2, $3)", key_id, event_id,
                key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
            await connection.execute(
                "INSERT INTO check_in_lists (id, event_id, name, is_default) VALUES ($1, $2, 'Main entrance', true)",
                uuid.uuid4(), event_id)
            await connection.copy_records_to_table("tickets", records=rows, columns=[
                "id", "number", "order_id", "event_id", "event_name", "ticket_type_id", "ticket_type_name",
                "secret_version", "qr_payload", "holder_name", "holder_email", "holder_company", "updated_at"])
        await connection.execute("ANALYZE tickets")
    finally:
        await connection.close()
    return event_id, payloads


async def scan_all(payloads: list[str], concurrency: int, token: str) -> tuple[float, list[float], dict[str, int]]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for payload in payloads:
        queue.put_nowait(payload)
    latencies: list[float] = []
    results: dict[str, int] = {}

    async def gate(client: aiohttp.ClientSession, name: str) -> None:
        while not queue.empty():
            payload = queue.get_nowait()
            started = time.perf_counter()
            async with client.post(f"{CHECKIN}/v1/scans",
                                   json={"payload": payload, "nonce": uuid.uuid4().hex, "gate": name}) as response:
                answer = await response.json()
            latencies.append(time.perf_counter() - started)
            result = answer.get("result", f"http {response.status}")
            results[result] = results.get(result, 0) + 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}, connector=connector) as client:
        started = time.perf_counter()
        await asyncio.gather(*(gate(client, f"Gate {n % 8}") for n in range(concurrency)))
        elapsed = time.perf_counter() - started
    return elapsed, latencies, results


def scan_with_wrk(payloads: list[str], *, first: int, seconds: int, concurrency: int, token: str,
                  url: str = CHECKIN, pause_ms: float = 0) -> dict:
    """wrk scans payloads[first:] for ``seconds``; its figures (requests, seconds, admitted, p50_ms ...).
    With ``pause_ms``, each gate waits a random pause of that mean after each answer."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as listing, \
            tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        listing.write("\n".join(payloads))
        listing.flush()
        script.write(WRK_SCRIPT.read_text() + (paced(pause_ms) if pause_ms else ""))
        script.flush()
        run = subprocess.run(
            [str(WRK), "-t1", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "10s", "-s", script.name, url,
             "--", listing.name, str(first + 1), uuid.uuid4().hex[:8], token],
            capture_output=True, text=True, check=True)
    return json.loads(next(line for line in run.stdout.splitlines() if line.startswith("RESULT "))[7:])


def paced(pause_ms: float) -> str:
    """wrk's ``delay`` hook: before each scan, a gate waits an exponential pause of mean ``pause_ms``
    (people reach a gate at random moments; equal pauses would keep the gates in step)."""
    return f"\nfunction delay()\n  return -{pause_ms:.3f} * math.log(1 - math.random())\nend\n"


def pause_for(rate: float, concurrency: int, probe: dict | None = None, probe_pause_ms: float = 0) -> float:
    """The mean pause (ms) after each answer for ``concurrency`` gates to scan ``rate`` per second. A gate's
    cycle is its scan's latency and its pause; ``probe``, a window run with ``probe_pause_ms``, tells the latency."""
    cycle_ms = 1000 * concurrency / rate
    latency_ms = 0.0 if probe is None else max(1000 * concurrency / scans_per_second(probe) - probe_pause_ms, 0.0)
    return max(cycle_ms - latency_ms, 0.0)


async def scan_floor(payloads: list[str], *, seconds: int, windows: int, concurrency: int) -> list[dict]:
    """The same wrk load against ``floor_app`` (one durable row per scan, nothing else); wrk's figures
    of each window."""
    database = plain_database_url("checkin")
    connection = await asyncpg.connect(database)
    await connection.execute(f"CREATE TABLE {floor_app.TABLE} (nonce text PRIMARY KEY, payload text NOT NULL, "
                             "gate text, scanned_at timestamptz NOT NULL)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", f"{floor_app.__name__}:app", "--host", "127.0.0.1", "--port", str(port),
         "--no-access-log", "--log-level", "warning"], env={**os.environ, "FLOOR_DATABASE_URL": database})
    try:
        while not port_open("127.0.0.1", port):
            if server.poll() is not None:
                raise RuntimeError(f"the floor application exited with {server.returncode}")
            await asyncio.sleep(0.1)
        url = f"http://127.0.0.1:{port}"
        scan_with_wrk(payloads[:WARM_UP_TICKETS], first=0, seconds=WARM_UP_SECONDS, concurrency=concurrency,
                      token="", url=url)
        # The floor stores any payload under a fresh nonce: it may scan the whole list again.
        return [scan_with_wrk(payloads, first=0, seconds=seconds, concurrency=concurrency, token="", url=url)
                for _ in range(windows)]
    finally:
        server.terminate()
        server.wait(timeout=10)
        await connection.execute(f"DROP TABLE {floor_app.TABLE}")
        await connection.close()


async def download(event_id: uuid.UUID, token: str) -> tuple[float, int, int, int]:
    """The whole event for offline scanning: seconds, tickets, bytes on the wire, bytes uncompressed."""
    tickets = wire = plain = 0
    after = 0
    started = time.perf_counter()
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip"},
                                     auto_decompress=False) as client:
        while True:
            async with client.get(f"{CHECKIN}/v1/events/{event_id}/offline-sync",
                                  params={"after": after, "limit": 50_000}) as response:
                response.raise_for_status()
                body = await response.read()
                gzipped = response.headers.get("Content-Encoding") == "gzip"
            wire += len(body)
            page_text = gzip.decompress(body) if gzipped else body
            plain += len(page_text)
            page = json.loads(page_text)
            tickets += len(page["tickets"])
            after = page["cursor"]
            if not page["more"]:
                break
    return time.perf_counter() - started, tickets, wire, plain


def scans_per_second(run: dict) -> float:
    return run["requests"] / run["seconds"]


def median_window(runs: list[dict], by: str | Callable[[dict], float] = "p99_ms") -> dict:
    """The window whose ``by`` (a figure of wrk's, or a function of them) is the median: this
    machine's speed drifts within minutes, and one window may fall on a slow spell."""
    return sorted(runs, key=by if callable(by) else itemgetter(by))[len(runs) // 2]


def median_rate(runs: list[dict]) -> float:
    return scans_per_second(median_window(runs, by=scans_per_second))


def windows_text(runs: list[dict]) -> str:
    return "; ".join(f"{scans_per_second(run):,.0f}/s p99 {run['p99_ms']:.1f} ms" for run in runs)


def scan_windows(payloads: list[str], first: int, args: argparse.Namespace, token: str,
                 pause_ms: float = 0, aim: float | None = None) -> tuple[list[dict], int]:
    """``args.windows`` windows of wrk's scans from payloads[first:], each with the CPU per scan of
    every process and the gates' mean pause; and where the next scans start. With ``aim``, the pause
    is set again after each window from its latency, so that the gates keep to ``aim`` scans per
    second while the latency moves (the machine's speed drifts from one window to the next)."""
    runs = []
    for _ in range(args.windows):
        sampler = ResourceSampler().start()
        window = scan_with_wrk(payloads, first=first, seconds=args.seconds, concurrency=args.concurrency,
                               token=token, pause_ms=pause_ms)
        # wrk counts with "other"; the scans' ticket.checked_in events are consumed meanwhile by the others.
        window["cpu"] = cpu_per_unit(sampler, sampler.stop(), window["requests"])
        window["pause_ms"] = pause_ms
        runs.append(window)
        first = past(window, first, args.concurrency)
        if aim is not None:
            pause_ms = pause_for(aim, args.concurrency, window, pause_ms)
    return runs, first


def past(window: dict, first: int, concurrency: int) -> int:
    """Past every ticket the window sent, answered or not when it closed."""
    return first + window["requests"] + window["other"] + window["errors"] + 2 * concurrency


def report_scans(report: Report, run: dict, target_rate: float) -> float:
    """The window's scans and throughput rows; its scans per second."""
    rate = scans_per_second(run)
    answers = {"admitted": run["admitted"], "other": run["other"], "errors": run["errors"]}
    report.row("scans", f"{run['requests']:,} in {run['seconds']:.1f} s; answers {answers}",
               ok=run["admitted"] == run["requests"])
    report.row("throughput", f"**{rate:,.0f} scans/s** (target {target_rate:,.0f})", ok=rate >= target_rate)
    return rate


async def run(args: argparse.Namespace, report: Report) -> None:
    flow = Flow()
    # Scanned tickets are used up: the scans have an event of their own, sized for every window
    # (the paced ones for twice their rate, should the pauses come out short).
    paced_tickets = int(2 * args.rate * (PROBE_SECONDS + args.windows * args.seconds))
    scanned_event_id, payloads = await seed_event(
        WARM_UP_TICKETS + paced_tickets + args.windows * args.seconds * TICKETS_PER_SECOND)
    lists = flow.http.get(f"{CHECKIN}/v1/events/{scanned_event_id}/lists").raise_for_status().json()
    device = flow.register_device(str(scanned_event_id), [lists[0]["id"]], name="Benchmark scanner")
    token = device["token"]
    gates = f"{args.concurrency} gates"

    if not ensure_package(WRK, "wrk", "the benchmark falls back to an aiohttp client, which takes more of the CPU"):
        report.section(f"Check-in: {gates} scanning distinct tickets at full speed (aiohttp)")
        report.row("gates at a pace", "not measured: it needs wrk")
        await scan_all(payloads[-200:], args.concurrency, token)  # warm up connections and caches
        elapsed, latencies, answers = await scan_all(payloads[:args.scans], args.concurrency, token)
        ms = [s * 1000 for s in latencies]
        report_scans(report, {"requests": args.scans, "seconds": elapsed, "admitted": answers.get("admitted", 0),
                              "other": args.scans - answers.get("admitted", 0), "errors": 0}, 1000)
        report.row("latency", f"p50 {percentile(ms, 50):.1f} ms, p95 {percentile(ms, 95):.1f} ms, "
                   f"p99 {percentile(ms, 99):.1f} ms at full load")
    else:
        # Warm up connections, prepared statements and the key cache on tickets of their own.
        scan_with_wrk(payloads[:WARM_UP_TICKETS], first=0, seconds=WARM_UP_SECONDS, concurrency=args.concurrency,
                      token=token)
        first = WARM_UP_TICKETS
        report.section(f"Check-in: {gates} scanning {args.rate:,} distinct tickets per second")
        if args.downstream == "stopped":
            report.row("beside it", "nothing: the consumers of ticket.checked_in are stopped, its events wait in Kafka")
        aim = args.rate * PACE_MARGIN
        probe_pause = pause_for(aim, args.concurrency)
        probe = scan_with_wrk(payloads, first=first, seconds=PROBE_SECONDS, concurrency=args.concurrency,
                              token=token, pause_ms=probe_pause)
        pause = pause_for(aim, args.concurrency, probe, probe_pause)
        runs, first = scan_windows(payloads, past(probe, first, args.concurrency), args, token, pause_ms=pause,
                                   aim=aim)
        paced_run = median_window(runs)
        pauses = ", ".join(f"{run['pause_ms']:.1f}" for run in runs)
        report.row("load", f"after each answer, a gate pauses at random (exponential; mean {pauses} ms in the "
                   f"windows, from a {PROBE_SECONDS} s probe and then from each window's latency) before its next "
                   f"scan, as people reach a gate; wrk, 1 thread; the median of {args.windows} windows of "
                   f"{args.seconds} s by p99")
        report_scans(report, paced_run, args.rate)
        report.row("latency", f"p50 {paced_run['p50_ms']:.1f} ms, p95 {paced_run['p95_ms']:.1f} ms, "
                   f"**p99 {paced_run['p99_ms']:.1f} ms** (target < 25 ms)", ok=paced_run["p99_ms"] < 25)
        report.row("every window", windows_text(runs))
        report.row("CPU per scan", paced_run["cpu"])

        report.section(f"Check-in: {gates} scanning distinct tickets at full speed")
        runs, first = scan_windows(payloads, first, args, token)
        full = median_window(runs)
        rate = report_scans(report, full, 1000)
        report.row("latency", f"p50 {full['p50_ms']:.1f} ms, p95 {full['p95_ms']:.1f} ms, p99 {full['p99_ms']:.1f} ms "
                   f"at full load: every gate waits its turn in the queue, {1000 * args.concurrency / rate:.1f} ms "
                   "on average at this throughput")
        report.row("every window", windows_text(runs))
        report.row("CPU per scan", full["cpu"])
        report.section("Check-in: the floor of this machine, under the same full-speed load")
        floors = await scan_floor(payloads, seconds=args.seconds, windows=args.windows, concurrency=args.concurrency)
        floor = median_window(floors, by=scans_per_second)
        report.row("HTTP and one durable row per scan",
                   f"{scans_per_second(floor):,.0f} scans/s, p50 {floor['p50_ms']:.1f} ms, p99 {floor['p99_ms']:.1f} ms: a bare "
                   "ASGI application on uvicorn and asyncpg, without framework, token, signature or event "
                   f"(every window: {windows_text(floors)})")
        report.row("the service / the floor",
                   f"{median_rate(runs) / scans_per_second(floor):.0%} of the scans per second (medians of the windows)")

    if args.downstream == "stopped":
        done, lag = await with_the_others("checkin", lambda: caught_up(timeout=600, stable=2))
        report.row("afterwards", "the consumers caught up with the scans' events" if done
                   else f"the consumers still trail by {lag:,} events", ok=done)

    event_id, _ = await seed_event(args.tickets)
    lists = flow.http.get(f"{CHECKIN}/v1/events/{event_id}/lists").raise_for_status().json()
    device = flow.register_device(str(event_id), [lists[0]["id"]], name="Offline scanner")
    flow.close()
    report.section(f"Check-in: offline download of an event of {args.tickets:,} tickets")
    seconds, tickets, wire, plain = await download(event_id, device["token"])
    report.row("tickets downloaded", f"{tickets:,}", ok=tickets == args.tickets)
    report.row("time", f"{seconds * 1000:,.0f} ms")
    report.row("size", f"{wire / 2**20:.1f} MiB on the wire (gzip), {plain / 2**20:.1f} MiB of JSON "
               f"({wire / tickets:.0f} bytes per ticket)")
    forgotten = await forget_events([scanned_event_id, event_id])
    report.row("afterwards", "the benchmark's events deleted from the checkin database" if forgotten
               else "the benchmark's events left in the checkin database: its role may not skip foreign-key checks")


# What a benchmark's events leave in the checkin database, child rows first. Kept, each run's quarter
# of a million tickets, scans and published events (about 380 MB) made the next runs' statements slower.
_FORGET = [
    "DELETE FROM scans WHERE ticket_id IN (SELECT id FROM tickets WHERE event_id = ANY($1::uuid[]))",
    "DELETE FROM outbox WHERE published_at IS NOT NULL"
    " AND key IN (SELECT id::text FROM tickets WHERE event_id = ANY($1::uuid[]))",
    "DELETE FROM check_in_conflicts WHERE list_id IN (SELECT id FROM check_in_lists WHERE event_id = ANY($1::uuid[]))",
    "DELETE FROM passages WHERE list_id IN (SELECT id FROM check_in_lists WHERE event_id = ANY($1::uuid[]))",
    "DELETE FROM check_ins WHERE list_id IN (SELECT id FROM check_in_lists WHERE event_id = ANY($1::uuid[]))",
    "DELETE FROM tickets WHERE event_id = ANY($1::uuid[])",
    "DELETE FROM check_in_lists WHERE event_id = ANY($1::uuid[])",
    "DELETE FROM devices WHERE event_id = ANY($1::uuid[])",
    "DELETE FROM signing_keys WHERE event_id = ANY($1::uuid[])",
]


async def forget_events(event_ids: list[uuid.UUID]) -> bool:
    """The benchmark's seeded events out of the checkin database, with everything their scans wrote there
    (the events' published ticket.checked_in stay in Kafka and the consumers' databases); False when the
    database role may not (it must be the local cluster's superuser)."""
    connection = await asyncpg.connect(plain_database_url("checkin"))
    try:
        async with connection.transaction():
            # No foreign-key checks: made for each deleted ticket, each would read all of check_ins (no
            # index serves them). The rows that refer to the tickets are deleted first, so none dangles.
            await connection.execute("SET LOCAL session_replication_role = replica")
            for statement in _FORGET:
                await connection.execute(statement, event_ids)
        await connection.execute("VACUUM ANALYZE scans, outbox, check_ins, tickets")
    except asyncpg.InsufficientPrivilegeError:
        return False
    finally:
        await connection.close()
    return True


def main() -> None:
    parser = argparse.ArgumentParser(prog="ticketflow_local.bench.checkin")
    parser.add_argument("--tickets", type=int, default=50_000)
    parser.add_argument("--seconds", type=int, default=10, help="how long wrk scans, per window")
    parser.add_argument("--windows", type=int, default=3, help="measured windows; the median one is reported")
    parser.add_argument("--scans", type=int, default=10_000, help="scans without wrk")
    parser.add_argument("--concurrency", type=int, default=32, help="gates, each one connection")
    parser.add_argument("--rate", type=int, default=1000, help="scans per second of all gates together, paced")
    parser.add_argument("--downstream", choices=["running", "stopped"], default="running",
                        help="stopped: the checkin service alone, the consumers of its events stopped")
    args = parser.parse_args()
    report = Report("checkin" if args.downstream == "running" else "checkin-alone", REPO_ROOT / "bench-results")
    asyncio.run(run(args, report))
    print(report.write())


if __name__ == "__main__":
    main()
