"""The hold sweeper: card orders whose checkout ended unpaid give their tickets back."""

from __future__ import annotations

from ticketflow_runtime.database import Database
from ticketflow_runtime.worker import DrainingWorker

from .usecases.payments import cancel_expired_holds


class HoldSweeper(DrainingWorker):
    name = "hold-sweeper"

    def __init__(self, database: Database, *, interval_seconds: float) -> None:
        # No channel: holds expire with time, not with a commit, so the sweeper polls on its interval.
        super().__init__(database=database, channel=None, batch_size=100, poll_seconds=interval_seconds)

    async def work_once(self) -> int:
        async with self.database.unit_of_work() as uow:
            return await cancel_expired_holds(uow, limit=self.batch_size)
