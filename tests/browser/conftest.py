"""Browser tests: the console's pages in headless Chromium, over the real stack.

Each journey saves screenshots to ``test-artifacts/browser/<test>/`` (git-ignored).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from ticketflow_local.browser import CHROMIUM, CHROMIUM_ARGS
from ticketflow_local.config import DEMO_STAFF, REPO_ROOT, console_url
from ticketflow_local.flow import Flow
from ticketflow_local.stack import CONSOLE, ServiceStack

ARTIFACTS = REPO_ROOT / "test-artifacts" / "browser"


@pytest.fixture(scope="session")
def console(stack: ServiceStack) -> Iterator[str]:
    stack.start_console()
    yield console_url()
    stack.stop((CONSOLE,))


@pytest.fixture(scope="session")
def chromium_context(console: str):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="ticketflow-chromium-")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, accept_downloads=True,
            base_url=console, viewport={"width": 1280, "height": 900}, locale="en-GB")
        context.set_default_timeout(15_000)
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


class Journey:
    """One visitor's tab, with numbered screenshots of the steps."""

    def __init__(self, page, folder: Path) -> None:
        self.page = page
        self.folder = folder
        self.steps = 0

    def shot(self, name: str) -> None:
        self.steps += 1
        self.page.screenshot(path=self.folder / f"{self.steps:02d}-{name}.png", full_page=True)

    def sign_in(self, username: str = "organizer") -> None:
        password = next(user["password"] for user in DEMO_STAFF if user["username"] == username)
        self.page.goto("/sign-in")
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(re.compile(r"/(\?.*)?$"))


@pytest.fixture
def journey(chromium_context, request) -> Iterator[Journey]:
    chromium_context.clear_cookies()  # every journey starts as a new visitor
    folder = ARTIFACTS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    page = chromium_context.new_page()
    yield Journey(page, folder)
    page.close()


@pytest.fixture(scope="module")
def shop(stack: ServiceStack) -> dict:
    """An event of its own per test module, so its summary starts empty."""
    client = Flow()
    event = client.create_event(name=f"Browser event {Path(tempfile.mktemp()).name}", capacity=500, price=250000)
    client.close()
    return event
