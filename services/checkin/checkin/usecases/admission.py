"""The gate's common case in one statement: an online QR scan admitted on an entry-only list.

A gate wants its answer within milliseconds. This path decides from the gate
directory's copy of the ticket and its list (or, for a ticket it does not
have yet, from one statement that reads them) and writes the admission, the
scan's stored answer and ticket.checked_in in one statement: a single
statement is its own transaction, so there is no BEGIN or COMMIT round trip,
and either all three are written or none. It writes only while the rows are as
the decision read them. The statements are coalesced: the scans arriving
together at a busy gate server share them, a round trip and a commit for many
scans.

Every other case (a refusal, a list that scans exits, a key not seen yet, a
ticket, list or nonce changed or decided meanwhile) goes to `scanning.scan`,
which decides them all; the two cannot disagree on an admission, which only
this module and `scanning._admit_once` write, from the same builders.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import asyncpg

from ticketflow_runtime.database import Database
from ticketflow_runtime.outbox import outbox_record
from ticketflow_runtime.telemetry import continue_trace
from ticketflow_schemas import qr

from ..access import Scanner
from ..directory import GateDirectory, ListEntry, TicketEntry
from ..domain import Direction, Mode, list_rule_result, ticket_state_result
from .scanning import ScanInput, admitted_answer, checked_in_event, known_signing_key

# Each parameter an array, a scan's element at its position (`Database.coalesced`).
_FACTS = (
    "SELECT scan.position, (SELECT answer::text FROM scans WHERE nonce = scan.nonce) AS previous,"
    " t.id, t.number, t.event_id, t.ticket_type_id, t.ticket_type_name, t.secret_version, t.voided,"
    " t.holder_name, t.holder_company, t.holder_person_id, t.traceparent, t.change_seq,"
    " l.id AS list_id, l.event_id AS list_event_id, l.name AS list_name, l.ticket_type_ids AS list_types,"
    " l.valid_from, l.valid_until, l.allow_exit, l.xmin::text::bigint AS list_version"
    " FROM unnest($1::text[], $2::uuid[], $3::uuid[]) WITH ORDINALITY AS scan (nonce, ticket_id, list_id, position)"
    " LEFT JOIN tickets AS t ON t.id = scan.ticket_id"
    " LEFT JOIN check_in_lists AS l ON l.id = scan.list_id"
)
# A scan is admitted only while its ticket and list rows are as the decision read
# them (`change_seq`, `xmin`) and its nonce is undecided: a decision made from
# the gate directory's copy, or one that a reissue or void overtook, admits
# nothing and goes to the full path. The answers are stored without ON CONFLICT:
# a nonce decided meanwhile by a concurrent scan fails the whole statement, and
# the admissions with it. Two scans of one ticket in one batch meet in the
# unique index like two statements would: one is admitted.
_ADMIT = (
    "WITH staged AS (SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[],"
    " $6::text[], $7::uuid[], $8::timestamptz[], $9::text[], $10::uuid[], $11::text[], $12::text[], $13::text[],"
    " $14::text[], $15::timestamptz[], $16::bigint[], $17::bigint[]) WITH ORDINALITY AS staged (id, ticket_id,"
    " list_id, gate, mode, nonce, device_id, checked_in_at, answer, event_id, topic, key, headers, payload,"
    " created_at, ticket_seq, list_version, position)),"
    " admitted AS ("
    " INSERT INTO check_ins (id, ticket_id, list_id, gate, mode, nonce, device_id, checked_in_at)"
    " SELECT staged.id, ticket_id, list_id, gate, mode, nonce, device_id, checked_in_at FROM staged"
    " JOIN tickets AS t ON t.id = staged.ticket_id AND t.change_seq = staged.ticket_seq"
    " JOIN check_in_lists AS l ON l.id = staged.list_id AND l.xmin::text::bigint = staged.list_version"
    " WHERE NOT EXISTS (SELECT FROM scans WHERE scans.nonce = staged.nonce) ORDER BY position"
    " ON CONFLICT (ticket_id, list_id) WHERE reverted_at IS NULL DO NOTHING RETURNING id),"
    " answered AS (INSERT INTO scans (nonce, ticket_id, gate, device_id, result, answer, scanned_at)"
    " SELECT nonce, ticket_id, gate, device_id, 'admitted', answer::jsonb, checked_in_at"
    " FROM staged JOIN admitted USING (id)),"
    " published AS (INSERT INTO outbox (event_id, topic, key, headers, payload, created_at)"
    " SELECT event_id, topic, key, headers::jsonb, payload::jsonb, created_at"
    " FROM staged JOIN admitted USING (id) ORDER BY position)"
    " SELECT position FROM staged JOIN admitted USING (id)"
)


async def try_admit(database: Database, directory: GateDirectory, request: ScanInput,
                    scanner: Scanner) -> str | None:
    """The scan's answer as JSON when this path decides it, else None (`scanning.scan` decides)."""
    list_id = request.list_id or scanner.only_list()
    if (request.payload is None or request.direction is not Direction.ENTRY or request.mode is not Mode.ONLINE
            or list_id is None):
        return None
    try:
        body, signature = qr.decode(request.payload)
    except qr.MalformedPayload:
        return None
    key = known_signing_key(body.key_id)
    if key is None:
        return None
    known = directory.entries(key.event_id, body.ticket_id, list_id)
    if known is None:
        [facts] = await database.coalesced(_FACTS).fetch(request.nonce, body.ticket_id, list_id)
        if facts["previous"] is not None:
            return facts["previous"]
        ticket, check_list = _split(facts)
    else:
        ticket, check_list = known
    scanner.check_list(list_id)
    at = datetime.now(UTC)
    if not (_admissible(ticket, check_list, scanner, at) and key.event_id == ticket.event_id
            and qr.signature_valid(body, signature, key.public_key)
            and ticket_state_result(voided=ticket.voided, current_secret_version=ticket.secret_version,
                                    scanned_secret_version=body.secret_version) is None):
        return None
    return await _admit(database, ticket, check_list, request, scanner, at)


