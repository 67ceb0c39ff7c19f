"""Without an exporter, an HTTP request still runs in its caller's trace, so its logs and events carry it."""

import asyncio

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from ticketflow_runtime.telemetry import TraceContextMiddleware, current_traceparent

CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def request(headers: list[tuple[bytes, bytes]]) -> str | None:
    seen: list[str | None] = []

    async def app(scope, receive, send) -> None:
        seen.append(current_traceparent())

    scope = {"type": "http", "method": "POST", "headers": headers}
    asyncio.run(TraceContextMiddleware(app)(scope, None, None))
    return seen[0]


def setup_module() -> None:
    trace.set_tracer_provider(TracerProvider(sampler=ALWAYS_OFF))


def test_a_request_continues_its_callers_trace() -> None:
    traceparent = request([(b"content-type", b"application/json"), (b"traceparent", CALLER.encode())])
    assert traceparent is not None
    assert traceparent.split("-")[1] == CALLER.split("-")[1]  # the same trace
    assert traceparent.split("-")[2] != CALLER.split("-")[2]  # under a span of its own


def test_a_request_without_one_starts_a_trace_of_its_own() -> None:
    first, second = request([]), request([])
    assert first and second and first.split("-")[1] != second.split("-")[1]


def test_other_connections_pass_through() -> None:
    seen = []

    async def app(scope, receive, send) -> None:
        seen.append(scope["type"])

    asyncio.run(TraceContextMiddleware(app)({"type": "lifespan"}, None, None))
    assert seen == ["lifespan"]
