"""After a run: let the consumers and the mail dispatcher finish, then take the run's mail out of the sink.

The SMTP sink keeps every message in one Maildir, which the end-to-end tests
search message by message: thousands of benchmark emails left there would slow
``make test`` down in the same checkout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import asyncpg

from ..config import plain_database_url, stack_env
from ..lag import consumer_lag, total_lag
from ..stack import SERVICES, ServiceStack

T = TypeVar("T")

HEADERS_WITHIN = 4096  # the sink writes the envelope headers before the body


async def with_the_others(service: str, wait: Callable[[], Awaitable[T]]) -> T:
    """The services beside ``service`` run until ``wait()`` is done: after a run of ``service``
    alone they consume what it published, so that no later run measures beside that backlog."""
    others = ServiceStack(extra_env={"LOG_LEVEL": "WARNING"})
    others.start(tuple(name for name in SERVICES if name != service))
    try:
        return await wait()
    finally:
        others.stop()


async def caught_up(timeout: float, *, stable: int = 1, interval: float = 1) -> tuple[bool, int]:
    """Whether every consumer group catches up within ``timeout`` seconds, and the lag last seen.

    ``stable``: how many checks in a row must find no lag (outboxes may still feed new events).
    """
    deadline = time.monotonic() + timeout
    quiet = 0
    while True:
        lag = total_lag(await consumer_lag())
        quiet = quiet + 1 if lag == 0 else 0
        if quiet >= stable or time.monotonic() > deadline:
            return quiet >= stable, lag
        await asyncio.sleep(interval)


async def mail_dispatched(timeout: float) -> bool:
    """Whether the notifications service has no message left to send (or being sent) within ``timeout`` seconds."""
    connection = await asyncpg.connect(plain_database_url("notifications"))
    deadline = time.monotonic() + timeout
    try:
        while True:
            outstanding = await connection.fetchval(
                "SELECT count(*) FROM messages WHERE status IN ('pending', 'sending')")
            if outstanding == 0 or time.monotonic() > deadline:
                return outstanding == 0
            await asyncio.sleep(1)
    finally:
        await connection.close()


def remove_mail(recipient_prefix: str) -> int:
    """Delete the sink's messages to recipients whose address starts with ``recipient_prefix``; returns how many."""
    maildir = Path(stack_env()["SMTP_MAILDIR"])
    marker = f"\nX-Envelope-To: {recipient_prefix}".encode()
    removed = 0
    for folder in ("new", "cur"):
        for path in (maildir / folder).glob("*") if (maildir / folder).is_dir() else ():
            try:
                with path.open("rb") as message:
                    if marker in message.read(HEADERS_WITHIN):
                        path.unlink()
                        removed += 1
            except FileNotFoundError:
                continue
    return removed


async def tidy_up(recipient_prefix: str, timeout: float = 60) -> None:
    """Wait for the pipeline to finish the run's work, then remove the run's mail from the sink."""
    await caught_up(timeout)
    await mail_dispatched(timeout)
    print(f"removed {remove_mail(recipient_prefix):,} benchmark emails from the SMTP sink", flush=True)