def _split(facts: asyncpg.Record) -> tuple[TicketEntry | None, ListEntry | None]:
    ticket = None if facts["id"] is None else TicketEntry(
        id=facts["id"], number=facts["number"], event_id=facts["event_id"], ticket_type_id=facts["ticket_type_id"],
        ticket_type_name=facts["ticket_type_name"], secret_version=facts["secret_version"], voided=facts["voided"],
        holder_name=facts["holder_name"], holder_company=facts["holder_company"],
        holder_person_id=facts["holder_person_id"], traceparent=facts["traceparent"], change_seq=facts["change_seq"])
    check_list = None if facts["list_id"] is None else ListEntry(
        id=facts["list_id"], event_id=facts["list_event_id"], name=facts["list_name"],
        ticket_type_ids=facts["list_types"], valid_from=facts["valid_from"], valid_until=facts["valid_until"],
        allow_exit=facts["allow_exit"], version=facts["list_version"])
    return ticket, check_list


def _admissible(ticket, check_list, scanner: Scanner, at: datetime) -> bool:
    """A known ticket of the scanner's event, on an entry-only list of its event whose rules let it in now."""
    return (ticket is not None and bool(ticket.ticket_type_name) and check_list is not None
            and not check_list.allow_exit and check_list.event_id == ticket.event_id
            and (scanner.event_id is None or scanner.event_id == ticket.event_id)
            and list_rule_result(admits_types=check_list.ticket_type_ids, valid_from=check_list.valid_from,
                                 valid_until=check_list.valid_until, ticket_type_id=ticket.ticket_type_id,
                                 at=at) is None)


async def _admit(database: Database, ticket, check_list, request: ScanInput,
                 scanner: Scanner, at: datetime) -> str | None:
    check_in_id = uuid.uuid4()
    # Compact, as FastAPI writes the answers of the full path.
    answer = json.dumps(admitted_answer(ticket, check_list, request, at).as_json(), separators=(",", ":"))
    with continue_trace(ticket.traceparent, "check in ticket", **{"ticket.id": str(ticket.id)}):
        record, _ = outbox_record(database.service, checked_in_event(ticket, check_list, request, check_in_id, at))
    try:
        admitted = await database.coalesced(_ADMIT).fetch(
            check_in_id, ticket.id, check_list.id, request.gate, Mode.ONLINE.value, request.nonce,
            scanner.device_id, at, answer, record.event_id, record.topic, record.key, record.headers,
            record.payload, record.created_at, ticket.change_seq, check_list.version)
    except asyncpg.UniqueViolationError:
        # A nonce of the batch was decided meanwhile: the full path gives each scan its answer.
        return None
    if not admitted:
        return None
    database.outbox_committed()
    return answer
