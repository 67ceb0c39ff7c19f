"""Every service runs the chassis' own workers: its outbox relay and its inbox pruner."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest

from ticketflow_runtime.inbox import InboxPruner
from ticketflow_runtime.outbox import OutboxRelay


@pytest.mark.parametrize("name", ["orders", "issuance", "assignment", "checkin", "notifications"])
def test_every_service_prunes_its_inbox_after_the_configured_retention(name: str, monkeypatch) -> None:
    monkeypatch.setenv(f"{name.upper()}_DATABASE_URL", "postgresql+asyncpg://ticketflow@127.0.0.1:1/none")
    monkeypatch.setenv("INBOX_RETENTION_HOURS", "400")
    app = importlib.import_module(f"{name}.app")

    service = app.create_service()

    pruners = [worker for worker in service.workers if isinstance(worker, InboxPruner)]
    assert [pruner.retention for pruner in pruners] == [timedelta(hours=400)]
    assert pruners[0].channel is None, "nothing notifies it: it polls"
    assert sum(isinstance(worker, OutboxRelay) for worker in service.workers) == 1
