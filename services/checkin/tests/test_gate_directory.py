"""GateDirectory: which events it loads, how it follows their changes, and what it keeps."""

from __future__ import annotations

import asyncio
import gc
import uuid
from contextlib import asynccontextmanager

from checkin.directory import GateDirectory


def list_of(event_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(event_id, "list")


def ticket_row(event_id: uuid.UUID, change_seq: int, *, ticket_id: uuid.UUID | None = None, voided: bool = False) -> dict:
    return {"id": ticket_id or uuid.uuid4(), "number": f"TF-{change_seq:06d}", "event_id": event_id,
            "ticket_type_id": None, "ticket_type_name": "Day pass", "secret_version": 1, "voided": voided,
            "holder_name": None, "holder_company": None, "holder_person_id": None, "traceparent": None,
            "change_seq": change_seq}


class FakeDatabase:
    """Tickets by event, in change order; every event has one list. Counts the pages read."""

    def __init__(self) -> None:
        self.tickets: dict[uuid.UUID, list[dict]] = {}
        self.pages = 0

    @asynccontextmanager
    async def driver_connection(self):
        database = self

        class Connection:
            async def fetch(self, sql, *arguments):
                if "FROM check_in_lists" in sql:
                    return [{"id": list_of(event_id), "event_id": event_id, "name": "Main", "ticket_type_ids": None,
                             "valid_from": None, "valid_until": None, "allow_exit": False, "version": 7}
                            for event_id in arguments[0]]
                event_id, after, limit = arguments
                database.pages += 1
                return [row for row in database.tickets.get(event_id, []) if row["change_seq"] > after][:limit]

        yield Connection()


def event_of(database: FakeDatabase, count: int, *, first_seq: int = 1) -> uuid.UUID:
    event_id = uuid.uuid4()
    database.tickets[event_id] = [ticket_row(event_id, first_seq + n) for n in range(count)]
    return event_id


def test_an_event_is_loaded_once_asked_for_in_pages_and_then_followed() -> None:
    database = FakeDatabase()
    event_id = event_of(database, 5)
    directory = GateDirectory(database, page_size=2)
    first = database.tickets[event_id][0]

    async def scenario():
        assert directory.entries(event_id, first["id"], list_of(event_id)) is None
        await directory.refresh()
        assert database.pages == 3, "pages of 2, 2 and 1"
        ticket, check_list = directory.entries(event_id, first["id"], list_of(event_id))
        assert (ticket.number, ticket.change_seq, check_list.version) == ("TF-000001", 1, 7)

        database.tickets[event_id].append(ticket_row(event_id, 6, ticket_id=first["id"], voided=True))
        await directory.refresh()
        assert directory.entries(event_id, first["id"], list_of(event_id))[0].voided is True
        assert directory.ticket_count == 5

    asyncio.run(scenario())


def test_an_event_nobody_asked_for_is_not_loaded() -> None:
    database = FakeDatabase()
    asked, other = event_of(database, 3), event_of(database, 3, first_seq=10)
    directory = GateDirectory(database)

    async def scenario():
        directory.entries(asked, uuid.uuid4(), list_of(asked))
        await directory.refresh()
        assert directory.ticket_count == 3
        assert directory.entries(other, database.tickets[other][0]["id"], list_of(other)) is None

    asyncio.run(scenario())


def test_it_keeps_no_more_tickets_than_allowed_and_drops_idle_events() -> None:
    database = FakeDatabase()
    big, small = event_of(database, 6), event_of(database, 2, first_seq=100)
    directory = GateDirectory(database, max_tickets=4, page_size=2, idle_seconds=0.05)

    async def scenario():
        directory.entries(small, uuid.uuid4(), list_of(small))
        await directory.refresh()
        directory.entries(big, uuid.uuid4(), list_of(big))
        await directory.refresh()
        assert directory.ticket_count == 4, "the big event stops loading when the directory is full"
        assert directory.entries(big, database.tickets[big][0]["id"], list_of(big)) is None, \
            "a partly loaded event is read from the database"
        await asyncio.sleep(0.1)
        await directory.refresh()
        assert directory.ticket_count == 0

    asyncio.run(scenario())


def test_a_directory_of_no_tickets_reads_nothing() -> None:
    database = FakeDatabase()
    event_id = event_of(database, 2)
    directory = GateDirectory(database, max_tickets=0)

    async def scenario():
        assert directory.entries(event_id, database.tickets[event_id][0]["id"], list_of(event_id)) is None
        await directory.refresh()
        assert database.pages == 0

    asyncio.run(scenario())


def test_kept_tickets_are_out_of_the_collectors_sight() -> None:
    """A full collection walks every tracked object: a large event's tickets must not add to its pauses."""
    database = FakeDatabase()
    event_id = event_of(database, 10_000)
    for n, row in enumerate(database.tickets[event_id]):
        row.update(ticket_type_id=uuid.uuid4(), holder_person_id=uuid.uuid4(), holder_name=f"Attendee {n}")
    directory = GateDirectory(database, page_size=10_000)

    async def scenario():
        directory.entries(event_id, uuid.uuid4(), list_of(event_id))
        gc.collect()
        before = len(gc.get_objects())
        await directory.refresh()
        gc.collect()
        assert directory.ticket_count == 10_000
        assert len(gc.get_objects()) - before < 100

    asyncio.run(scenario())
