"""An SMTP sink for development and tests: accepts messages and keeps them in a Maildir.

    python -m ticketflow_local.smtp_sink --port 2525 --maildir .local/mail

Like a real server, it can refuse, by the recipient's address, so delivery
failures can be tested end to end:

- ``tempfail...@``: 451 (try again later) the first time the address is tried, then accepted;
- ``alwaysfail...@``: 451 every time;
- ``reject...@``: 550 (no such mailbox), a permanent failure;
- ``slow...@``: kept at once, answered only after five seconds (a client that dies
  meanwhile has delivered without knowing it).
"""

from __future__ import annotations

import argparse
import asyncio
import mailbox
import signal
from pathlib import Path

from aiosmtpd.controller import Controller


SLOW_ANSWER_SECONDS = 5.0


class MaildirHandler:
    def __init__(self, maildir: Path) -> None:
        self.deferred: set[str] = set()
        # Maildir(create=True) skips its subfolders when the folder exists already.
        for sub in ("tmp", "new", "cur"):
            (maildir / sub).mkdir(parents=True, exist_ok=True)
        self.mailbox = mailbox.Maildir(maildir, create=False)

    async def handle_RCPT(self, server, session, envelope, address: str, rcpt_options) -> str:  # noqa: N802
        local = address.split("@", 1)[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 No such mailbox here"
        if local.startswith("alwaysfail") or (local.startswith("tempfail") and address.lower() not in self.deferred):
            self.deferred.add(address.lower())
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd API)
        # Kept as received, not parsed and written anew (most of the sink's work per message), with the
        # envelope's recipients (what the server was asked to deliver to) and sender added to the header.
        raw = envelope.original_content or envelope.content
        envelope_headers = (f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
                            f"X-Envelope-From: {envelope.mail_from or ''}\r\n").encode()
        self.mailbox.add(with_header_lines(raw, envelope_headers))
        if any(rcpt.split("@", 1)[0].lower().startswith("slow") for rcpt in envelope.rcpt_tos):
            await asyncio.sleep(SLOW_ANSWER_SECONDS)
        return "250 Message accepted for delivery"


def with_header_lines(raw: bytes, lines: bytes) -> bytes:
    """The message with ``lines`` (each ending in CRLF) added at the end of its header."""
    end = raw.find(b"\r\n\r\n")
    end = end + 2 if end >= 0 else len(raw)  # after the header's last line; no body: at the end
    if end == len(raw) and not raw.endswith(b"\r\n"):
        raw, end = raw + b"\r\n", end + 2
    return raw[:end] + lines + raw[end:]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--maildir", type=Path, required=True)
    args = parser.parse_args()

    controller = Controller(MaildirHandler(args.maildir), hostname=args.host, port=args.port)
    controller.start()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        loop.run_until_complete(stop.wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
