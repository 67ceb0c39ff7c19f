"""The service chassis: one ``Service`` wires a ticketflow service the same way as the others.

    service = Service("issuance", Settings(), description=...,
                      subscriptions=handlers.subscriptions, routers=[api.router],
                      publishes=[TicketIssued])
    app = service.app        # ASGI app: the API, /livez, /readyz, /metrics

Startup: migrations, Kafka consumers, outbox relay. Shutdown (SIGTERM):
readiness drops, consumers stop and in-flight handlers finish (their offsets
commit), the relay finishes its batch, connections close, spans are flushed.
"""

from __future__ import annotations

import gc
import importlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.telemetry import TelemetryConfig
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.specification import AsyncAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Histogram, generate_latest

from ticketflow_schemas.events import Event

from .auth import document_access
from .consumers import DeadLetterPolicy, Subscriptions, register_subscriptions
from .database import Database
from .errors import install_error_handlers
from .fast_routes import FastHandler, FastRoutes
from .migrations import upgrade_async
from .outbox import PRODUCER_GUARANTEES, OutboxRelay
from .retention import INBOX, OUTBOX, RetentionPruner
from .settings import ServiceSettings
from .telemetry import HttpMiddleware, TraceContextMiddleware, configure_logging, configure_tracing
from .worker import DrainingWorker

log = logging.getLogger(__name__)

NO_BUILT_IN_TELEMETRY = TelemetryConfig(tracing=False, metrics=False, logs=False, operation_spans=False)

HTTP_LATENCY = Histogram(
    "ticketflow_http_request_duration_seconds", "HTTP request latency", ["method", "route", "status"]
)


