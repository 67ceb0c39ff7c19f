"""The service's own PostgreSQL database: engine, sessions and the unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from ticketflow_schemas.envelope import Envelope

from .outbox import Outbox


@dataclass
class UnitOfWork:
    """One database transaction: state changes and the events they cause commit together."""

    session: AsyncSession
    outbox: Outbox
    envelope: Envelope | None = field(default=None)
    """The event being handled, when the work is a Kafka handler's."""


class Database:
    def __init__(self, url: str, *, service: str, pool_size: int = 10) -> None:
        self.service = service
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            # No ping per checkout (a round trip on every transaction): a connection the
            # database dropped fails once, is discarded, and the work is retried.
            pool_pre_ping=False,
            pool_recycle=1800,
            connect_args={"server_settings": {"application_name": f"ticketflow-{service}"}},
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def unit_of_work(self, envelope: Envelope | None = None) -> AsyncIterator[UnitOfWork]:
        """Commits when the block ends normally, rolls back when it raises."""
        async with self.sessions() as session, session.begin():
            uow = UnitOfWork(session=session, outbox=Outbox(session, self.service), envelope=envelope)
            yield uow
            await uow.outbox.flush()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def standalone_engine(url: str) -> AsyncEngine:
    """An engine for one-off work (migrations, tests) that keeps no connections."""
    return create_async_engine(url, poolclass=NullPool)
