"""The mail dispatcher: delivers pending messages from the log, with retries.

Handlers only write the message log (in their inbox transaction); this worker
sends. A crash between the SMTP server's 250 and the commit can resend one
message; nothing is ever lost.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import aiosmtplib
from sqlalchemy import select, update

from ticketflow_runtime.database import Database
from ticketflow_runtime.telemetry import continue_trace
from ticketflow_runtime.worker import DrainingWorker

from .domain import Delivery, MessageStatus, retry_delay, smtp_outcome
from .mail import SmtpSender, compose
from .store.tables import messages

log = logging.getLogger(__name__)

CHANNEL = "notifications_messages"


class MailDispatcher(DrainingWorker):
    name = "mail-dispatcher"

    def __init__(self, *, database: Database, sender: SmtpSender, mail_from: str, batch_size: int,
                 poll_seconds: float, max_attempts: int) -> None:
        super().__init__(database=database, channel=CHANNEL, batch_size=batch_size, poll_seconds=poll_seconds)
        self.sender = sender
        self.mail_from = mail_from
        self.max_attempts = max_attempts

    async def work_once(self) -> int:
        async with self.database.sessions() as session, session.begin():
            due = (
                await session.execute(
                    select(messages)
                    .where(messages.c.status == MessageStatus.PENDING.value, messages.c.next_attempt_at <= datetime.now(UTC))
                    .order_by(messages.c.next_attempt_at)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for message in due:
                delivery = await self._deliver(message)
                await session.execute(update(messages).where(messages.c.id == message.id).values(**self._changes(message, delivery)))
        return len(due)

    async def _deliver(self, message) -> Delivery:
        with continue_trace(message.traceparent, "send email", **{"messaging.template": message.template}):
            email = compose(message.template, message.context, sender=self.mail_from, recipient=message.recipient,
                            message_id=f"<{message.id}@ticketflow>")
            try:
                await self.sender.send(email)
            except aiosmtplib.SMTPResponseException as error:
                return smtp_outcome(error.code, error.message)
            except (aiosmtplib.SMTPException, OSError) as error:
                return smtp_outcome(None, repr(error))
        return Delivery(MessageStatus.SENT)

    def _changes(self, message, delivery: Delivery) -> dict:
        attempts = message.attempts + 1
        now = datetime.now(UTC)
        if delivery.status is MessageStatus.SENT:
            return {"status": MessageStatus.SENT.value, "attempts": attempts, "sent_at": now, "last_error": None}
        if delivery.status is MessageStatus.PENDING and attempts < self.max_attempts:
            log.warning("email delivery deferred", extra={"message_id": str(message.id), "error": delivery.error})
            return {"attempts": attempts, "last_error": delivery.error, "next_attempt_at": now + retry_delay(attempts)}
        log.error("email delivery failed", extra={"message_id": str(message.id), "error": delivery.error})
        return {"status": MessageStatus.FAILED.value, "attempts": attempts, "last_error": delivery.error}
