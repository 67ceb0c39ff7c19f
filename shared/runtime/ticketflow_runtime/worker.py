"""Background workers that drain a table: woken when rows arrive, polling as a fallback.

The outbox relay and the mail dispatcher are both such workers: a row is
committed, the worker is woken (``wake`` in the same process, PostgreSQL
NOTIFY from another), it works in batches until the table is drained, and
backs off while its downstream (Kafka, SMTP) fails. A worker without a
``channel`` is woken only by ``wake`` and its polling (the gate directory
follows ticket changes so).
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .database import Database

log = logging.getLogger(__name__)


class DrainingWorker(ABC):
    name: str = "worker"

    def __init__(self, *, database: Database, channel: str | None, batch_size: int, poll_seconds: float,
                 max_backoff: float = 10.0, gather_seconds: float = 0.0) -> None:
        self.database = database
        self.gather_seconds = gather_seconds
        self.channel = channel
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.max_backoff = max_backoff
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._listener = None

    @abstractmethod
    async def work_once(self) -> int:
        """Process one batch; return how many rows it handled."""

    def wake(self) -> None:
        """Rows were committed for this worker: drain them now rather than at the next poll."""
        self._wakeup.set()

    def failed(self, error: Exception) -> None:
        """Hook for metrics when a batch fails."""

    async def start(self) -> None:
        if self.channel is not None:
            self.database.on_wake(self.channel, self.wake)
            await self._listen()
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Let the batch in flight finish, then stop."""
        self._stopping.set()
        self._wakeup.set()
        if self._task is not None:
            await self._task
        if self._listener is not None:
            await self._listener.close()

    async def _listen(self) -> None:
        # Without notifications, polling still works.
        self._listener = await self.database.listen(self.channel, lambda _payload: self._wakeup.set())

    async def _run(self) -> None:
        backoff = self.poll_seconds
        while not self._stopping.is_set():
            try:
                done = await self.work_once()
                backoff = self.poll_seconds
            except Exception as error:
                self.failed(error)
                log.warning("%s failed, retrying in %.1fs: %r", self.name, backoff, error)
                await self._sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                if self.channel is not None and (self._listener is None or self._listener.closed):
                    await self._listen()
                continue
            if done < self.batch_size:
                await self._sleep(self.poll_seconds)

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._wakeup.wait(), timeout=seconds)
        except TimeoutError:
            pass
        else:
            if self.gather_seconds and not self._stopping.is_set():
                # Woken by one commit: under load more follow at once, and one batch takes them all.
                await asyncio.sleep(self.gather_seconds)
        self._wakeup.clear()
