"""Every service runs the chassis' own workers: its outbox relay and the pruners of its inbox and outbox."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest

from ticketflow_runtime.outbox import OutboxRelay
from ticketflow_runtime.retention import RetentionPruner


@pytest.mark.parametrize("name", ["orders", "issuance", "assignment", "checkin", "notifications"])
def test_every_service_prunes_its_inbox_and_outbox_after_the_configured_retentions(name: str, monkeypatch) -> None:
    monkeypatch.setenv(f"{name.upper()}_DATABASE_URL", "postgresql+asyncpg://ticketflow@127.0.0.1:1/none")
    monkeypatch.setenv("INBOX_RETENTION_HOURS", "400")
    monkeypatch.setenv("OUTBOX_RETENTION_HOURS", "50")
    app = importlib.import_module(f"{name}.app")

    service = app.create_service()

    pruners = {worker.retained.table: worker for worker in service.workers if isinstance(worker, RetentionPruner)}
    assert {table: pruner.retention for table, pruner in pruners.items()} == {
        "inbox": timedelta(hours=400), "outbox": timedelta(hours=50)}
    assert all(pruner.channel is None for pruner in pruners.values()), "nothing notifies them: they poll"
    assert sum(isinstance(worker, OutboxRelay) for worker in service.workers) == 1
