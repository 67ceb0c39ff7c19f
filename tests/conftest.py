"""Fixtures shared by the cross-service tests.

The infrastructure (Kafka, PostgreSQL, SMTP sink) is started by ``make test``
before pytest runs; ``stack`` starts the five services as real processes
against it, exporting their spans to an in-test OTLP receiver.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "e2e"))

from support.otlp import OtlpCollector  # noqa: E402
from ticketflow_local.config import stack_env  # noqa: E402
from ticketflow_local.flow import STAFF_SCOPES, Flow  # noqa: E402
from ticketflow_runtime.auth import mint_token  # noqa: E402
from ticketflow_local.stack import ServiceStack  # noqa: E402


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that need the running services are marked ``stack`` (make test runs them in phase 2)."""
    for item in items:
        if "stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.stack)


@pytest.fixture(scope="session")
def otlp() -> OtlpCollector:
    collector = OtlpCollector().start()
    yield collector
    collector.stop()


@pytest.fixture(scope="session")
def stack(otlp: OtlpCollector) -> ServiceStack:
    services = ServiceStack(
        extra_env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            # Bursts of concurrent orders make many database spans: keep every one.
            "OTEL_BSP_MAX_QUEUE_SIZE": "100000",
            # Fail fast in tests: three attempts, short backoff, then the dead-letter topic.
            "HANDLER_MAX_ATTEMPTS": "3",
            "HANDLER_RETRY_BACKOFF_SECONDS": "0.05",
            # The tests place bursts of public orders from one address; the access sweep outruns this.
            "PUBLIC_RATE_LIMIT": "100/second",
            "HOLD_SWEEP_SECONDS": "1",
            # Mail retries in a fraction of a second, three attempts before the dead-letter topic.
            "MAIL_RETRY_BASE_SECONDS": "0.2",
            "MAIL_MAX_ATTEMPTS": "3",
            # An attempt cut short by a killed process is taken back after three seconds.
            "DELIVERY_LEASE_SECONDS": "3",
        }
    )
    services.start()
    yield services
    services.stop()


@pytest.fixture
def flow(stack: ServiceStack) -> Flow:
    client = Flow()
    yield client
    client.close()


@pytest.fixture(scope="session")
def event(stack: ServiceStack) -> dict:
    client = Flow()
    created = client.create_event(name="End-to-end test event", capacity=100_000)
    client.close()
    return created


@pytest.fixture(scope="session")
def staff_token() -> str:
    """A staff token holding every scope, as the platform would issue one."""
    return mint_token(stack_env()["AUTH_JWT_SECRET"], "sweep", STAFF_SCOPES, ttl_seconds=3600)
