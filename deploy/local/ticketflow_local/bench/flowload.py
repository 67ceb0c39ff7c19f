"""Load that walks orders through the whole flow over the services' own APIs, watching the events go by.

Each order is placed (card through the Stripe stand-in and its signed webhook,
invoice sent and marked paid, sponsored or free approved), its 3 tickets are
assigned by CSV once issued, and each ticket is scanned at the gate once its
holder's email is in the message log. The milestones are taken from the events'
own timestamps (``ce_time``: when the service committed the change) and the
message log's ``sent_at``.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import aiohttp
import asyncpg

from ticketflow_schemas import topics

from ..config import plain_database_url, service_url, stack_env
from ..flow import Flow, header, read_topics
from .flowstats import OrderTimes

TICKETS_PER_ORDER = 3
PAYMENT_METHODS = ("card", "invoice", "sponsored", "free")
WATCHED_TOPICS = [topics.ORDER_PLACED, topics.ORDER_INVOICE_SENT, topics.ORDER_SETTLED, topics.TICKET_ISSUED,
                  topics.TICKET_ASSIGNED, topics.TICKET_REISSUED, topics.TICKET_CHECKED_IN]
ORDERS, ASSIGNMENT, CHECKIN = service_url("orders"), service_url("assignment"), service_url("checkin")
RETRY_PAUSE, RETRY_PAUSE_MAX = 0.05, 1.0  # doubling: a service a few seconds behind is not asked 20 times a second
MAIL_PREFIX = "wholeflow-"  # every buyer and holder of a run: its mail is found (and removed) by it


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class Mailbox:
    """Values that arrive by key, awaited by key; a value that came first waits for its reader."""

    def __init__(self) -> None:
        self._values: dict[str, object] = {}
        self._waiting: dict[str, asyncio.Future] = {}

    def put(self, key: str, value: object) -> None:
        future = self._waiting.pop(key, None)
        if future is not None and not future.done():
            future.set_result(value)
        else:
            self._values[key] = value

    async def get(self, key: str, timeout: float) -> object:
        if key in self._values:
            return self._values.pop(key)
        future = self._waiting.setdefault(key, asyncio.get_running_loop().create_future())
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._waiting.pop(key, None)


@dataclass
class SentRecord:
    """What the ceiling needs of a record the pipeline published: the same key, value and headers."""

    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


@dataclass
class FlowWatcher:
    """Reads the flow's topics from ``since_ms`` on: milestones per order, and what the driver waits for."""

    since_ms: int
    keep_records: bool = False
    orders: dict[str, OrderTimes] = field(default_factory=dict)
    records: list[SentRecord] = field(default_factory=list)
    issued: Mailbox = field(default_factory=Mailbox)  # order id -> its ticket ids, once all are issued
    reissued: Mailbox = field(default_factory=Mailbox)  # ticket id -> the QR payload that now admits
    _ticket_orders: dict[str, str] = field(default_factory=dict)
    _issued_so_far: dict[str, list[str]] = field(default_factory=dict)

    def times(self, order_id: str) -> OrderTimes:
        return self.orders.setdefault(order_id, OrderTimes(TICKETS_PER_ORDER))

    def _take(self, record) -> None:
        when = _parse_time(header(record, "ce_time"))
        subject = header(record, "ce_subject")
        if self.keep_records:
            self.records.append(SentRecord(record.key, record.value, list(record.headers)))
        if record.topic == topics.ORDER_PLACED:
            self.times(subject).reach("placed", when)
        elif record.topic == topics.ORDER_SETTLED:
            self.times(subject).reach("settled", when)
        elif record.topic == topics.TICKET_ISSUED:
            order_id = json.loads(record.value)["order_id"]
            self._ticket_orders[subject] = order_id
            self.times(order_id).reach("issued", when, subject)
            so_far = self._issued_so_far.setdefault(order_id, [])
            if subject not in so_far:  # a redelivered record is the same ticket
                so_far.append(subject)
            if len(so_far) == TICKETS_PER_ORDER:
                self.issued.put(order_id, self._issued_so_far.pop(order_id))
        elif record.topic == topics.TICKET_ASSIGNED:
            self.times(json.loads(record.value)["order_id"]).reach("assigned", when, subject)
        elif record.topic == topics.TICKET_REISSUED:
            self.reissued.put(subject, json.loads(record.value)["qr_payload"])
        elif record.topic == topics.TICKET_CHECKED_IN and (order_id := self._ticket_orders.get(subject)):
            self.times(order_id).reach("checked_in", when, subject)

    def emailed(self, ticket_id: str, sent_at: datetime) -> None:
        if order_id := self._ticket_orders.get(ticket_id):
            self.times(order_id).reach("emailed", sent_at, ticket_id)

    def _take_new(self, records: list) -> bool:
        """Takes the records that arrived since the last call; never done (the run cancels the reading)."""
        for record in records:
            self._take(record)
        records.clear()  # read_topics' own list: emptied as taken, so a long soak keeps no backlog
        return False

    async def run(self, positioned: asyncio.Event) -> None:
        await read_topics(WATCHED_TOPICS, since_ms=self.since_ms, until=self._take_new, timeout=math.inf,
                          positioned=positioned.set)


