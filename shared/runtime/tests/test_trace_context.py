"""Without an exporter, an HTTP request still runs in its caller's trace, so its logs and events carry it."""

import asyncio

from opentelemetry import trace

from ticketflow_runtime.telemetry import (
    ContextOnlyTracerProvider,
    TraceContextMiddleware,
    continue_trace,
    current_traceparent,
)

CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def request(headers: list[tuple[bytes, bytes]]) -> str | None:
    seen: list[str | None] = []

    async def app(scope, receive, send) -> None:
        seen.append(current_traceparent())

    scope = {"type": "http", "method": "POST", "headers": headers}
    asyncio.run(TraceContextMiddleware(app)(scope, None, None))
    return seen[0]


def setup_module() -> None:
    trace.set_tracer_provider(ContextOnlyTracerProvider())


def test_a_request_continues_its_callers_trace() -> None:
    traceparent = request([(b"content-type", b"application/json"), (b"traceparent", CALLER.encode())])
    assert traceparent is not None
    assert traceparent.split("-")[1] == CALLER.split("-")[1]  # the same trace
    assert traceparent.split("-")[2] != CALLER.split("-")[2]  # under a span of its own


def test_a_request_without_one_starts_a_trace_of_its_own() -> None:
    first, second = request([]), request([])
    assert first and second and first.split("-")[1] != second.split("-")[1]


def test_work_continues_the_trace_it_is_given_and_then_the_requests_again() -> None:
    async def app(scope, receive, send) -> None:
        seen.append(current_traceparent())
        with continue_trace(CALLER, "check in ticket", **{"ticket.id": "t-1"}):
            seen.append(current_traceparent())
        seen.append(current_traceparent())

    seen: list[str | None] = []
    scope = {"type": "http", "method": "POST", "headers": []}
    asyncio.run(TraceContextMiddleware(app)(scope, None, None))
    request_span, continued, after = seen
    assert continued.split("-")[1] == CALLER.split("-")[1]
    assert continued.split("-")[2] not in (CALLER.split("-")[2], request_span.split("-")[2])
    assert continued.endswith("-00")  # recorded nowhere, so not sampled
    assert after == request_span
    assert current_traceparent() is None  # nothing is left current once the request is done


def test_other_connections_pass_through() -> None:
    seen = []

    async def app(scope, receive, send) -> None:
        seen.append(scope["type"])

    asyncio.run(TraceContextMiddleware(app)({"type": "lifespan"}, None, None))
    assert seen == ["lifespan"]