class Service:
    def __init__(
        self,
        name: str,
        settings: ServiceSettings,
        *,
        description: str,
        subscriptions: Subscriptions | None = None,
        routers: Sequence[APIRouter] = (),
        fast_routes: Mapping[tuple[str, str], FastHandler] | None = None,
        publishes: Sequence[type[Event]] = (),
        version: str = "0.1.0",
    ) -> None:
        self.name = name
        self.settings = settings
        # Every service keeps its tables in <name>/store/tables.py and its
        # Alembic migrations beside them (the shape all five share).
        tables = importlib.import_module(f"{name}.store.tables")
        self.migrations_dir = Path(tables.__file__).parent / "migrations"
        self.ready = False
        # Service-specific collaborators the routes reach through ServiceDep (e.g. a payment gateway).
        self.extras: dict[str, Any] = {}

        configure_logging(name, settings.log_level)
        self.tracer_provider = configure_tracing(
            settings.otel_service_name or name, otlp_endpoint=settings.otel_exporter_otlp_endpoint
        )

        self.database = Database(settings.database_url, service=name, pool_size=settings.database_pool_size)
        if settings.otel_exporter_otlp_endpoint:
            # A span per SQL statement costs a tenth of a busy service's CPU: only when they go somewhere.
            SQLAlchemyInstrumentor().instrument(
                engine=self.database.engine.sync_engine, tracer_provider=self.tracer_provider
            )

        self.dead_letters = DeadLetterPolicy(
            name,
            max_attempts=settings.handler_max_attempts,
            backoff=settings.handler_retry_backoff_seconds,
            backoff_max=settings.handler_retry_backoff_max_seconds,
        )
        self.broker = KafkaBroker(
            settings.kafka_bootstrap_servers,
            client_id=f"ticketflow-{name}",
            **PRODUCER_GUARANTEES,
            request_timeout_ms=settings.kafka_request_timeout_ms,
            graceful_timeout=settings.graceful_timeout_seconds,
            middlewares=(
                KafkaTelemetryMiddleware(tracer_provider=self.tracer_provider),
                KafkaPrometheusMiddleware(registry=REGISTRY, app_name=name),
                self.dead_letters,
            ),
            logger=logging.getLogger(f"{name}.kafka"),
            description=description,
        )
        self.dead_letters.broker = self.broker
        if subscriptions is not None:
            register_subscriptions(self.broker, self.database, name, subscriptions, self.dead_letters,
                                   batch_size=settings.consumer_batch_size, poll_ms=settings.consumer_poll_ms)
        for model in publishes:
            # Publishing goes through the outbox relay; these declarations document it.
            self.broker.publisher(model.topic, title=f"{name}:{model.topic}", schema=model,
                                  description=model.__doc__)

        self.relay = OutboxRelay(
            service=name,
            database=self.database,
            bootstrap_servers=settings.kafka_bootstrap_servers,
            request_timeout_ms=settings.kafka_request_timeout_ms,
            batch_size=settings.outbox_batch_size,
            poll_seconds=settings.outbox_poll_seconds,
            publish_timeout=settings.kafka_request_timeout_ms / 1000 + 10,
        )
        self.workers: list[DrainingWorker] = [
            self.relay,
            RetentionPruner(self.database, INBOX, retention=timedelta(hours=settings.inbox_retention_hours)),
            RetentionPruner(self.database, OUTBOX, retention=timedelta(hours=settings.outbox_retention_hours)),
        ]
        self.asyncapi = AsyncAPI(self.broker, title=f"ticketflow {name}", version=version, description=description)
        self.app = self._build_app(routers, fast_routes or {}, description, version)

    def add_worker(self, worker: DrainingWorker) -> None:
        """A background worker started after the broker and stopped before it."""
        self.workers.append(worker)

    # -- HTTP

    def _build_app(self, routers: Sequence[APIRouter], fast_routes: Mapping[tuple[str, str], FastHandler],
                   description: str, version: str) -> FastAPI:
        # The service's own telemetry (below) traces and measures each request once: FastAPI's built-in
        # spans, metrics and logs would record every request, dependency and serialisation a second time.
        app = FastAPI(title=f"ticketflow {self.name}", description=description, version=version,
                      lifespan=self._lifespan, telemetry=NO_BUILT_IN_TELEMETRY)
        app.state.service = self
        install_error_handlers(app)
        default_openapi = app.openapi

        def openapi() -> dict:
            # FastAPI's document (cached until routes change), with the routes' access rules written in.
            document = default_openapi()
            if "securitySchemes" not in document.get("components", {}):
                document_access(app, document)
            return document

        app.openapi = openapi
        app.include_router(self._health_router())
        for router in routers:
            app.include_router(router)

        if fast_routes:
            app.add_middleware(FastRoutes, service=self, routes=fast_routes)
        app.add_middleware(_LatencyMetrics)
        if self.settings.otel_exporter_otlp_endpoint:
            FastAPIInstrumentor.instrument_app(
                app, tracer_provider=self.tracer_provider, excluded_urls="livez,readyz,metrics",
                # One server span per request; the per-message receive/send spans cost more than they tell.
                exclude_spans=["receive", "send"],
            )
        else:
            app.add_middleware(TraceContextMiddleware)
        return app

    def _health_router(self) -> APIRouter:
        router = APIRouter(tags=["operations"])

        @router.get("/livez", summary="Liveness: the process is serving")
        async def livez() -> dict[str, str]:
            return {"status": "ok"}

        @router.get("/readyz", summary="Readiness: started, and Kafka and the database answer")
        async def readyz() -> JSONResponse:
            checks = await self.readiness()
            ok = all(value == "ok" for value in checks.values())
            return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks},
                                status_code=200 if ok else 503)

        @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
        async def metrics() -> Response:
            return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

        return router

    async def readiness(self) -> dict[str, str]:
        checks = {"started": "ok" if self.ready else "starting"}
        try:
            await self.database.ping()
            checks["database"] = "ok"
        except Exception as error:
            checks["database"] = f"failing: {type(error).__name__}"
        try:
            checks["kafka"] = "ok" if await self.broker.ping(timeout=2.0) else "failing: no answer"
        except Exception as error:
            checks["kafka"] = f"failing: {type(error).__name__}"
        return checks

    # -- lifecycle

    @asynccontextmanager
    async def _lifespan(self, _: FastAPI) -> AsyncIterator[None]:
        if self.settings.run_migrations:
            await upgrade_async(self.migrations_dir, self.settings.database_url)
        await self.broker.start()
        for worker in self.workers:
            await worker.start()
        self.ready = True
        # What start-up made (modules, routes, schemas: most of the process's objects) lives
        # as long as the process: out of the collector's sight, a full collection is short.
        gc.freeze()
        log.info("service started", extra={"port": self.settings.http_port})
        try:
            yield
        finally:
            self.ready = False
            log.info("service stopping: finishing in-flight work")
            for worker in reversed(self.workers):
                await worker.stop()
            await self.broker.stop()
            await self.database.dispose()
            self.tracer_provider.shutdown()
            log.info("service stopped")


class _LatencyMetrics(HttpMiddleware):
    """Request latency by route template."""

    async def handle(self, scope: dict, receive: Callable, send: Callable) -> None:
        started = time.perf_counter()
        status = [500]

        async def send_and_capture(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_capture)
        finally:
            route = scope.get("route")
            HTTP_LATENCY.labels(scope["method"], getattr(route, "path", "unmatched"), status[0]).observe(
                time.perf_counter() - started)


# async: FastAPI runs a plain function dependency in a worker thread, a thread hop per request.
async def current_service(request: Request) -> Service:
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(current_service)]
