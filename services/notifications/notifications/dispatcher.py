"""The dispatchers: deliver pending messages from the log, email over SMTP and pushes to the apps.

Handlers only write the message log (in their inbox transaction); these workers
send. A crash between the provider's acceptance and the commit can resend one
message; nothing is ever lost. A transient failure is retried with backoff; a
permanent one is recorded with the server's answer; a message whose retries
run out is recorded and parked on the dead-letter topic with its reason.
"""

from __future__ import annotations

import json
import logging
from abc import abstractmethod
from datetime import UTC, datetime

import aiosmtplib
from sqlalchemy import delete, select, update

from ticketflow_runtime.database import Database
from ticketflow_runtime.outbox import Outbox
from ticketflow_runtime.telemetry import continue_trace
from ticketflow_runtime.worker import DrainingWorker
from ticketflow_schemas.topics import dead_letter_topic

from .domain import Delivery, MessageStatus, push_outcome, retry_delay, smtp_outcome
from .mail import SmtpSender, compose
from .push import PushMessage, PushProvider, PushResult
from .store.tables import messages, push_devices

log = logging.getLogger(__name__)

CHANNEL = "notifications_messages"
PUSH_CHANNEL = "notifications_push"


class MessageDispatcher(DrainingWorker):
    """Delivers the pending messages of one channel, a batch per transaction (rows locked, skipped by peers)."""

    channel_name: str

    def __init__(self, *, database: Database, notify_channel: str, batch_size: int, poll_seconds: float,
                 max_attempts: int, retry_base_seconds: float) -> None:
        super().__init__(database=database, channel=notify_channel, batch_size=batch_size, poll_seconds=poll_seconds)
        self.max_attempts = max_attempts
        self.retry_base_seconds = retry_base_seconds

    @abstractmethod
    async def deliver(self, message, session) -> Delivery:
        """One attempt; never raises for a refusal (the Delivery says what happened)."""

    async def work_once(self) -> int:
        async with self.database.sessions() as session, session.begin():
            due = (
                await session.execute(
                    select(messages)
                    .where(messages.c.channel == self.channel_name, messages.c.status == MessageStatus.PENDING.value,
                           messages.c.next_attempt_at <= datetime.now(UTC))
                    .order_by(messages.c.next_attempt_at)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            outbox = Outbox(session, self.database.service)
            for message in due:
                delivery = await self.deliver(message, session)
                changes = self._changes(message, delivery)
                await session.execute(update(messages).where(messages.c.id == message.id).values(**changes))
                if changes.get("status") == MessageStatus.FAILED.value and delivery.status is MessageStatus.PENDING:
                    park(outbox, message, reason="exhausted", error=delivery.error, attempts=changes["attempts"])
            await outbox.flush()
        return len(due)

    def _changes(self, message, delivery: Delivery) -> dict:
        attempts = message.attempts + 1
        now = datetime.now(UTC)
        if delivery.status is MessageStatus.SENT:
            return {"status": MessageStatus.SENT.value, "attempts": attempts, "sent_at": now, "last_error": None}
        if delivery.status is MessageStatus.PENDING and attempts < self.max_attempts:
            log.warning("delivery deferred", extra={"message_id": str(message.id), "error": delivery.error})
            delay = retry_delay(attempts, base_seconds=self.retry_base_seconds)
            return {"attempts": attempts, "last_error": delivery.error, "next_attempt_at": now + delay}
        log.error("delivery failed", extra={"message_id": str(message.id), "error": delivery.error})
        return {"status": MessageStatus.FAILED.value, "attempts": attempts, "last_error": delivery.error}


class MailDispatcher(MessageDispatcher):
    name = "mail-dispatcher"
    channel_name = "email"

    def __init__(self, *, sender: SmtpSender, mail_from: str, **options) -> None:
        super().__init__(notify_channel=CHANNEL, **options)
        self.sender = sender
        self.mail_from = mail_from

    async def deliver(self, message, session) -> Delivery:
        with continue_trace(message.traceparent, "send email", **{"messaging.template": message.template}):
            email = compose(message.template, message.context, sender=self.mail_from, recipient=message.recipient,
                            message_id=f"<{message.id}@ticketflow>")
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

    async def deliver(self, message, session) -> Delivery:
        context = message.context
        with continue_trace(message.traceparent, "send push", **{"messaging.template": message.template}):
            outcome = await self.provider.send(PushMessage(
                token=context["token"], platform=context["platform"], title=context["title"], body=context["body"],
                data=context["data"], collapse_key=context["data"].get("ticket_id")))
        if outcome.result is PushResult.INVALID_TOKEN:
            # The app was uninstalled or the token rotated: never send to it again.
            await session.execute(delete(push_devices).where(push_devices.c.platform == context["platform"],
                                                             push_devices.c.token == context["token"]))
        return push_outcome(outcome)


def park(outbox: Outbox, message, *, reason: str, error: str | None, attempts: int) -> None:
    """A message that kept failing goes to the dead-letter topic with its reason (it stays in the log too)."""
    outbox.stage_record(
        dead_letter_topic(outbox.service), str(message.id),
        {"x-dlq-reason": reason, "x-dlq-error": (error or "")[:4000], "x-dlq-consumer": outbox.service,
         "x-dlq-attempts": str(attempts), "x-dlq-failed-at": datetime.now(UTC).isoformat(),
         "x-message-channel": message.channel, "x-message-template": message.template},
        json.dumps({"message_id": str(message.id), "channel": message.channel, "template": message.template,
                    "recipient": message.recipient, "subject_id": message.subject_id, "error": error}),
    )
