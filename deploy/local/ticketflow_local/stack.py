"""Run the five services and the console locally against the local (or configured) infrastructure.

    python -m ticketflow_local.stack run      # make run: infra, services, console, demo event; Ctrl-C stops all

The test suite starts the services through ``ServiceStack`` as well, so tests
and ``make run`` exercise the same processes.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from ticketflow_schemas.topics import SERVICES

from . import infra
from .config import CONSOLE_PORT, DEMO_STAFF, PATHS, SERVICE_PORTS, console_env, console_url, service_url, stack_env
from .processes import port_open, tail

CONSOLE = "console"


@dataclass
class ServiceStack:
    """The five services (and, once asked, the console) as child processes, each logging to
    ``.local/logs/<service>.log``."""

    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def env_for(self, service: str) -> dict[str, str]:
        if service == CONSOLE:
            return {**os.environ, **console_env(), "HTTP_HOST": "127.0.0.1", "HTTP_PORT": str(CONSOLE_PORT)}
        return {
            **os.environ,
            **stack_env(),
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(SERVICE_PORTS[service]),
            **self.extra_env,
        }

    def url_of(self, service: str) -> str:
        return console_url() if service == CONSOLE else service_url(service)

    def log_path(self, service: str) -> Path:
        return PATHS.logs / f"{service}.log"

    def start(self, services: tuple[str, ...] = SERVICES) -> None:
        PATHS.logs.mkdir(parents=True, exist_ok=True)
        for service in services:
            self.start_one(service)
        self.wait_ready(services)

    def start_console(self) -> None:
        """The console's pages, over the five services' APIs (started after them)."""
        self.start_one(CONSOLE)
        self.wait_ready((CONSOLE,))

    def start_one(self, service: str) -> None:
        port = CONSOLE_PORT if service == CONSOLE else SERVICE_PORTS[service]
        if port_open("127.0.0.1", port):
            # Another process (a stack left running?) would answer in this one's place.
            raise RuntimeError(f"port {port} for {service} is taken by another process")
        log = open(self.log_path(service), "ab")
        self.processes[service] = subprocess.Popen(
            [sys.executable, "-m", service], env=self.env_for(service), stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        log.close()

    def wait_ready(self, services: tuple[str, ...] = SERVICES, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        pending = list(services)
        while pending:
            for service in list(pending):
                process = self.processes[service]
                if process.poll() is not None:
                    raise RuntimeError(f"{service} exited with {process.returncode}:\n{tail(self.log_path(service))}")
                try:
                    if httpx.get(f"{self.url_of(service)}/readyz", timeout=2).status_code == 200:
                        pending.remove(service)
                except httpx.HTTPError:
                    pass
            if pending and time.monotonic() > deadline:
                raise RuntimeError(f"not ready after {timeout}s: {', '.join(pending)}")
            if pending:
                time.sleep(0.2)

    def stop(self, services: tuple[str, ...] | None = None, *, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        """SIGTERM: the services finish in-flight work and exit (SIGKILL after ``timeout``)."""
        names = services or tuple(self.processes)
        for name in names:
            process = self.processes.get(name)
            if process and process.poll() is None:
                process.send_signal(sig)
        for name in names:
            process = self.processes.pop(name, None)
            if process is None:
                continue
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def seed_demo_event() -> dict:
    """A demo event with two ticket types, created through the orders API."""
    starts = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=30)
    from .flow import Flow

    response = Flow().http.post(
        f"{service_url('orders')}/v1/events",
        json={
            "name": "Nordic Platform Summit",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(days=1, hours=8)).isoformat(),
            "venue": "Stockholm Waterfront",
            "currency": "SEK",
            "capacity": 2000,
            "ticket_types": [
                {"name": "Conference pass", "net_price": 490000},
                {"name": "Workshop day", "net_price": 190000, "quota": 200},
            ],
        },
        timeout=10,
    )
    response.raise_for_status()
    event = response.json()
    PATHS.run.mkdir(parents=True, exist_ok=True)
    (PATHS.run / "demo-event.json").write_text(json.dumps(event, indent=2))
    return event


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def run() -> None:
    """make run: everything up, URLs printed, Ctrl-C (or SIGTERM) stops everything cleanly."""
    started_at = time.monotonic()
    started_infra = infra.up()
    stack = ServiceStack()
    # Explicit handlers: a shell that started us in the background may have left SIGINT ignored.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        stack.start()
        stack.start_console()
        event = seed_demo_event()
        ready_after = time.monotonic() - started_at
        print("\nticketflow is running:")
        for service in SERVICES:
            print(f"  {service:<14} {service_url(service)}   (API docs: {service_url(service)}/docs)")
        print(f"\n  console        {console_url()}   sign in as "
              + " or ".join(f"{user['username']} / {user['password']}" for user in DEMO_STAFF))
        print(f"  public page    {console_url()}/events/{event['id']}")
        print(f"\n  demo event     {event['name']} ({event['id']})")
        print(f"  mail sink      {stack_env()['SMTP_MAILDIR']}")
        print(f"  logs           {PATHS.logs}")
        print(f"\nready in {ready_after:.1f}s. Run `make demo` in another terminal; Ctrl-C stops everything.",
              flush=True)
        while True:
            for service, process in stack.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{service} exited:\n{tail(stack.log_path(service))}")
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
    finally:
        stack.stop()
        infra.down(started_infra)
        print("stopped.", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="ticketflow_local.stack")
    parser.add_argument("command", choices=["run"])
    parser.parse_args()
    run()


if __name__ == "__main__":
    main()
