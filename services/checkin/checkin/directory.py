"""The gate directory: what a scan is decided from, kept in memory per event.

An online admission needs the ticket's row and its check-in list's. Reading
them is a round trip to PostgreSQL per scan (or per batch of scans), half of
the gate's common case. The directory loads an event's tickets and lists once,
when the event's first scan arrives, and then follows their changes by the
tickets' change cursor (the one offline scanners sync by, numbered in commit order).

It is never the authority. Each entry carries the version it was read at (a
ticket's ``change_seq``, a list row's ``xmin``), and the admission statement
admits only while the rows still have those versions: an entry that went
stale (a reissue, a void, a list's new rules) admits nothing, and the scan is
decided again from the database. So the directory may lag; it cannot let in
what the database would refuse.

Tickets are stored as tuples of plain values (ids as integers): Python's
collector stops tracking such tuples, so an event of a hundred thousand
tickets adds nothing to the pauses of its full collections, which would
otherwise walk half a million objects and stall every scan in flight.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import Gauge

from ticketflow_runtime.database import Database
from ticketflow_runtime.worker import DrainingWorker

log = logging.getLogger(__name__)

DIRECTORY_TICKETS = Gauge("ticketflow_gate_directory_tickets", "Tickets the gate directory keeps in memory")


@dataclass(frozen=True, slots=True)
class TicketEntry:
    id: uuid.UUID
    number: str
    event_id: uuid.UUID
    ticket_type_id: uuid.UUID | None
    ticket_type_name: str
    secret_version: int
    voided: bool
    holder_name: str | None
    holder_company: str | None
    holder_person_id: uuid.UUID | None
    traceparent: str | None
    change_seq: int


@dataclass(frozen=True, slots=True)
class ListEntry:
    id: uuid.UUID
    event_id: uuid.UUID
    name: str
    ticket_type_ids: list[uuid.UUID] | None
    valid_from: datetime | None
    valid_until: datetime | None
    allow_exit: bool
    version: int
    """The row's ``xmin``: any update of the list changes it."""


_TICKET_COLUMNS = ("id, number, event_id, ticket_type_id, ticket_type_name, secret_version, voided, holder_name,"
                   " holder_company, holder_person_id, traceparent, change_seq")
_TICKETS_CHANGED = (f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE event_id = $1 AND change_seq > $2"
                    " ORDER BY change_seq LIMIT $3")
_LISTS = ("SELECT id, event_id, name, ticket_type_ids, valid_from, valid_until, allow_exit, xmin::text::bigint AS version"
          " FROM check_in_lists WHERE event_id = ANY($1::uuid[])")


class _Event:
    __slots__ = ("tickets", "shared", "cursor", "loaded", "last_asked")

    def __init__(self) -> None:
        self.tickets: dict[int, tuple] = {}  # by the ticket id's integer: `_stored`
        self.shared: dict = {}  # values many of its tickets have (types, companies), kept once
        self.cursor = 0
        self.loaded = False
        self.last_asked = time.monotonic()


