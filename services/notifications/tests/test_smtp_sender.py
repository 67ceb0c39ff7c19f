"""The SMTP sender keeps its connections open between messages and recovers when one fails or is closed."""

import asyncio
import socket

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller

from notifications.mail import OutgoingEmail, SmtpSender


class Recorder:
    def __init__(self) -> None:
        self.delivered: list[tuple[str, tuple]] = []  # (subject, the client's address and port)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd API)
        if address.startswith("reject"):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        subject = next(line for line in envelope.content.decode().splitlines() if line.startswith("Subject:"))
        self.delivered.append((subject.removeprefix("Subject: "), session.peer))
        return "250 Message accepted for delivery"


@pytest.fixture
def server():
    recorder = Recorder()
    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    yield recorder, controller
    controller.stop()


def message(subject: str, recipient: str = "ines@example.com") -> OutgoingEmail:
    data = f"From: t@example.com\r\nTo: {recipient}\r\nSubject: {subject}\r\n\r\nhello\r\n".encode()
    return OutgoingEmail(sender="t@example.com", recipients=(recipient,), data=data, smtputf8=False)


def sender_for(controller: Controller, connections: int) -> SmtpSender:
    return SmtpSender(host="127.0.0.1", port=controller.port, security="none",
                      username=None, password=None, timeout=5, connections=connections)


def test_messages_share_a_few_connections(server) -> None:
    recorder, controller = server
    sender = sender_for(controller, connections=2)

    async def send_all() -> None:
        await asyncio.gather(*(sender.send(message(f"m{n}")) for n in range(10)))
        await sender.close()

    asyncio.run(send_all())
    assert sorted(subject for subject, _ in recorder.delivered) == sorted(f"m{n}" for n in range(10))
    assert len({peer for _, peer in recorder.delivered}) <= 2


def test_a_refusal_is_raised_and_the_next_message_still_goes(server) -> None:
    recorder, controller = server
    sender = sender_for(controller, connections=1)

    async def send() -> None:
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
            await sender.send(message("refused", "reject@example.com"))
        assert refused.value.recipients[0].code == 550
        await sender.send(message("after"))
        await sender.close()

    asyncio.run(send())
    assert [subject for subject, _ in recorder.delivered] == ["after"]


def test_a_connection_the_server_closed_is_replaced(server) -> None:
    recorder, controller = server
    sender = sender_for(controller, connections=1)

    async def send() -> None:
        await sender.send(message("first"))
        for client in sender._idle:  # as a server does to connections idle too long
            client.transport.abort()
        await sender.send(message("second"))
        await sender.close()

    asyncio.run(send())
    assert [subject for subject, _ in recorder.delivered] == ["first", "second"]
    assert recorder.delivered[0][1] != recorder.delivered[1][1], "on a new connection"
