"""One statement for many concurrent callers: request coalescing in front of PostgreSQL.

A hot path whose work is one statement per request pays, per request, a round
trip, a parse-bind-execute, a transaction and (for a write) a WAL flush. When
many requests run that same statement at once, `CoalescedStatement` runs it
once for all of them: each caller's parameters become one element of array
parameters, the statement reads them with ``unnest(...) WITH ORDINALITY`` and
returns each result row with its caller's ``position``. Nothing waits to fill a
batch: a caller's statement starts at once when fewer than ``in_flight`` run,
and whoever arrives meanwhile goes with the next one. So a quiet service runs
each statement alone, and a busy one runs them in batches as large as its
concurrency.

One statement is one transaction: a batch's writes commit together or not at
all, and a statement that fails fails for every caller in its batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import asyncpg

if TYPE_CHECKING:
    from .database import Database


class CoalescedStatement:
    """``sql`` takes each parameter as an array (one element per caller) and returns a ``position``
    column: the caller's place in the batch, from 1, as ``WITH ORDINALITY`` numbers it."""

    def __init__(self, database: Database, sql: str, *, in_flight: int = 2, max_batch: int = 500) -> None:
        self.database = database
        self.sql = sql
        self.in_flight = in_flight
        self.max_batch = max_batch
        self._waiting: list[tuple[Sequence[Any], asyncio.Future]] = []
        self._running = 0
        self._drains: set[asyncio.Task] = set()

    async def fetch(self, *parameters: Any) -> list[asyncpg.Record]:
        """The rows this caller's parameters produced; raises what the batch's statement raised."""
        result = asyncio.get_running_loop().create_future()
        self._waiting.append((parameters, result))
        if self._running < self.in_flight:
            self._running += 1
            drain = asyncio.create_task(self._drain())
            self._drains.add(drain)  # a reference, so the task is not collected while it runs
            drain.add_done_callback(self._drains.discard)
        return await result

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[:self.max_batch]
                del self._waiting[:self.max_batch]
                await self._run(batch)
        finally:
            self._running -= 1

    async def _run(self, batch: list[tuple[Sequence[Any], asyncio.Future]]) -> None:
        try:
            columns = [list(column) for column in zip(*(parameters for parameters, _ in batch), strict=True)]
            async with self.database.driver_connection() as connection:
                rows = await connection.fetch(self.sql, *columns)
        except BaseException as error:
            for _, result in batch:
                if not result.done():
                    result.set_exception(error if isinstance(error, Exception) else asyncio.CancelledError())
            if not isinstance(error, Exception):
                raise
            return
        by_position: dict[int, list[asyncpg.Record]] = {}
        for row in rows:
            by_position.setdefault(row["position"], []).append(row)
        for position, (_, result) in enumerate(batch, start=1):
            if not result.done():
                result.set_result(by_position.get(position, []))