class GateDirectory(DrainingWorker):
    """Tickets and check-in lists of the events being scanned, at most ``max_tickets`` in all (0: none).

    An event is loaded when first asked for (which wakes the worker), in pages
    of ``page_size`` (the event loop serves scans between pages), then refreshed
    every ``refresh_seconds``; an event not asked for in ``idle_seconds`` is dropped.
    """

    name = "gate-directory"

    def __init__(self, database: Database, *, refresh_seconds: float = 1.0, idle_seconds: float = 900.0,
                 max_tickets: int = 250_000, page_size: int = 2_000) -> None:
        # A refresh that fails (the database is away) is tried again at the next one: scans read
        # the database themselves meanwhile.
        super().__init__(database=database, channel=None, batch_size=1, poll_seconds=refresh_seconds,
                         max_backoff=refresh_seconds)
        self.idle_seconds = idle_seconds
        self.max_tickets = max_tickets
        self.page_size = page_size
        self._events: dict[uuid.UUID, _Event] = {}
        self._lists: dict[uuid.UUID, ListEntry] = {}

    def entries(self, event_id: uuid.UUID, ticket_id: uuid.UUID,
                list_id: uuid.UUID) -> tuple[TicketEntry, ListEntry] | None:
        """The ticket and list as last read, or None when the directory does not have them (yet)."""
        if self.max_tickets == 0:
            return None
        event = self._events.get(event_id)
        if event is None:
            self._events[event_id] = _Event()
            self.wake()
            return None
        event.last_asked = time.monotonic()
        stored = event.tickets.get(ticket_id.int)
        check_list = self._lists.get(list_id)
        if stored is None or check_list is None:
            return None
        return _entry(ticket_id, event_id, stored), check_list

    @property
    def ticket_count(self) -> int:
        return sum(len(event.tickets) for event in self._events.values())

    async def work_once(self) -> int:
        await self.refresh()
        return 0  # then wait for the next refresh, or for an event asked for

    async def refresh(self) -> None:
        """Drop idle events, read the changes of the others (a new event's every ticket), and their lists."""
        now = time.monotonic()
        for event_id in [e for e, event in self._events.items() if now - event.last_asked > self.idle_seconds]:
            del self._events[event_id]
        for event_id, event in list(self._events.items()):
            loaded = event.loaded
            await self._follow(event_id, event)
            if event.loaded and not loaded:
                log.info("gate directory loaded an event", extra={"event_id": str(event_id),
                                                                   "tickets": len(event.tickets)})
        DIRECTORY_TICKETS.set(self.ticket_count)
        event_ids = [event_id for event_id, event in self._events.items() if event.loaded]
        rows = []
        if event_ids:  # an idle gate reads nothing
            async with self.database.driver_connection() as connection:
                rows = await connection.fetch(_LISTS, event_ids)
        self._lists = {row["id"]: ListEntry(**row) for row in rows}

    async def _follow(self, event_id: uuid.UUID, event: _Event) -> None:
        while not self._stopping.is_set():  # a large event's load stops with the service
            if not event.loaded and self.ticket_count >= self.max_tickets:
                return  # full: this event's scans read the database
            async with self.database.driver_connection() as connection:
                rows = await connection.fetch(_TICKETS_CHANGED, event_id, event.cursor, self.page_size)
            for row in rows:
                event.tickets[row["id"].int] = _stored(row, event.shared)
            if rows:
                event.cursor = rows[-1]["change_seq"]
            if len(rows) < self.page_size:
                event.loaded = True
                return


def _stored(row, shared: dict) -> tuple:
    """A ticket row as kept: plain values only (see the module's docstring), shared ones once."""
    return (row["number"], _integer(row["ticket_type_id"]), shared.setdefault(row["ticket_type_name"],
            row["ticket_type_name"]), row["secret_version"], row["voided"], row["holder_name"],
            shared.setdefault(row["holder_company"], row["holder_company"]), _integer(row["holder_person_id"]),
            row["traceparent"], row["change_seq"])


def _entry(ticket_id: uuid.UUID, event_id: uuid.UUID, stored: tuple) -> TicketEntry:
    (number, ticket_type_id, ticket_type_name, secret_version, voided, holder_name, holder_company,
     holder_person_id, traceparent, change_seq) = stored
    return TicketEntry(id=ticket_id, number=number, event_id=event_id, ticket_type_id=_uuid(ticket_type_id),
                       ticket_type_name=ticket_type_name, secret_version=secret_version, voided=voided,
                       holder_name=holder_name, holder_company=holder_company,
                       holder_person_id=_uuid(holder_person_id), traceparent=traceparent, change_seq=change_seq)


def _integer(value: uuid.UUID | None) -> int | None:
    return None if value is None else value.int


def _uuid(value: int | None) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(int=value)
