"""The floor of email on this machine: rendering one "your ticket" email, and delivering its bytes.

However the pipeline logs and dispatches an email, two costs remain per message:
rendering it (text, HTML, the QR code inline, the ticket PDF attached), and the
SMTP dialogue that carries its bytes, with the notifications service's client
(aiosmtplib, over its pool of connections) on one side and the SMTP sink
(aiosmtpd, a file per message) on the other, both on the machine's cores.

``delivery_floor`` sends one ready message over and over with nothing else to
do: the most emails per second this machine delivers at all. The benchmarks
report it beside the pipeline's own rate, so a target can be read against what
the machine allows.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import psutil

from notifications.mail import OutgoingEmail, SmtpSender, render

from ..config import PATHS, plain_database_url, stack_env
from ..processes import read_pid

SMTP_CONNECTIONS = 8  # the notifications service's default pool
IN_FLIGHT = 32


def ticket_email(recipient: str, n: int = 0) -> OutgoingEmail:
    """A "your ticket" email as the notifications service renders it: QR code inline, ticket PDF attached."""
    context = {
        "name": f"Attendee {n}", "company": "Benchmark AB", "language": "en", "ticket_number": f"TF-BNCH-{n:04d}",
        "ticket_type": "Conference pass", "event_id": "00000000-0000-0000-0000-000000000000",
        "event_name": "Mail benchmark", "event_starts_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        "event_venue": "Stockholm", "qr_payload": "AQ" + f"{n:08d}" * 14, "attach_ticket_pdf": True,
    }
    return render("your_ticket", context, sender="Ticketflow <tickets@example.com>", recipient=recipient,
                  message_id=f"<bench-{n}@ticketflow>")


def render_cpu_ms(count: int = 50) -> float:
    """CPU milliseconds to render one "your ticket" email, in this process (after a warm-up)."""
    for n in range(5):
        ticket_email("warm-up@example.com", n)
    started = time.process_time()
    for n in range(count):
        ticket_email("render@example.com", n)
    return (time.process_time() - started) / count * 1000


@dataclass(frozen=True)
class DeliveryFloor:
    emails: int
    size: int  # bytes per message
    seconds: float
    client_cpu: float  # seconds, the SMTP client's process
    sink_cpu: float  # seconds, the SMTP sink's process

    @property
    def per_second(self) -> float:
        return self.emails / self.seconds

    @property
    def cpu_ms(self) -> float:
        """CPU milliseconds per email, client and sink together."""
        return (self.client_cpu + self.sink_cpu) / self.emails * 1000

    def describe(self) -> str:
        return (f"{self.per_second:,.0f} emails/s: one {self.size / 1024:,.0f} KiB message sent {self.emails:,} times "
                f"by the service's SMTP client ({SMTP_CONNECTIONS} connections) into the sink, nothing else to do; "
                f"CPU per email: client {self.client_cpu / self.emails * 1000:.2f} ms, "
                f"sink {self.sink_cpu / self.emails * 1000:.2f} ms")


async def delivery_floor(message: OutgoingEmail, count: int) -> DeliveryFloor:
    """Send ``message`` ``count`` times into the stack's SMTP sink, ``IN_FLIGHT`` at a time, after a warm-up."""
    env = stack_env()
    sink = psutil.Process(read_pid(PATHS.run / "smtp.pid"))
    sender = SmtpSender(host=env["SMTP_HOST"], port=int(env["SMTP_PORT"]), security="none", username=None,
                        password=None, timeout=30, connections=SMTP_CONNECTIONS)
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def send() -> None:
        async with slots:
            await sender.send(message)

    def sink_cpu() -> float:
        times = sink.cpu_times()
        return times.user + times.system

    try:
        await asyncio.gather(*(send() for _ in range(2 * SMTP_CONNECTIONS)))  # connections opened
        client_before, sink_before, started = time.process_time(), sink_cpu(), time.perf_counter()
        await asyncio.gather(*(send() for _ in range(count)))
        seconds = time.perf_counter() - started
        return DeliveryFloor(count, len(message.data), seconds, time.process_time() - client_before,
                             sink_cpu() - sink_before)
    finally:
        await sender.close()


async def emails_sent() -> int:
    """Messages the notifications service has delivered so far (its message log)."""
    connection = await asyncpg.connect(plain_database_url("notifications"))
    try:
        return await connection.fetchval("SELECT count(*) FROM messages WHERE status = 'sent'")
    finally:
        await connection.close()
