"""The live stream of a person's ticket updates: one LISTEN connection wakes every open stream.

Handlers write ``person_updates`` and NOTIFY with the person's id at commit; the
hub wakes only that person's streams, which then read what they have not sent
yet. A stream resumes from ``Last-Event-ID``: the ids are the table's.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator

from sqlalchemy import func, select

from ticketflow_runtime.database import Database

from .store.tables import person_updates
from .usecases import UPDATES_CHANNEL

KEEPALIVE_SECONDS = 15.0
BATCH = 100


class UpdatesHub:
    name = "person-updates"

    def __init__(self, database: Database) -> None:
        self.database = database
        self._waiters: dict[uuid.UUID, set[asyncio.Event]] = defaultdict(set)
        self._listener = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        # Without notifications, streams still look at every keep-alive.
        self._listener = await self.database.listen(UPDATES_CHANNEL, self._notified)

    async def stop(self) -> None:
        self._stopping.set()
        for events in self._waiters.values():
            for event in events:
                event.set()
        if self._listener is not None:
            await self._listener.close()

    def _notified(self, payload: str) -> None:
        try:
            person_id = uuid.UUID(payload)
        except ValueError:
            return
        for event in self._waiters.get(person_id, ()):
            event.set()

    async def latest(self, person_id: uuid.UUID) -> int:
        async with self.database.sessions() as session:
            return await session.scalar(
                select(func.coalesce(func.max(person_updates.c.id), 0)).where(person_updates.c.person_id == person_id))

    async def stream(self, person_id: uuid.UUID, after: int, disconnected) -> AsyncIterator[str]:
        """Server-Sent Events: every update after ``after``, then each one as it comes, with keep-alives."""
        woken = asyncio.Event()
        self._waiters[person_id].add(woken)
        try:
            yield "retry: 3000\n\n"
            while not self._stopping.is_set():
                woken.clear()
                async with self.database.sessions() as session:
                    rows = (await session.execute(
                        select(person_updates).where(person_updates.c.person_id == person_id,
                                                     person_updates.c.id > after)
                        .order_by(person_updates.c.id).limit(BATCH))).all()
                for row in rows:
                    after = row.id
                    payload = {"ticket_id": str(row.ticket_id), "at": row.at.isoformat(), **row.data}
                    yield f"id: {row.id}\nevent: {row.kind}\ndata: {json.dumps(payload)}\n\n"
                if len(rows) == BATCH:
                    continue
                try:
                    await asyncio.wait_for(woken.wait(), timeout=KEEPALIVE_SECONDS)
                except TimeoutError:
                    if await disconnected():
                        return
                    yield ": keep-alive\n\n"
        finally:
            self._waiters[person_id].discard(woken)
            if not self._waiters[person_id]:
                del self._waiters[person_id]
