"""make chaos: crash and restart everything while orders flow, then check what must hold.

    python -m ticketflow_local.chaos [--orders 5000] [--assign 200] [--seed N]

While the orders flow (free, sponsored and invoice orders of 3 tickets, some
settled orders cancelled, some tickets assigned and scanned at the gate):
every service is killed with SIGKILL twice at random moments and started
again, Kafka is stopped once and started again, PostgreSQL is restarted once,
and one poison message is injected. The client retries what failed, as a real
one would. When everything has settled, the invariant checker prints its table
(also written to bench-results/chaos.md) and the run fails on any violation.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from .. import infra
from ..config import plain_database_url, service_url, stack_env
from ..flow import STAFF_SCOPES
from ..bench.cleanup import caught_up
from ..bench.report import RESULTS
from ..stack import ServiceStack
from ticketflow_runtime.auth import mint_token
from ticketflow_schemas import events
from ticketflow_schemas.topics import ORDER_SETTLED, SERVICES
from .invariants import Check, check_all, table

RETRYABLE = {500, 502, 503, 504}


@dataclass
class Progress:
    orders_done: int = 0
    settled: asyncio.Queue = field(default_factory=asyncio.Queue)
    assigned: set[uuid.UUID] = field(default_factory=set)
    scans: int = 0
    retries: int = 0
    faults: list[str] = field(default_factory=list)


class Client:
    """HTTP with a patient retry: during a fault, requests fail until the part is back."""

    def __init__(self, progress: Progress) -> None:
        token = mint_token(stack_env()["AUTH_JWT_SECRET"], "chaos", STAFF_SCOPES, ttl_seconds=6 * 3600)
        self.http = httpx.AsyncClient(timeout=15, headers={"Authorization": f"Bearer {token}"})
        self.progress = progress

    async def call(self, method: str, service: str, path: str, *, json: object = None,
                   accept: tuple[int, ...] = (), headers: dict[str, str] | None = None) -> httpx.Response:
        deadline = time.monotonic() + 300
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self.http.request(method, service_url(service) + path, json=json, headers=headers)
                if response.status_code < 400 or response.status_code in accept:
                    return response
                # After a retry, the first attempt may have done the work: the state machine now refuses.
                if attempt > 1 and response.status_code == 409:
                    return response
                if response.status_code not in RETRYABLE:
                    response.raise_for_status()
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{method} {service}{path} kept failing")
            self.progress.retries += 1
            await asyncio.sleep(min(0.2 * attempt, 2))


async def drive_orders(client: Client, event_id: str, count: int, rng: random.Random, progress: Progress,
                       concurrency: int = 12) -> None:
    numbers = iter(range(count))

    async def one(n: int) -> None:
        method = rng.choices(["free", "sponsored", "invoice"], weights=[4, 2, 4])[0]
        created = (await client.call("POST", "orders", "/v1/orders", json={
            "event_id": event_id, "payment_method": method, "lines": [{"quantity": 3}],
            "buyer": {"name": f"Chaos buyer {n}", "email": f"buyer-{n}@chaos.example.com",
                      "company": "Chaos AB"}},
            # A retry after a lost answer returns the order already placed.
            headers={"Idempotency-Key": f"{event_id}-{n}"})).json()
        path = f"/v1/orders/{created['id']}"
        if method == "invoice":
            await client.call("POST", "orders", f"{path}/invoice")
            await client.call("POST", "orders", f"{path}/mark-paid", json={"payment_reference": f"BG-{n}"})
        else:
            await client.call("POST", "orders", f"{path}/approve")
        if rng.random() < 0.05:
            await client.call("POST", "orders", f"{path}/cancel", json={"reason": "Chaos: changed plans",
                                                                        "refund": True})
        else:
            progress.settled.put_nowait(created["id"])
        progress.orders_done += 1

    async def worker() -> None:
        for n in numbers:
            await one(n)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def assign_and_scan(client: Client, domain: str, count: int, progress: Progress,
                          orders_running: asyncio.Task) -> None:
    """Assign one ticket of each of ``count`` settled orders, and scan it twice at the gate."""

    async def one(n: int, order_id: str) -> None:
        while True:
            tickets = (await client.call("GET", "assignment", f"/v1/orders/{order_id}/tickets")).json()
            if tickets:
                break
            await asyncio.sleep(0.5)
        ticket = tickets[0]
        await client.call("PUT", "assignment", f"/v1/tickets/{ticket['id']}/holder",
                          json={"name": f"Holder {n}", "email": f"holder-{n}@{domain}"})
        progress.assigned.add(uuid.UUID(ticket["id"]))
        for _ in range(2):  # the second scan is answered "already checked in"
            while True:
                answer = (await client.call("POST", "checkin", "/v1/scans", json={
                    "ticket_number": ticket["number"], "gate": "Chaos gate", "nonce": uuid.uuid4().hex})).json()
                if answer["result"] != "unknown_ticket":  # the gate learns tickets from events
                    break
                await asyncio.sleep(0.5)
            progress.scans += 1

    pending: list[asyncio.Task] = []
    for n in range(count):
        order_id = await progress.settled.get()
        pending.append(asyncio.create_task(one(n, order_id)))
        # Spread over the run, so faults hit assignments, emails and scans too.
        if not orders_running.done():
            await asyncio.sleep(0.2)
    await asyncio.gather(*pending)


async def inject_poison(key: str) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=stack_env()["KAFKA_BOOTSTRAP_SERVERS"], acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(ORDER_SETTLED, b"{not an event", key=key.encode(),
                                     headers=[("ce_type", events.OrderSettled.ce_type.encode())])
    finally:
        await producer.stop()


async def run_faults(stack: ServiceStack, progress: Progress, total: int, rng: random.Random,
                     infra_started: list[str]) -> None:
    faults = [("kill", service) for service in SERVICES for _ in range(2)]
    if "kafka" in infra_started:
        faults.append(("stop", "kafka"))
    if "postgres" in infra_started:
        faults.append(("stop", "postgres"))
    rng.shuffle(faults)
    moments = sorted(rng.uniform(0.05, 0.9) * total for _ in faults)
    for (kind, part), moment in zip(faults, moments, strict=True):
        while progress.orders_done < moment:
            await asyncio.sleep(0.1)
        started = time.monotonic()
        if kind == "kill":
            await asyncio.to_thread(stack.stop, (part,), sig=signal.SIGKILL, timeout=10)
            await asyncio.sleep(rng.uniform(0.5, 3))
            await asyncio.to_thread(stack.start_one, part)
            await asyncio.to_thread(stack.wait_ready, (part,), 180)
        else:
            down, up = (infra.kafka_down, infra.kafka_up) if part == "kafka" else (infra.postgres_down,
                                                                                   infra.postgres_up)
            await asyncio.to_thread(down)
            await asyncio.sleep(rng.uniform(2, 6))
            await asyncio.to_thread(up)
            await asyncio.to_thread(stack.wait_ready, SERVICES, 180)
        note = f"{kind} {part} at order {progress.orders_done} ({time.monotonic() - started:.1f} s to ready)"
        progress.faults.append(note)
        print(f"  fault: {note}", flush=True)


async def quiesce(timeout: float = 900) -> None:
    """Wait until every consumer group has caught up and stays caught up (outboxes feed new events)."""
    if not (await caught_up(timeout, stable=3, interval=2))[0]:
        print("  still not quiet: checking anyway", flush=True)


async def wait_for_emails(count: int, domain: str, timeout: float = 900) -> None:
    import asyncpg

    connection = await asyncpg.connect(plain_database_url("notifications"))
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sent = await connection.fetchval(
                "SELECT count(*) FROM messages WHERE template = 'your_ticket' AND recipient LIKE $1 "
                "AND status IN ('sent', 'failed')", f"%@{domain}")
            if sent >= count:
                return
            await asyncio.sleep(2)
    finally:
        await connection.close()


async def chaos(stack: ServiceStack, args: argparse.Namespace, infra_started: list[str]) -> bool:
    rng = random.Random(args.seed)
    progress = Progress()
    client = Client(progress)
    since_ms = int(datetime.now(UTC).timestamp() * 1000) - 1000
    domain = f"chaos-{uuid.uuid4().hex[:8]}.example.com"
    event = (await client.call("POST", "orders", "/v1/events", json={
        "name": "Chaos run", "starts_at": "2027-10-01T08:00:00Z", "ends_at": "2027-10-02T17:00:00Z",
        "capacity": args.orders * 3, "ticket_types": [{"name": "Pass", "net_price": 250000}]})).json()
    poison_key = f"chaos-poison-{uuid.uuid4()}"
    print(f"chaos: {args.orders} orders of 3 tickets, {args.assign} assigned and scanned (seed {args.seed})",
          flush=True)
    started = time.monotonic()
    orders = asyncio.create_task(drive_orders(client, event["id"], args.orders, rng, progress))
    faults = asyncio.create_task(run_faults(stack, progress, args.orders, rng, infra_started))
    assignments = asyncio.create_task(assign_and_scan(client, domain, args.assign, progress, orders))
    await inject_poison(poison_key)
    while not orders.done():
        print(f"  {progress.orders_done}/{args.orders} orders, {len(progress.assigned)} assigned, "
              f"{progress.scans} scans, {progress.retries} retries", flush=True)
        await asyncio.sleep(10)
    await asyncio.gather(orders, faults, assignments)
    flowed = time.monotonic() - started
    print(f"flow done in {flowed:.0f} s; waiting for the pipeline to settle", flush=True)
    await wait_for_emails(len(progress.assigned), domain)
    await quiesce()
    await client.http.aclose()

    checks = await check_all(uuid.UUID(event["id"]), domain, progress.assigned, {poison_key.encode()}, since_ms)
    placed = next(check.checked for check in checks if check.name.startswith("orders' issued counts"))
    checks.insert(0, Check("each order placed once, whatever the retries (Idempotency-Key)", args.orders,
                           abs(placed - args.orders), f"{placed} stored" if placed != args.orders else ""))
    report = "\n".join([
        "# Chaos run", "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC. {args.orders} orders of 3 tickets in {flowed:.0f} s, "
        f"{len(progress.assigned)} tickets assigned and scanned twice, {progress.retries} client retries "
        f"(seed {args.seed}).", "",
        f"The client placed {args.orders} orders, each with an Idempotency-Key, retrying through the faults; "
        f"the database holds {placed}.", "",
        "## Faults", "", *[f"- {fault}" for fault in progress.faults], "",
        "## Invariants", "", table(checks), ""])
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "chaos.md").write_text(report)
    print("\n" + table(checks), flush=True)
    return all(check.ok for check in checks)


def main() -> int:
    parser = argparse.ArgumentParser(prog="ticketflow_local.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--assign", type=int, default=200, help="tickets assigned (each sends an email) and scanned")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    started = infra.up()
    stack = ServiceStack(extra_env={
        "PUBLIC_RATE_LIMIT": "1000000/minute", "LOG_LEVEL": "WARNING",
        # An email attempt cut short by a kill is taken back soon, and retried without long waits.
        "DELIVERY_LEASE_SECONDS": "10", "MAIL_RETRY_BASE_SECONDS": "1",
    })
    try:
        stack.start()
        ok = asyncio.run(chaos(stack, args, started))
    finally:
        stack.stop()
        infra.down(started)
    print("chaos: every invariant holds" if ok else "chaos: INVARIANTS VIOLATED", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
