"""The dispatchers: deliver pending messages from the log, email over SMTP and pushes to the apps.

Handlers only write the message log (in their inbox transaction); these workers
send. A crash between the provider's acceptance and the commit can resend one
message; nothing is ever lost. A transient failure is retried with backoff; a
permanent one is recorded with the server's answer; a message whose retries
run out is recorded and parked on the dead-letter topic with its reason.
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import os
import threading
import time
from abc import abstractmethod
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import aiosmtplib
from sqlalchemy import bindparam, delete, func, select, update

from ticketflow_runtime.consumers import dead_letter_headers
from ticketflow_runtime.database import Database
from ticketflow_runtime.outbox import Outbox
from ticketflow_runtime.telemetry import continue_trace
from ticketflow_runtime.worker import DrainingWorker
from ticketflow_schemas.topics import dead_letter_topic

from .domain import Delivery, MessageStatus, push_outcome, retry_delay, smtp_outcome
from .mail import SmtpSender, ready, render
from .push import PushMessage, PushProvider
from .store.tables import messages, push_devices

log = logging.getLogger(__name__)

CHANNEL = "notifications_messages"
PUSH_CHANNEL = "notifications_push"


class MessageDispatcher(DrainingWorker):
    """Delivers the pending messages of one channel, a batch at a time.

    An attempt is claimed (status "sending", committed) before anything goes out
    and recorded after, so no transaction stays open while a server answers. A
    process killed in between leaves the claim behind: after the lease it is
    taken back, counted as interrupted (it may have delivered a copy already),
    and sent again. Outcomes are recorded every ``concurrency`` messages, so a
    crash repeats at most twice that many (in flight, and finished but not yet
    recorded), each counted in the log.
    """

    channel_name: str

    def __init__(self, *, database: Database, notify_channel: str, batch_size: int, poll_seconds: float,
                 max_attempts: int, retry_base_seconds: float, lease_seconds: float, concurrency: int = 8) -> None:
        super().__init__(database=database, channel=notify_channel, batch_size=batch_size, poll_seconds=poll_seconds)
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.retry_base_seconds = retry_base_seconds
        self.lease = timedelta(seconds=lease_seconds)

    @abstractmethod
    async def deliver(self, message) -> Delivery:
        """One attempt; never raises for a refusal (the Delivery says what happened)."""

    async def settle(self, session, message, delivery: Delivery) -> None:
        """Hook: anything else the outcome changes, in the transaction that records it."""

    async def work_once(self) -> int:
        await self._take_back_interrupted()
        claimed = await self._claim()
        if not claimed:
            return 0
        # Several at once (an SMTP dialogue or a provider's answer is mostly waiting), recorded
        # as they finish, every `concurrency` of them, while the others go on: what a crash leaves
        # delivered but unrecorded is at most those in flight and those finished since the last record.
        slots = asyncio.Semaphore(self.concurrency)

        async def attempt(message) -> tuple[Any, Delivery]:
            async with slots:
                return message, await self._attempt(message)

        attempts = [asyncio.create_task(attempt(message)) for message in claimed]
        finished: list[tuple[Any, Delivery]] = []
        try:
            for outcome in asyncio.as_completed(attempts):
                finished.append(await outcome)
                if len(finished) >= self.concurrency:
                    await self._record(finished)
                    finished = []
            if finished:
                await self._record(finished)
        finally:
            # Recording failed (or the worker stops): nothing more goes out unrecorded; the
            # claims left behind are taken back after the lease.
            for task in attempts:
                task.cancel()
        return len(claimed)

    async def _attempt(self, message) -> Delivery:
        try:
            return await self.deliver(message)
        except Exception as error:  # a message that cannot even be built: recorded, not retried
            log.exception("message could not be delivered", extra={"message_id": str(message.id)})
            return Delivery(MessageStatus.FAILED, f"not sent: {error!r}"[:4000])

    async def _record(self, outcomes: list) -> None:
        # A unit of work: the dead letters it parks wake the relay once it commits.
        async with self.database.unit_of_work() as uow:
            recorded: dict[tuple[str, ...], list[dict]] = {}  # the outcomes, by the columns they change
            for message, delivery in outcomes:
                changes = self._changes(message, delivery)
                recorded.setdefault(tuple(sorted(changes)), []).append({"message_id": message.id, **changes})
                await self.settle(uow.session, message, delivery)
                if changes.get("status") == MessageStatus.FAILED.value and delivery.status is MessageStatus.PENDING:
                    park(uow.outbox, message, reason="exhausted", error=delivery.error, attempts=message.attempts)
            for columns, rows in recorded.items():  # one pipelined statement per kind of outcome
                await uow.session.execute(update(messages).where(messages.c.id == bindparam("message_id"))
                                          .values({column: bindparam(column) for column in columns}), rows)

    async def _claim(self) -> list:
        now = datetime.now(UTC)
        async with self.database.sessions() as session, session.begin():
            due = select(messages.c.id).where(
                messages.c.channel == self.channel_name, messages.c.status == MessageStatus.PENDING.value,
                messages.c.next_attempt_at <= now,
            ).order_by(messages.c.next_attempt_at).limit(self.batch_size).with_for_update(skip_locked=True)
            return list((await session.execute(
                update(messages).where(messages.c.id.in_(due.scalar_subquery()))
                .values(status=MessageStatus.SENDING.value, attempts=messages.c.attempts + 1,
                        attempt_started_at=now)
                .returning(*messages.c))).all())

    async def _take_back_interrupted(self) -> None:
        async with self.database.sessions() as session, session.begin():
            taken = (await session.execute(
                update(messages).where(messages.c.channel == self.channel_name,
                                       messages.c.status == MessageStatus.SENDING.value,
                                       messages.c.attempt_started_at < datetime.now(UTC) - self.lease)
                .values(status=MessageStatus.PENDING.value, next_attempt_at=func.now(),
                        interrupted_attempts=messages.c.interrupted_attempts + 1,
                        last_error=func.concat("interrupted: the attempt of ", messages.c.attempt_started_at,
                                               " may have been delivered; sent again"))
                .returning(messages.c.id))).scalars().all()
        for message_id in taken:
            log.warning("an interrupted attempt is taken back: the message may arrive twice",
                        extra={"message_id": str(message_id)})

    def _changes(self, message, delivery: Delivery) -> dict:
        """``message.attempts`` counts this attempt already (the claim did)."""
        attempts = message.attempts
        now = datetime.now(UTC)
        if delivery.status is MessageStatus.SENT:
            return {"status": MessageStatus.SENT.value, "sent_at": now, "last_error": None}
        if delivery.status is MessageStatus.PENDING and attempts < self.max_attempts:
            log.warning("delivery deferred", extra={"message_id": str(message.id), "error": delivery.error})
            delay = retry_delay(attempts, base_seconds=self.retry_base_seconds)
            return {"status": MessageStatus.PENDING.value, "last_error": delivery.error, "next_attempt_at": now + delay}
        log.error("delivery failed", extra={"message_id": str(message.id), "error": delivery.error})
        return {"status": MessageStatus.FAILED.value, "last_error": delivery.error}


class MailDispatcher(MessageDispatcher):
    name = "mail-dispatcher"
    channel_name = "email"

    def __init__(self, *, sender: SmtpSender, mail_from: str, render_processes: int = 0, **options) -> None:
        super().__init__(notify_channel=CHANNEL, **options)
        self.sender = sender
        self.mail_from = mail_from
        self.render_processes = render_processes
        self._renderer: ProcessPoolExecutor | None = None

    async def start(self) -> None:
        self._renderer = self._new_renderer()
        await super().start()

    async def stop(self) -> None:
        await super().stop()
        await self.sender.close()
        if self._renderer is not None:
            self._renderer.shutdown(wait=False, cancel_futures=True)

    def _new_renderer(self) -> ProcessPoolExecutor | None:
        """Rendering (templates, QR code, ticket PDF) is CPU work: processes of its own use the other
        cores and leave the event loop free; without them (0), a thread keeps it off the event loop."""
        if not self.render_processes:
            return None
        # Spawned, not forked: a fork copies the event loop's threads and connections mid-use.
        renderer = ProcessPoolExecutor(self.render_processes, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=exit_with_parent, initargs=(os.getpid(),))
        for _ in range(self.render_processes):  # started now, not by the first emails
            renderer.submit(ready)
        return renderer

    async def render(self, message):
        renderer = self._renderer
        try:
            return await asyncio.get_running_loop().run_in_executor(renderer, partial(
                render, message.template, message.context, sender=self.mail_from, recipient=message.recipient,
                message_id=f"<{message.id}@ticketflow>"))
        except BrokenProcessPool:  # a renderer process died (killed, out of memory): the next messages get new ones
            if self._renderer is renderer:
                renderer.shutdown(wait=False, cancel_futures=True)
                self._renderer = self._new_renderer()
            raise

    async def deliver(self, message) -> Delivery:
        with continue_trace(message.traceparent, "send email", **{"messaging.template": message.template}):
            try:
                email = await self.render(message)
            except BrokenProcessPool:
                return Delivery(MessageStatus.PENDING, "not rendered: a renderer process died; tried again later")
            try:
                await self.sender.send(email)
            except aiosmtplib.SMTPRecipientsRefused as error:  # the one recipient refused: its answer decides
                refused = error.recipients[0]
                return smtp_outcome(refused.code, refused.message)
            except aiosmtplib.SMTPResponseException as error:
                return smtp_outcome(error.code, error.message)
            except (aiosmtplib.SMTPException, OSError) as error:
                return smtp_outcome(None, repr(error))
        return Delivery(MessageStatus.SENT)


class PushDispatcher(MessageDispatcher):
    name = "push-dispatcher"
    channel_name = "push"

    def __init__(self, *, provider: PushProvider, **options) -> None:
        super().__init__(notify_channel=PUSH_CHANNEL, **options)
        self.provider = provider

    async def stop(self) -> None:
        await super().stop()
        await self.provider.aclose()

    async def deliver(self, message) -> Delivery:
        context = message.context
        with continue_trace(message.traceparent, "send push", **{"messaging.template": message.template}):
            return push_outcome(await self.provider.send(PushMessage(
                token=context["token"], platform=context["platform"], title=context["title"], body=context["body"],
                data=context["data"], collapse_key=context["data"].get("ticket_id"))))

    async def settle(self, session, message, delivery: Delivery) -> None:
        if delivery.drop_device:
            # The app was uninstalled or the token rotated: never send to it again.
            await session.execute(delete(push_devices).where(push_devices.c.platform == message.context["platform"],
                                                             push_devices.c.token == message.context["token"]))


def exit_with_parent(parent: int) -> None:
    """In a renderer process: end when the service does, even when it was killed (SIGKILL leaves
    its workers waiting on a queue that they themselves keep open)."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def park(outbox: Outbox, message, *, reason: str, error: str | None, attempts: int) -> None:
    """A message that kept failing goes to the dead-letter topic with its reason (it stays in the log too)."""
    outbox.stage_record(
        dead_letter_topic(outbox.service), str(message.id),
        dead_letter_headers(service=outbox.service, reason=reason, error=error, attempts=attempts,
                            **{"x-message-channel": message.channel, "x-message-template": message.template}),
        json.dumps({"message_id": str(message.id), "channel": message.channel, "template": message.template,
                    "recipient": message.recipient, "subject_id": message.subject_id, "error": error}),
    )
