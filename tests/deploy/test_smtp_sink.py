"""The development SMTP sink keeps each message as it was sent, with the envelope added to its header."""

import mailbox
import smtplib
import socket
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from ticketflow_local.smtp_sink import MaildirHandler


def test_a_message_is_kept_as_sent_with_its_envelope(tmp_path) -> None:
    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(MaildirHandler(tmp_path), hostname="127.0.0.1", port=port)
    controller.start()
    sent = EmailMessage()
    sent["From"], sent["To"], sent["Subject"] = "t@example.com", "Åsa <asa@example.com>", "Din biljett"
    sent.set_content("Hej Åsa!")
    sent.add_attachment(b"%PDF-1.4 ...", maintype="application", subtype="pdf", filename="ticket.pdf")
    try:
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.send_message(sent, to_addrs=["asa@example.com", "copy@example.com"])
    finally:
        controller.stop()

    [key] = mailbox.Maildir(tmp_path).keys()
    kept = message_from_bytes(mailbox.Maildir(tmp_path).get_bytes(key), policy=policy.default)
    assert kept["X-Envelope-To"] == "asa@example.com, copy@example.com"
    assert kept["X-Envelope-From"] == "t@example.com"
    assert (kept["Subject"], kept["To"]) == ("Din biljett", "Åsa <asa@example.com>")
    text, attachment = kept.iter_parts()
    assert text.get_content().rstrip() == "Hej Åsa!" and attachment.get_content() == b"%PDF-1.4 ..."
