"""Telemetry: JSON logs, OpenTelemetry tracing and the trace of one order.

Spans cover HTTP requests (FastAPI instrumentation), Kafka publish and consume
(FastStream's middleware, W3C ``traceparent`` header) and database calls
(SQLAlchemy instrumentation). They are exported over OTLP/HTTP when
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set. Without it, an HTTP request only takes up
its caller's trace context (``TraceContextMiddleware``), for the logs and the
events it causes: the full instrumentation would name and describe spans that
nobody reads, a fifth of a busy service's CPU. Nor is the SDK's tracer used
then: even sampling everything out, it cost a gate's scan 25 µs for its two
spans, where `ContextOnlyTracerProvider` costs 3.

An order's path crosses HTTP calls made later by people (assigning a ticket,
scanning it). ``continue_trace`` parents that work on the trace the ticket came
from, linking the request's own span, so one order is one trace from creation
to check-in.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from pythonjsonlogger.json import JsonFormatter


class _TraceContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.__dict__.pop("color_message", None)  # uvicorn's ANSI-coloured duplicate of the message
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            record.trace_id = format(span.trace_id, "032x")
            record.span_id = format(span.span_id, "016x")
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    """One JSON object per line on stdout, with the service and trace ids."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            timestamp=False,
        )
    )
    handler.addFilter(_TraceContextFilter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "faststream", "aiokafka"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("aiokafka").setLevel(logging.WARNING)


def configure_tracing(service: str, *, otlp_endpoint: str | None) -> TracerProvider | ContextOnlyTracerProvider:
    # Without an exporter spans are not recorded (nothing would read them), but
    # trace context still propagates through HTTP, Kafka and stored traceparents.
    provider: TracerProvider | ContextOnlyTracerProvider
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider = TracerProvider(
            resource=Resource.create({"service.name": service, "service.namespace": "ticketflow"}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        provider = ContextOnlyTracerProvider()
    trace.set_tracer_provider(provider)
    return provider


class ContextOnlyTracerProvider(trace.TracerProvider):
    """Tracers whose spans carry trace context and record nothing, as the SDK's spans sampled out do:
    a span continues its parent's trace (or starts one) under a span id of its own, not sampled."""

    def get_tracer(self, *args: object, **kwargs: object) -> trace.Tracer:
        return _CONTEXT_ONLY_TRACER

    def shutdown(self) -> None:
        pass


class _ContextOnlyTracer(trace.Tracer):
    _ids = RandomIdGenerator()

    def start_span(self, name: str, context: otel_context.Context | None = None, *args: object,
                   **kwargs: object) -> trace.Span:
        parent = trace.get_current_span(context).get_span_context()
        trace_id = parent.trace_id if parent.is_valid else self._ids.generate_trace_id()
        return trace.NonRecordingSpan(trace.SpanContext(trace_id, self._ids.generate_span_id(), is_remote=False,
                                                        trace_state=parent.trace_state))

    def start_as_current_span(self, name: str, context: otel_context.Context | None = None, *args: object,
                              **kwargs: object) -> _CurrentSpan:
        return _CurrentSpan(self.start_span(name, context))


class _CurrentSpan:
    """``with``: the span is the current one (a class, not a generator: entered once per request)."""

    __slots__ = ("span", "token")

    def __init__(self, span: trace.Span) -> None:
        self.span = span

    def __enter__(self) -> trace.Span:
        self.token = otel_context.attach(trace.set_span_in_context(self.span))
        return self.span

    def __exit__(self, *exc_info: object) -> None:
        otel_context.detach(self.token)


_CONTEXT_ONLY_TRACER = _ContextOnlyTracer()


@functools.cache
def tracer() -> trace.Tracer:
    # Once per process: get_tracer makes a new tracer at every call, and a request may start several spans.
    return trace.get_tracer("ticketflow")


class HttpMiddleware:
    """Plain ASGI middleware (no per-request task or body buffering): ``handle`` sees each HTTP request,
    anything else (lifespan, websockets) passes through."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: dict, receive: Callable, send: Callable) -> None:
        raise NotImplementedError


_NO_PARENT = otel_context.Context()


class TraceContextMiddleware(HttpMiddleware):
    """Each HTTP request runs in a server span of the trace its ``traceparent`` header names (a new
    trace without one), so its log lines and the events it publishes carry that trace."""

    CONTEXT_HEADERS = (b"traceparent", b"tracestate")

    async def handle(self, scope: dict, receive: Callable, send: Callable) -> None:
        carrier = {name.decode("latin-1"): value.decode("latin-1")
                   for name, value in scope["headers"] if name in self.CONTEXT_HEADERS}
        # Without a caller's context, a trace of its own (extracting nothing gives the same, slower).
        parent = extract(carrier) if carrier else _NO_PARENT
        with tracer().start_as_current_span(f"{scope['method']} request", context=parent,
                                            kind=trace.SpanKind.SERVER):
            await self.app(scope, receive, send)


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, to store beside an entity."""
    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier.get("traceparent")


@contextmanager
def continue_trace(traceparent: str | None, name: str, **attributes: str) -> Iterator[trace.Span]:
    """Run work as part of the trace ``traceparent`` belongs to, linked to the current span."""
    current = trace.get_current_span().get_span_context()
    links = [trace.Link(current)] if current.is_valid else []
    parent = extract({"traceparent": traceparent}) if traceparent else None
    with tracer().start_as_current_span(name, context=parent, links=links, attributes=attributes) as span:
        yield span