class MailWatcher:
    """Polls the notifications message log for the "your ticket" emails of the tickets awaited."""

    def __init__(self, watcher: FlowWatcher, interval: float = 0.1) -> None:
        self.watcher = watcher
        self.interval = interval
        self.sent = Mailbox()
        self.pending: set[str] = set()

    async def run(self) -> None:
        connection = await asyncpg.connect(plain_database_url("notifications"))
        try:
            while True:
                await asyncio.sleep(self.interval)
                if not self.pending:
                    continue
                # By subject (indexed), for the awaited tickets only: the log holds every run's messages.
                rows = await connection.fetch(
                    "SELECT subject_id, sent_at FROM messages WHERE subject_id = ANY($1::text[]) "
                    "AND template = 'your_ticket' AND status = 'sent'", list(self.pending))
                for row in rows:
                    self.pending.discard(row["subject_id"])
                    self.watcher.emailed(row["subject_id"], row["sent_at"])
                    self.sent.put(row["subject_id"], row["sent_at"])
        finally:
            await connection.close()

    async def wait(self, ticket_id: str, timeout: float) -> None:
        self.pending.add(ticket_id)
        try:
            await self.sent.get(ticket_id, timeout)
        finally:
            self.pending.discard(ticket_id)


class FlowFailure(Exception):
    pass


@dataclass
class FlowDriver:
    """Walks orders through the flow over HTTP, as buyers, organizers and the gate would."""

    http: aiohttp.ClientSession
    event_id: str
    watcher: FlowWatcher
    mail: MailWatcher
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    timeout: float = 300
    placed: list[str] = field(default_factory=list)
    # Requests sent again because the service had not learnt the tickets yet, by kind.
    retries: Counter = field(default_factory=Counter)

    async def _post(self, url: str, **kwargs) -> dict:
        try:
            async with self.http.post(url, **kwargs) as response:
                body = await response.read()
        except aiohttp.ClientError as error:
            raise FlowFailure(f"POST {url}: {error!r}") from error
        if response.status >= 400:
            raise FlowFailure(f"POST {url}: {response.status} {body[:300]!r}")
        return json.loads(body)

    async def place_and_settle(self, n: int) -> str:
        method = PAYMENT_METHODS[n % len(PAYMENT_METHODS)]
        buyer = {"name": f"Flow Buyer {n}", "email": f"{MAIL_PREFIX}{self.tag}-buyer{n}@example.com",
                 "company": f"Company {n % 97}"}
        order = {"payment_method": method, "lines": [{"quantity": TICKETS_PER_ORDER}], "buyer": buyer}
        if method == "card":  # the public event page, then the buyer pays at the checkout
            receipt = await self._post(f"{ORDERS}/v1/public/events/{self.event_id}/orders", json=order)
            order_id = receipt["order_id"]
            self.placed.append(order_id)
            session = receipt["checkout_url"].rstrip("/").rsplit("/", 1)[1]
            paid = await self._post(f"{stack_env()['STRIPE_API_BASE']}/_test/checkout/sessions/{session}/complete")
            if paid["delivery"]["status"] != 200:
                raise FlowFailure(f"the webhook for {order_id} was answered {paid['delivery']}")
            return order_id
        order_id = (await self._post(f"{ORDERS}/v1/orders", json={"event_id": self.event_id, **order}))["id"]
        self.placed.append(order_id)
        if method == "invoice":
            await self._post(f"{ORDERS}/v1/orders/{order_id}/invoice")
            await self._post(f"{ORDERS}/v1/orders/{order_id}/mark-paid", json={"payment_reference": f"OCR {n}"})
        else:
            await self._post(f"{ORDERS}/v1/orders/{order_id}/approve")
        return order_id

    async def assign(self, n: int, order_id: str, ticket_ids: list[str]) -> None:
        """The buyer's CSV of holders; rows for tickets assignment has not learnt yet are sent again."""
        upload = "ticket,name,email\n" + "".join(f"{ticket},Attendee {n}-{i},{MAIL_PREFIX}{self.tag}-{n}-{i}@example.com\n"
                                                  for i, ticket in enumerate(ticket_ids))
        deadline, pause = time.monotonic() + self.timeout, RETRY_PAUSE
        while True:
            report = await self._post(f"{ASSIGNMENT}/v1/orders/{order_id}/assignments.csv", data=upload.encode(),
                                      headers={"Content-Type": "text/csv"})
            refused = {row["code"] for row in report["rows"] if row["result"] == "refused"}
            if not refused:
                return
            if refused != {"ticket_not_in_order"} or time.monotonic() > deadline:
                raise FlowFailure(f"assignment of {order_id} refused: {refused}")
            self.retries["CSV upload"] += 1
            pause = await _pause(pause)

    async def admit(self, ticket_id: str) -> None:
        """Scan the holder's QR code once their email is out; the gate may not know the ticket yet."""
        payload = await self.watcher.reissued.get(ticket_id, self.timeout)
        await self.mail.wait(ticket_id, self.timeout)
        deadline, pause = time.monotonic() + self.timeout, RETRY_PAUSE
        while True:
            answer = await self._post(f"{CHECKIN}/v1/scans",
                                      json={"payload": payload, "gate": "Bench gate", "nonce": uuid.uuid4().hex})
            if answer["result"] == "admitted":
                return
            if answer["result"] != "unknown_ticket" or time.monotonic() > deadline:
                raise FlowFailure(f"scan of {ticket_id}: {answer['result']}")
            self.retries["scan"] += 1
            pause = await _pause(pause)

    async def walk(self, n: int) -> None:
        order_id = await self.place_and_settle(n)
        ticket_ids = await self.watcher.issued.get(order_id, self.timeout)
        await self.assign(n, order_id, ticket_ids)
        await asyncio.gather(*(self.admit(ticket) for ticket in ticket_ids))


