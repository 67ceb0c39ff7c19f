"""Email: render a template in the recipient's language and send it over SMTP."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any, Literal

import aiosmtplib
import segno
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).parent / "templates"

_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)

SmtpSecurity = Literal["none", "starttls", "tls"]


def qr_png(payload: str, *, scale: int = 8) -> bytes:
    """A QR code image of the payload, large enough to scan from a phone screen."""
    import io

    buffer = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def compose(template: str, context: dict[str, Any], *, sender: str, recipient: str, message_id: str) -> EmailMessage:
    """A multipart message: text, HTML, and the ticket's QR code inline when there is one."""
    qr_cid = make_msgid(domain="ticketflow")
    values = {**context, "qr_cid": qr_cid[1:-1]}
    message = EmailMessage()
    message["Subject"] = _environment.get_template(f"{template}.subject.j2").render(values).strip()
    message["From"] = sender
    message["To"] = recipient
    message["Message-ID"] = message_id
    message["X-Ticketflow-Template"] = template
    message.set_content(_environment.get_template(f"{template}.txt.j2").render(values))
    message.add_alternative(_environment.get_template(f"{template}.html.j2").render(values), subtype="html")
    if context.get("qr_payload"):
        html_part = message.get_payload()[1]
        html_part.add_related(qr_png(context["qr_payload"]), "image", "png", cid=qr_cid,
                              filename=f"ticket-{context.get('ticket_number', 'qr')}.png")
    return message


class SmtpSender:
    def __init__(self, *, host: str, port: int, security: SmtpSecurity, username: str | None,
                 password: str | None, timeout: float) -> None:
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.timeout = timeout

    async def send(self, message: EmailMessage) -> None:
        """Raises aiosmtplib errors; the caller classifies them."""
        await aiosmtplib.send(
            message,
            hostname=self.host,
            port=self.port,
            use_tls=self.security == "tls",
            start_tls=True if self.security == "starttls" else False,
            username=self.username,
            password=self.password,
            timeout=self.timeout,
        )
