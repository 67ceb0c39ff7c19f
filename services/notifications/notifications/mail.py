"""Email: render a template in the recipient's language and send it over SMTP.

Templates live in ``templates/<language>/<template>.{subject,txt,html}.j2``; a
language without its own falls back to English. A message carries a text and
an HTML part, the ticket's QR code inline when there is one, and its
attachments (the invoice, the printable ticket).

A message is rendered to its bytes (``OutgoingEmail``) where it is composed, in a
renderer process: what the event loop then sends is the SMTP dialogue only. Its
parts are 7-bit clean (non-ASCII text quoted-printable, headers encoded), so any
server takes them; only an address that is not ASCII needs SMTPUTF8.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from datetime import date, datetime
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from pathlib import Path
from typing import Any, Literal

import aiosmtplib
from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, select_autoescape

from ticketflow_runtime.ticket_pdf import TicketDocument, format_day, qr_png, render_ticket_pdf

TEMPLATES = Path(__file__).parent / "templates"
LANGUAGES = ("en", "sv")
FALLBACK_LANGUAGE = "en"

SmtpSecurity = Literal["none", "starttls", "tls"]
SEVEN_BIT = policy.SMTP.clone(cte_type="7bit")  # CRLF line ends, parts encoded for any server
SEVEN_BIT_UTF8_HEADERS = policy.SMTPUTF8.clone(cte_type="7bit")  # the same, for a server taking SMTPUTF8

def money(minor: int, currency: str, language: str) -> str:
    """1234550 SEK: "SEK 12,345.50" (en), "12 345,50 SEK" (sv)."""
    whole, cents = divmod(abs(int(minor)), 100)
    sign = "-" if int(minor) < 0 else ""
    if language == "sv":
        return f"{sign}{whole:,}".replace(",", "\u00a0") + f",{cents:02d}\u00a0{currency}"
    return f"{currency} {sign}{whole:,}.{cents:02d}"


def day(value: date | str, language: str) -> str:
    """"14 March 2027" (en), "14 mars 2027" (sv)."""
    return format_day(date.fromisoformat(value) if isinstance(value, str) else value, language)


_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)
_environment.filters.update(money=money, day=day)


def _render(template: str, part: str, language: str, values: dict[str, Any]) -> str:
    try:
        found = _environment.get_template(f"{language}/{template}.{part}.j2")
    except TemplateNotFound:
        found = _environment.get_template(f"{FALLBACK_LANGUAGE}/{template}.{part}.j2")
    return found.render(values)


def compose(template: str, context: dict[str, Any], *, sender: str, recipient: str, message_id: str) -> EmailMessage:
    """A multipart message: text, HTML, the ticket's QR code inline when there is one, and attachments."""
    language = context.get("language") if context.get("language") in LANGUAGES else FALLBACK_LANGUAGE
    qr_cid = make_msgid(domain="ticketflow")
    values = {**context, "language": language, "qr_cid": qr_cid[1:-1]}
    message = EmailMessage(policy=SEVEN_BIT)
    message["Subject"] = _render(template, "subject", language, values).strip()
    message["From"] = sender
    message["To"] = recipient
    message["Message-ID"] = message_id
    message["X-Ticketflow-Template"] = template
    message.set_content(_render(template, "txt", language, values))
    message.add_alternative(_render(template, "html", language, values), subtype="html")
    if context.get("qr_payload"):
        html_part = message.get_payload()[1]
        html_part.add_related(qr_png(context["qr_payload"], scale=8), "image", "png", cid=qr_cid,
                              filename=f"ticket-{context.get('ticket_number', 'qr')}.png")
    for filename, content_type, content in _attachments(context, language):
        maintype, subtype = content_type.split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    # Last: set_content and the multipart conversions drop Content-* headers set before them.
    message["Content-Language"] = language
    return message


@dataclass(frozen=True)
class OutgoingEmail:
    """A message as the SMTP dialogue sends it: its envelope and its bytes."""

    sender: str
    recipients: tuple[str, ...]
    data: bytes
    smtputf8: bool  # an address is not ASCII: the server must take SMTPUTF8, and headers go as UTF-8


def render(template: str, context: dict[str, Any], *, sender: str, recipient: str, message_id: str) -> OutgoingEmail:
    """``compose``, flattened to the bytes the server receives."""
    message = compose(template, context, sender=sender, recipient=recipient, message_id=message_id)
    # Only the addresses: a display name beyond ASCII is encoded in the header like any other text.
    smtputf8 = not (parseaddr(sender)[1] + parseaddr(recipient)[1]).isascii()
    data = message.as_bytes(policy=SEVEN_BIT_UTF8_HEADERS if smtputf8 else SEVEN_BIT)
    return OutgoingEmail(sender=sender, recipients=(recipient,), data=data, smtputf8=smtputf8)


def ready() -> bool:
    """Sent to a new renderer process so it starts and imports this module before the first email needs it."""
    return True


def _attachments(context: dict[str, Any], language: str) -> list[tuple[str, str, bytes]]:
    found = []
    if context.get("pdf_base64"):  # the invoice, as the orders service rendered it
        found.append((context["pdf_filename"], "application/pdf", base64.b64decode(context["pdf_base64"])))
    if context.get("attach_ticket_pdf") and context.get("event_starts_at") and context.get("event_name"):
        ticket = TicketDocument(
            ticket_number=context["ticket_number"], ticket_type=context["ticket_type"],
            holder_name=context.get("name"), holder_company=context.get("company"),
            event_name=context.get("event_name") or "", event_starts_at=datetime.fromisoformat(context["event_starts_at"]),
            event_venue=context.get("event_venue"), qr_payload=context["qr_payload"], language=language)
        found.append((f"ticket-{context['ticket_number']}.pdf", "application/pdf", render_ticket_pdf(ticket)))
    return found


class SmtpSender:
    """Sends over a few SMTP connections kept open between messages: connecting (and
    TLS, and login) once per connection rather than once per message.

    A connection goes back to the pool only after a message it carried was accepted;
    after any error it is closed, so the next message starts on a fresh one. When a
    kept connection turns out closed by the server (idle too long, restarted), the
    message is sent on a new one; as with a crash, should the server have hung up
    after taking it, it arrives twice.
    """

    def __init__(self, *, host: str, port: int, security: SmtpSecurity, username: str | None,
                 password: str | None, timeout: float, connections: int = 8) -> None:
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.timeout = timeout
        self._slots = asyncio.Semaphore(connections)
        self._idle: list[aiosmtplib.SMTP] = []

    async def send(self, message: OutgoingEmail) -> None:
        """Raises aiosmtplib errors; the caller classifies them."""
        async with self._slots:
            while self._idle:
                client = self._idle.pop()
                if not client.is_connected:
                    continue
                try:
                    await self._send_on(client, message)
                    return
                except aiosmtplib.SMTPServerDisconnected:
                    pass  # closed while idle: the message goes out on a new connection
            client = self._client()
            await client.connect()
            await self._send_on(client, message)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for client in idle:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()

    async def _send_on(self, client: aiosmtplib.SMTP, message: OutgoingEmail) -> None:
        try:
            await client.sendmail(message.sender, list(message.recipients), message.data,
                                  mail_options=["SMTPUTF8"] if message.smtputf8 else [])
        except BaseException:
            client.close()
            raise
        self._idle.append(client)

    def _client(self) -> aiosmtplib.SMTP:
        return aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            use_tls=self.security == "tls",
            start_tls=True if self.security == "starttls" else False,
            username=self.username,
            password=self.password,
            timeout=self.timeout,
        )
