"""The gate's common case in two statements: an online QR scan admitted on an entry-only list.

A gate wants its answer within milliseconds. This path reads what the decision
needs in one statement and writes the admission, the scan's stored answer and
ticket.checked_in in one more: a single statement is its own transaction, so
there is no BEGIN or COMMIT round trip, and either all three are written or
none. Both statements are coalesced: the scans arriving together at a busy gate
server share them, a round trip and a commit for many scans.

Every other case (a refusal, a list that scans exits, a key not seen yet, a
ticket or nonce decided meanwhile) goes to `scanning.scan`, which decides them
all; the two cannot disagree on an admission, which only this module and
`scanning._admit_once` write, from the same builders.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import asyncpg

from ticketflow_runtime.database import Database
from ticketflow_runtime.outbox import outbox_record
from ticketflow_runtime.telemetry import continue_trace
from ticketflow_schemas import qr

from ..access import Scanner
from ..domain import Direction, Mode, list_rule_result, ticket_state_result
from .scanning import ScanInput, admitted_answer, checked_in_event, known_signing_key

# Each parameter an array, a scan's element at its position (`Database.coalesced`).
_FACTS = (
    "SELECT scan.position, (SELECT answer::text FROM scans WHERE nonce = scan.nonce) AS previous,"
    " t.id, t.number, t.event_id, t.ticket_type_id, t.ticket_type_name, t.secret_version, t.voided,"
    " t.holder_name, t.holder_company, t.holder_person_id, t.traceparent,"
    " l.id AS list_id, l.event_id AS list_event_id, l.name AS list_name, l.ticket_type_ids AS list_types,"
    " l.valid_from, l.valid_until, l.allow_exit"
    " FROM unnest($1::text[], $2::uuid[], $3::uuid[]) WITH ORDINALITY AS scan (nonce, ticket_id, list_id, position)"
    " LEFT JOIN tickets AS t ON t.id = scan.ticket_id"
    " LEFT JOIN check_in_lists AS l ON l.id = scan.list_id"
)
# The answers are stored without ON CONFLICT: a nonce decided meanwhile fails the
# whole statement, and the admissions with it. Two scans of one ticket in one
# batch meet in the unique index like two statements would: one is admitted.
_ADMIT = (
    "WITH staged AS (SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[],"
    " $6::text[], $7::uuid[], $8::timestamptz[], $9::text[], $10::uuid[], $11::text[], $12::text[], $13::text[],"
    " $14::text[], $15::timestamptz[]) WITH ORDINALITY AS staged (id, ticket_id, list_id, gate, mode, nonce,"
    " device_id, checked_in_at, answer, event_id, topic, key, headers, payload, created_at, position)),"
    " admitted AS ("
    " INSERT INTO check_ins (id, ticket_id, list_id, gate, mode, nonce, device_id, checked_in_at)"
    " SELECT id, ticket_id, list_id, gate, mode, nonce, device_id, checked_in_at FROM staged ORDER BY position"
    " ON CONFLICT (ticket_id, list_id) WHERE reverted_at IS NULL DO NOTHING RETURNING id),"
    " answered AS (INSERT INTO scans (nonce, ticket_id, gate, device_id, result, answer, scanned_at)"
    " SELECT nonce, ticket_id, gate, device_id, 'admitted', answer::jsonb, checked_in_at"
    " FROM staged JOIN admitted USING (id)),"
    " published AS (INSERT INTO outbox (event_id, topic, key, headers, payload, created_at)"
    " SELECT event_id, topic, key, headers::jsonb, payload::jsonb, created_at"
    " FROM staged JOIN admitted USING (id) ORDER BY position)"
    " SELECT position FROM staged JOIN admitted USING (id)"
)


async def try_admit(database: Database, request: ScanInput, scanner: Scanner) -> str | None:
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
    [facts] = await database.coalesced(_FACTS).fetch(request.nonce, body.ticket_id, list_id)
    if facts["previous"] is not None:
        return facts["previous"]
    scanner.check_list(list_id)
    ticket, check_list = _split(facts)
    at = datetime.now(UTC)
    if not (_admissible(ticket, check_list, scanner, at) and key.event_id == ticket.event_id
            and qr.signature_valid(body, signature, key.public_key)
            and ticket_state_result(voided=ticket.voided, current_secret_version=ticket.secret_version,
                                    scanned_secret_version=body.secret_version) is None):
        return None
    return await _admit(database, ticket, check_list, request, scanner, at)


def _split(facts: asyncpg.Record) -> tuple[SimpleNamespace | None, SimpleNamespace | None]:
    ticket = None if facts["id"] is None else SimpleNamespace(
        id=facts["id"], number=facts["number"], event_id=facts["event_id"], ticket_type_id=facts["ticket_type_id"],
        ticket_type_name=facts["ticket_type_name"], secret_version=facts["secret_version"], voided=facts["voided"],
        holder_name=facts["holder_name"], holder_company=facts["holder_company"],
        holder_person_id=facts["holder_person_id"], traceparent=facts["traceparent"])
    check_list = None if facts["list_id"] is None else SimpleNamespace(
        id=facts["list_id"], event_id=facts["list_event_id"], name=facts["list_name"],
        ticket_type_ids=facts["list_types"], valid_from=facts["valid_from"], valid_until=facts["valid_until"],
        allow_exit=facts["allow_exit"])
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
            record.payload, record.created_at)
    except asyncpg.UniqueViolationError:
        # A nonce of the batch was decided meanwhile: the full path gives each scan its answer.
        return None
    if not admitted:
        return None
    database.outbox_committed()
    return answer
