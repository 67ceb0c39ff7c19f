"""The service's own PostgreSQL database: engine, sessions and the unit of work."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from ticketflow_schemas.envelope import Envelope

from .coalescing import CoalescedStatement
from .outbox import Outbox, notify_channel

log = logging.getLogger(__name__)


@dataclass
class UnitOfWork:
    """One database transaction: state changes and the events they cause commit together."""

    session: AsyncSession
    outbox: Outbox
    envelope: Envelope | None = field(default=None)
    """The event being handled, when the work is a Kafka handler's."""
    wake: set[str] = field(default_factory=set)
    """Channels of the workers (`DrainingWorker`) to wake once this work has committed."""


class Database:
    def __init__(self, url: str, *, service: str, pool_size: int = 32) -> None:
        self.service = service
        self.engine: AsyncEngine = create_async_engine(
            url,
            # A fixed pool: connections beyond it would be opened and closed per checkout
            # under sustained load (TLS attempt, authentication, codecs: many round trips),
            # so past the pool's size work waits for a connection instead.
            pool_size=pool_size,
            max_overflow=0,
            # No ping per checkout (a round trip on every transaction): a connection the
            # database dropped fails once, is discarded, and the work is retried.
            pool_pre_ping=False,
            pool_recycle=1800,
            connect_args={"server_settings": {"application_name": f"ticketflow-{service}"}},
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # For a read that is one statement: without a transaction (autocommit) it spares
        # the BEGIN and ROLLBACK round trips around it. Same pool, same connections.
        self.single_reads = async_sessionmaker(self.engine.execution_options(isolation_level="AUTOCOMMIT"),
                                               expire_on_commit=False)
        self._wakers: dict[str, list[Callable[[], None]]] = {}
        self._coalesced: dict[str, CoalescedStatement] = {}

    def on_wake(self, channel: str, wake: Callable[[], None]) -> None:
        """Call ``wake`` when work of this process commits rows for ``channel``'s worker.

        In-process rather than a NOTIFY in the writers' transactions: PostgreSQL commits
        notifying transactions one at a time (a global lock held through each commit's
        disk flush), which would cap a service at one commit per flush.
        """
        self._wakers.setdefault(channel, []).append(wake)

    def wake(self, channels: set[str]) -> None:
        """Rows for these channels' workers were committed (`unit_of_work` calls it after its commit)."""
        for channel in channels:
            for wake in self._wakers.get(channel, ()):
                wake()

    def outbox_committed(self) -> None:
        """Outbox rows were committed outside `unit_of_work` (a hot path's own statement): wake the relay."""
        self.wake({notify_channel(self.service)})

    @asynccontextmanager
    async def unit_of_work(self, envelope: Envelope | None = None) -> AsyncIterator[UnitOfWork]:
        """Commits when the block ends normally, rolls back when it raises."""
        async with self.sessions() as session:
            async with session.begin():
                uow = self._work(session, envelope)
                yield uow
                await uow.outbox.flush()
            self.wake(uow.wake)

    @asynccontextmanager
    async def single_statement_work(self) -> AsyncIterator[UnitOfWork]:
        """A unit of work that writes in one statement, its own transaction: no BEGIN and COMMIT
        round trips. Its events go into that statement (`Outbox.inline`); a second write would
        commit apart from the first, so work that may write twice takes `unit_of_work`."""
        async with self.single_reads() as session:
            uow = self._work(session)
            yield uow
            if uow.outbox.staged:
                raise RuntimeError("events staged in a single-statement unit of work would be written apart")
        self.wake(uow.wake)

    def _work(self, session: AsyncSession, envelope: Envelope | None = None) -> UnitOfWork:
        wake: set[str] = set()
        return UnitOfWork(session=session, outbox=Outbox(session, self.service, wake=wake), envelope=envelope,
                          wake=wake)

    @asynccontextmanager
    async def driver_connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection's own asyncpg connection, where each statement is its own transaction.

        For hot paths whose writes fit in one statement: no BEGIN and COMMIT round
        trips and no ORM layer; asyncpg prepares each statement once per connection.
        JSON goes in as text and comes out decoded, as SQLAlchemy's codecs set them up.
        """
        async with self.engine.connect() as connection:
            yield (await connection.get_raw_connection()).driver_connection

    def coalesced(self, sql: str) -> CoalescedStatement:
        """``sql``, run once for all of its concurrent callers (`coalescing`)."""
        if (statement := self._coalesced.get(sql)) is None:
            statement = self._coalesced[sql] = CoalescedStatement(self, sql)
        return statement

    async def listen(self, channel: str, on_notify: Callable[[str], None]) -> OwnConnection | None:
        """A connection of its own calling ``on_notify(payload)`` for each NOTIFY on ``channel``.

        None when it cannot connect: the caller polls instead (and may try again).
        """
        try:
            own = await self.own_connection()
            await own.connection.add_listener(
                channel, lambda _connection, _pid, _channel, payload: on_notify(payload))
        except Exception as error:
            log.warning("no NOTIFY on %s, polling instead: %r", channel, error)
            return None
        return own

    async def own_connection(self, **settings: str) -> OwnConnection:
        """A connection outside the pool, for a worker that keeps one (and what it holds) to itself;
        ``settings`` are PostgreSQL settings for its session."""
        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return OwnConnection(await asyncpg.connect(
            url, server_settings={"application_name": f"ticketflow-{self.service}", **settings}))

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


@dataclass
class OwnConnection:
    """A worker's connection outside the pool: its LISTEN, or a session lock it holds while it lives."""

    connection: Any

    @property
    def closed(self) -> bool:
        return self.connection.is_closed()

    async def close(self) -> None:
        try:
            await self.connection.close(timeout=5)
        except Exception:  # the database may already be gone at shutdown
            pass


def standalone_engine(url: str) -> AsyncEngine:
    """An engine for one-off work (migrations, tests) that keeps no connections."""
    return create_async_engine(url, poolclass=NullPool)
