"""Emails rendered in processes of their own; one that dies is replaced, and they end with the service."""

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures.process import BrokenProcessPool
from email import message_from_bytes, policy
from pathlib import Path
from types import SimpleNamespace

import pytest

from notifications.dispatcher import MailDispatcher
from notifications.mail import render

TICKET = {"name": "Łukasz Żółć", "language": "sv", "ticket_number": "TF-AAAA-BBBB", "ticket_type": "Pass",
          "event_id": "e", "event_name": "Nordic Summit", "event_starts_at": "2027-05-01T09:00:00+02:00",
          "event_venue": "Stockholm", "qr_payload": "AQ-test-payload_123", "attach_ticket_pdf": True}


def dispatcher(render_processes: int) -> MailDispatcher:
    return MailDispatcher(sender=None, mail_from="t@example.com", render_processes=render_processes, database=None,
                          batch_size=10, poll_seconds=1, max_attempts=3, retry_base_seconds=1, lease_seconds=60)


def pending(template: str = "your_ticket") -> SimpleNamespace:
    return SimpleNamespace(id=uuid.uuid4(), template=template, context=TICKET, recipient="lukasz@example.com")


@pytest.mark.parametrize("render_processes", [0, 1])
def test_an_email_comes_out_the_same_from_a_thread_or_a_process(render_processes: int) -> None:
    mail = dispatcher(render_processes)
    mail._renderer = mail._new_renderer()
    try:
        email = asyncio.run(mail.render(pending()))
    finally:
        if mail._renderer:
            mail._renderer.shutdown()
    message = message_from_bytes(email.data, policy=policy.default)
    kinds = [part.get_content_type() for part in message.walk()]
    assert message["To"] == "lukasz@example.com" and {"image/png", "application/pdf"} <= set(kinds)
    assert email.sender == "t@example.com" and email.recipients == ("lukasz@example.com",)


def test_a_rendered_email_is_seven_bit_clean_and_reads_back_as_written() -> None:
    email = render("your_ticket", TICKET, sender="t@example.com", recipient="lukasz@example.com",
                   message_id="<1@ticketflow>")
    assert email.data.isascii() and not email.smtputf8 and b"\r\n" in email.data
    message = message_from_bytes(email.data, policy=policy.default)
    text = next(part for part in message.walk() if part.get_content_type() == "text/plain").get_content()
    assert "Łukasz Żółć" in text
    # Only an address beyond ASCII needs the server's SMTPUTF8, not a display name.
    assert render("your_ticket", TICKET, sender="t@example.com", recipient="łukasz@example.com",
                  message_id="<2@ticketflow>").smtputf8
    named = render("your_ticket", TICKET, sender="Biljettkontoret Åre <t@example.com>", recipient="lukasz@example.com",
                   message_id="<3@ticketflow>")
    assert not named.smtputf8 and named.data.isascii()
    assert message_from_bytes(named.data, policy=policy.default)["From"].addresses[0].display_name == "Biljettkontoret Åre"


def test_a_renderer_process_that_dies_is_replaced() -> None:
    mail = dispatcher(1)
    mail._renderer = broken = mail._new_renderer()

    async def kill_then_render():
        await mail.render(pending())  # the worker process is up
        for pid in list(broken._processes):
            os.kill(pid, signal.SIGKILL)
        with pytest.raises(BrokenProcessPool):
            await mail.render(pending())
        return await mail.render(pending())

    try:
        assert asyncio.run(kill_then_render()).recipients == ("lukasz@example.com",)
        assert mail._renderer is not broken
    finally:
        mail._renderer.shutdown()


def test_renderer_processes_end_when_the_service_is_killed(tmp_path) -> None:
    script = tmp_path / "service.py"
    script.write_text(
        "import os, time\n"
        "from notifications.dispatcher import MailDispatcher\n"
        "if __name__ == '__main__':\n"
        "    mail = MailDispatcher(sender=None, mail_from='t@example.com', render_processes=2, database=None,\n"
        "                          batch_size=1, poll_seconds=1, max_attempts=1, retry_base_seconds=1, lease_seconds=1)\n"
        "    renderer = mail._new_renderer()\n"
        "    [future.result() for future in [renderer.submit(os.getpid) for _ in range(2)]]\n"
        "    print(*renderer._processes, flush=True)\n"
        "    time.sleep(60)\n")
    service = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    workers = [int(pid) for pid in service.stdout.readline().split()]
    assert workers
    service.kill()
    service.wait()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(pid) for pid in workers)


def alive(pid: int) -> bool:
    try:  # a process that ended but was not waited for yet (a zombie) counts as ended
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