async def _pause(pause: float) -> float:
    """Wait ``pause``; the next wait is twice as long, up to RETRY_PAUSE_MAX."""
    await asyncio.sleep(pause)
    return min(pause * 2, RETRY_PAUSE_MAX)


@dataclass
class DriveResult:
    completed: int = 0
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0


async def drive(driver: FlowDriver, count: int, *, concurrency: int, per_second: float | None = None,
                done: Callable[[], None] | None = None) -> DriveResult:
    """Walk ``count`` orders, at most ``concurrency`` at once; paced at ``per_second`` starts when given."""
    result = DriveResult()
    slots = asyncio.Semaphore(concurrency)
    started = time.monotonic()

    async def one(n: int) -> None:
        try:
            await driver.walk(n)
            result.completed += 1
        except Exception as error:  # noqa: BLE001 (a failed order is counted and reported, the run goes on)
            result.failures.append(f"order {n}: {error!r}"[:300])
        finally:
            slots.release()
            if done is not None:
                done()

    tasks = []
    for n in range(count):
        if per_second:
            await asyncio.sleep(max(0.0, started + n / per_second - time.monotonic()))
        await slots.acquire()
        tasks.append(asyncio.create_task(one(n)))
    await asyncio.gather(*tasks)
    result.seconds = time.monotonic() - started
    return result


class FlowSession:
    """The event, the HTTP session and the watchers of one run; ``async with`` starts and stops them."""

    def __init__(self, *, keep_records: bool = False, connections: int = 64, timeout: float = 300) -> None:
        self.keep_records = keep_records
        self.connections = connections
        self.timeout = timeout
        self._tasks: list[asyncio.Task] = []

    async def __aenter__(self) -> FlowDriver:
        flow = Flow()
        event = flow.create_event(name=f"Whole-flow benchmark {uuid.uuid4().hex[:6]}", capacity=100_000_000)
        headers = dict(flow.http.headers)
        flow.close()
        self.watcher = FlowWatcher(int(time.time() * 1000) - 1000, keep_records=self.keep_records)
        mail = MailWatcher(self.watcher)
        positioned = asyncio.Event()
        self._tasks = [asyncio.create_task(self.watcher.run(positioned)), asyncio.create_task(mail.run())]
        await asyncio.wait_for(positioned.wait(), 60)
        # aiohttp, not httpx: httpx's own CPU per request would make the load generator the bottleneck.
        # Idle connections are let go before uvicorn's 5 s keep-alive ends, so that none is reused
        # just as the server closes it (a "connection reset" that is the client's doing, not the service's).
        connector = aiohttp.TCPConnector(limit=self.connections, keepalive_timeout=3)
        self.http = aiohttp.ClientSession(headers=headers, connector=connector,
                                          timeout=aiohttp.ClientTimeout(total=120))
        return FlowDriver(self.http, event["id"], self.watcher, mail, timeout=self.timeout)

    async def __aexit__(self, *exc_info: object) -> None:
        await self.http.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
