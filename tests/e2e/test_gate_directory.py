"""The copies gates decide from, on the real checkin database: the gate directory (a scan decided
from a stale copy admits nothing) and offline scanners' downloads (no change is skipped).

The directory is driven by hand here (no timer), so each test knows exactly
which copy a decision is made from: the services' own directory refreshes
every second and could not be caught stale on purpose.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from checkin.access import Scanner
from checkin.directory import GateDirectory
from checkin.usecases import admission, offline, projection, scanning
from ticketflow_local.bench.checkin import seed_event
from ticketflow_local.config import stack_env
from ticketflow_runtime.database import Database
from ticketflow_schemas import qr
from ticketflow_schemas.events import TicketVoided


@pytest.fixture
async def database(stack) -> AsyncIterator[Database]:
    database = Database(stack_env()["CHECKIN_DATABASE_URL"], service="checkin", pool_size=4)
    yield database
    await database.dispose()


class Gate:
    """A seeded event, its default list, a device scanner and a directory loaded with them."""

    def __init__(self, database: Database, event_id: uuid.UUID, list_id: uuid.UUID, payloads: list[str]) -> None:
        self.database = database
        self.event_id = event_id
        self.list_id = list_id
        self.payloads = payloads
        self.directory = GateDirectory(database, refresh_seconds=3600)
        self.scanner = Scanner(actor="device:directory-test", device_id=uuid.uuid4(), event_id=event_id,
                               list_ids=frozenset({list_id}), gate="Directory gate")

    def ticket_id(self, n: int) -> uuid.UUID:
        return qr.decode(self.payloads[n])[0].ticket_id

    def request(self, n: int, nonce: str | None = None) -> scanning.ScanInput:
        return scanning.ScanInput(gate="Directory gate", nonce=nonce or uuid.uuid4().hex, payload=self.payloads[n])

    async def try_admit(self, n: int, nonce: str | None = None) -> str | None:
        return await admission.try_admit(self.database, self.directory, self.request(n, nonce), self.scanner)

    async def decide_in_full(self, n: int) -> dict:
        async with self.database.unit_of_work() as uow:
            return await scanning.scan(uow, self.request(n), self.scanner)

    async def admissions(self, n: int) -> int:
        async with self.database.driver_connection() as connection:
            return await connection.fetchval("SELECT count(*) FROM check_ins WHERE ticket_id = $1", self.ticket_id(n))

    async def execute(self, sql: str, *arguments) -> None:
        async with self.database.driver_connection() as connection:
            await connection.execute(sql, *arguments)


@pytest.fixture
async def gate(database: Database) -> Gate:
    event_id, payloads = await seed_event(4)
    async with database.driver_connection() as connection:
        list_id = await connection.fetchval("SELECT id FROM check_in_lists WHERE event_id = $1", event_id)
    gate = Gate(database, event_id, list_id, payloads)
    async with database.sessions() as session:  # the gate has used the event's key before
        await scanning.signing_key(session, qr.decode(payloads[0])[0].key_id)
    assert gate.directory.entries(event_id, gate.ticket_id(0), list_id) is None, "asked for: loaded at the next refresh"
    await gate.directory.refresh()
    return gate


async def void(gate: Gate, n: int) -> None:
    async with gate.database.unit_of_work() as uow:
        await void_in(uow, gate, n)


async def void_in(uow, gate: Gate, n: int) -> None:
    """The ticket voided through the gate's projection, as ticket.voided does (the number is kept)."""
    await projection.record_voided(uow, TicketVoided(
        ticket_id=gate.ticket_id(n), ticket_number=f"TB-VOID-{n}", order_id=uuid.uuid4(), event_id=gate.event_id,
        reason="order cancelled", voided_at=datetime.now(UTC)))


async def test_an_unchanged_ticket_is_admitted_from_the_directory_once(gate: Gate) -> None:
    entries = gate.directory.entries(gate.event_id, gate.ticket_id(0), gate.list_id)
    assert entries is not None and entries[0].holder_name == "Attendee 0" and entries[1].name == "Main entrance"

    answer = await gate.try_admit(0)

    assert answer is not None and '"result":"admitted"' in answer and '"holder_name":"Attendee 0"' in answer
    assert await gate.try_admit(0) is None, "a second admission is left to the full path, which refuses it"
    assert (await gate.decide_in_full(0))["result"] == "already_checked_in"
    assert await gate.admissions(0) == 1


async def test_a_ticket_voided_after_the_directory_read_it_is_not_admitted(gate: Gate) -> None:
    await void(gate, 1)
    stale = gate.directory.entries(gate.event_id, gate.ticket_id(1), gate.list_id)
    assert stale is not None and stale[0].voided is False, "the directory has not seen the void yet"

    assert await gate.try_admit(1) is None
    assert await gate.admissions(1) == 0
    assert (await gate.decide_in_full(1))["result"] == "voided"

    await gate.directory.refresh()
    assert gate.directory.entries(gate.event_id, gate.ticket_id(1), gate.list_id)[0].voided is True


async def test_a_reissued_ticket_s_old_code_is_not_admitted_from_a_stale_copy(gate: Gate) -> None:
    await gate.execute("UPDATE tickets SET secret_version = 2, change_seq = nextval('ticket_changes') WHERE id = $1",
                       gate.ticket_id(2))

    assert await gate.try_admit(2) is None, "the copy still says version 1, as the code does"
    assert await gate.admissions(2) == 0
    assert (await gate.decide_in_full(2))["result"] == "revoked"


async def test_a_list_closed_after_the_directory_read_it_admits_nothing(gate: Gate) -> None:
    await gate.execute("UPDATE check_in_lists SET valid_until = now() - interval '1 hour' WHERE id = $1", gate.list_id)

    assert await gate.try_admit(3) is None
    assert await gate.admissions(3) == 0
    assert (await gate.decide_in_full(3))["result"] == "no_longer_valid"


async def test_a_decided_nonce_admits_nothing_more(gate: Gate) -> None:
    nonce = uuid.uuid4().hex
    assert '"result":"admitted"' in await gate.try_admit(0, nonce)

    assert await gate.try_admit(3, nonce) is None, "another ticket under a decided nonce"
    assert await gate.admissions(3) == 0


async def test_an_offline_download_skips_no_change_committed_out_of_order(gate: Gate) -> None:
    """A void that took its change number first but commits last is still in the next download."""
    database = gate.database
    async with database.sessions() as session:
        start = (await offline.sync(session, gate.event_id, after=0, limit=100, scanner=gate.scanner))["cursor"]
    async with database.unit_of_work() as first:
        await void_in(first, gate, 0)  # takes its number, then stays open
        second = asyncio.create_task(void(gate, 1))
        await asyncio.wait({second}, timeout=0.5)
        async with database.sessions() as session:
            between = await offline.sync(session, gate.event_id, after=start, limit=100, scanner=gate.scanner)
    await second
    async with database.sessions() as session:
        after = await offline.sync(session, gate.event_id, after=between["cursor"], limit=100, scanner=gate.scanner)

    seen = {ticket["id"] for page in (between, after) for ticket in page["tickets"] if ticket["voided"]}
    assert seen == {gate.ticket_id(0), gate.ticket_id(1)}
