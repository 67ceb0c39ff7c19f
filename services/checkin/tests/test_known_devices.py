"""KnownDevices: what is kept, and what a revocation or a lost LISTEN connection forgets."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from checkin.access import KnownDevices


class FakeListener:
    def __init__(self) -> None:
        self.closed = False

    async def close(self) -> None:
        self.closed = True


class FakeDatabase:
    """Counts device reads; ``during_read`` runs while a read is in flight."""

    def __init__(self, *, can_listen: bool = True) -> None:
        self.reads = 0
        self.revoked: set[str] = set()
        self.can_listen = can_listen
        self.during_read = None
        self.listeners: list[FakeListener] = []

    async def listen(self, channel, on_notify):
        if not self.can_listen:
            return None
        self.listeners.append(FakeListener())
        return self.listeners[-1]

    @asynccontextmanager
    async def driver_connection(self):
        database = self

        class Connection:
            async def fetchrow(self, _sql, digest):
                database.reads += 1
                if database.during_read:
                    database.during_read()
                return {"id": digest, "revoked_at": "yes" if digest in database.revoked else None}

        yield Connection()


def run(coroutine):
    return asyncio.run(coroutine)


async def known_devices(database: FakeDatabase) -> KnownDevices:
    devices = KnownDevices(database)
    await devices.start()
    return devices


def test_a_device_is_read_once_while_nothing_is_revoked() -> None:
    async def scenario():
        database = FakeDatabase()
        devices = await known_devices(database)
        for _ in range(3):
            assert (await devices.find("a"))["revoked_at"] is None
        return database.reads

    assert run(scenario()) == 1


def test_a_revocation_is_read_at_once() -> None:
    async def scenario():
        database = FakeDatabase()
        devices = await known_devices(database)
        await devices.find("a")
        database.revoked.add("a")
        devices.forget("a")  # what the revocation's NOTIFY (or the revoking request) does
        return await devices.find("a")

    assert run(scenario())["revoked_at"] == "yes"


def test_a_read_that_raced_a_revocation_is_not_kept() -> None:
    async def scenario():
        database = FakeDatabase()
        devices = await known_devices(database)
        database.during_read = lambda: devices.forget("a")
        await devices.find("a")
        database.during_read = None
        await devices.find("a")
        return database.reads

    assert run(scenario()) == 2


def test_nothing_is_kept_without_notifications() -> None:
    async def scenario():
        database = FakeDatabase(can_listen=False)
        devices = await known_devices(database)
        await devices.find("a")
        await devices.find("a")
        return database.reads

    assert run(scenario()) == 2


def test_a_lost_listen_connection_forgets_everything_and_listens_again() -> None:
    async def scenario():
        database = FakeDatabase()
        devices = await known_devices(database)
        await devices.find("a")
        database.listeners[-1].closed = True
        await devices.find("a")  # read again: revocations may have been missed
        await devices.find("a")  # listening again: kept
        await devices.find("a")
        return database.reads, len(database.listeners)

    assert run(scenario()) == (3, 2)
