"""Scans at the gate: each nonce decided once, each ticket admitted once per check-in list.

A scan names the ticket by its QR code, by its number typed in, or (at the
desk) by its id. The answer is stored under the scan's nonce, so a scanner that
repeats a request (a retry, an offline upload sent twice) gets the same answer
and changes nothing. Two gates admitting one ticket at the same instant meet in
the database: a unique index admits one of them.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import TypeAdapter
from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ticketflow_runtime import NotFound, UnitOfWork, Unprocessable
from ticketflow_runtime.telemetry import continue_trace
from ticketflow_schemas import events as contracts
from ticketflow_schemas import qr

from ..access import Scanner
from ..domain import MESSAGES, Direction, Mode, ScanResult, list_rule_result, passage_result, ticket_state_result
from ..store.tables import check_in_conflicts, check_in_lists, check_ins, passages, scans, signing_keys, tickets


# Built once: SQLAlchemy memoizes a statement's cache key, so a scan skips traversing them.
_PREVIOUS_ANSWER = select(scans.c.answer).where(scans.c.nonce == bindparam("nonce"))
_TICKET_BY_ID = select(tickets).where(tickets.c.id == bindparam("ticket_id"))
_TICKET_BY_NUMBER = select(tickets).where(tickets.c.number == bindparam("number"))
_KEY = select(signing_keys.c.event_id, signing_keys.c.public_key).where(signing_keys.c.key_id == bindparam("key_id"))
_LIST_BY_ID = select(check_in_lists).where(check_in_lists.c.id == bindparam("list_id"))
_DEFAULT_LIST = select(check_in_lists).where(check_in_lists.c.event_id == bindparam("event_id"),
                                            check_in_lists.c.is_default)
_ADMISSION = select(check_ins).where(check_ins.c.ticket_id == bindparam("ticket_id"),
                                     check_ins.c.list_id == bindparam("list_id"), check_ins.c.reverted_at.is_(None))
# As text: SQLAlchemy compiles PostgreSQL's INSERT ... ON CONFLICT anew on every execution.
_ADMIT = text(
    "INSERT INTO check_ins (id, ticket_id, list_id, gate, mode, nonce, device_id, checked_in_at)"
    " VALUES (:id, :ticket_id, :list_id, :gate, :mode, :nonce, :device_id, :checked_in_at)"
    " ON CONFLICT (ticket_id, list_id) WHERE reverted_at IS NULL DO NOTHING RETURNING id"
)
# A scan first claims its nonce, then decides: a concurrent scan under the same
# nonce waits in the claim for the first one's transaction, then reads its answer.
# (Recording the answer last instead would let both decide, and admit twice.)
_CLAIM_NONCE = text(
    "INSERT INTO scans (nonce, gate, device_id, result, answer, scanned_at)"
    " VALUES (:nonce, :gate, :device_id, 'deciding', 'null', :scanned_at)"
    " ON CONFLICT DO NOTHING RETURNING nonce"
)
_RECORD_SCAN = text(
    "UPDATE scans SET ticket_id = :ticket_id, result = :result, answer = CAST(:answer AS jsonb) WHERE nonce = :nonce"
)


@dataclass(frozen=True)
class SigningKey:
    event_id: uuid.UUID
    public_key: bytes


# Signing keys never change once known: the gate keeps the ones it has used.
_known_keys: dict[int, SigningKey] = {}


def known_signing_key(key_id: int) -> SigningKey | None:
    """A key this process has used already."""
    return _known_keys.get(key_id)


async def signing_key(session: AsyncSession, key_id: int) -> SigningKey | None:
    if (known := _known_keys.get(key_id)) is not None:
        return known
    row = (await session.execute(_KEY, {"key_id": key_id})).first()
    if row is None:
        return None
    _known_keys[key_id] = SigningKey(row.event_id, row.public_key)
    return _known_keys[key_id]


@dataclass(frozen=True)
class ScanInput:
    gate: str
    nonce: str
    payload: str | None = None
    ticket_number: str | None = None
    ticket_id: uuid.UUID | None = None
    list_id: uuid.UUID | None = None
    direction: Direction = Direction.ENTRY
    mode: Mode = Mode.ONLINE
    at: datetime | None = None
    """When the scan happened; offline scans bring the scanner's time."""


@dataclass
class ScanAnswer:
    result: ScanResult
    message: str
    ticket: dict | None = None
    check_in: dict | None = None
    conflict: dict | None = None

    def as_json(self) -> dict:
        return {"result": self.result.value, "admitted": self.result is ScanResult.ADMITTED,
                "message": self.message, "ticket": self.ticket, "check_in": self.check_in, "conflict": self.conflict}


async def scan(uow: UnitOfWork, request: ScanInput, scanner: Scanner) -> dict:
    """Decide a scan. The same nonce always gets the same answer."""
    session = uow.session
    claimed = await session.execute(_CLAIM_NONCE, {
        "nonce": request.nonce, "gate": request.gate, "device_id": scanner.device_id,
        "scanned_at": request.at or datetime.now(UTC)})
    if claimed.first() is None:
        # Decided before, or by a scan that committed while this claim waited for it: that answer stands.
        return await session.scalar(_PREVIOUS_ANSWER, {"nonce": request.nonce})
    answer, ticket_id = await _decide(uow, request, scanner)
    await session.execute(_RECORD_SCAN, {"nonce": request.nonce, "ticket_id": ticket_id,
                                         "result": answer.result.value, "answer": json.dumps(answer.as_json())})
    return answer.as_json()


# Moments in answers are written as the API's models write them (pydantic: UTC as ``Z``), so
# that an answer replayed from storage reads the same as when it was given.
_MOMENT = TypeAdapter(datetime)


def instant(at: datetime) -> str:
    return _MOMENT.dump_python(at, mode="json")


def _refuse(result: ScanResult, ticket=None) -> ScanAnswer:
    return ScanAnswer(result, MESSAGES[result], ticket_json(ticket))


def ticket_json(ticket) -> dict | None:
    if ticket is None:
        return None
    return {"id": str(ticket.id), "number": ticket.number, "ticket_type": ticket.ticket_type_name,
            "holder_name": ticket.holder_name, "holder_company": ticket.holder_company}


async def _decide(uow: UnitOfWork, request: ScanInput, scanner: Scanner) -> tuple[ScanAnswer, uuid.UUID | None]:
    session = uow.session
    scanned_version: int | None = None
    if request.payload is not None:
        try:
            body, signature = qr.decode(request.payload)
        except qr.MalformedPayload:
            return _refuse(ScanResult.INVALID_SIGNATURE), None
        ticket = (await session.execute(_TICKET_BY_ID, {"ticket_id": body.ticket_id})).first()
        key = await signing_key(session, body.key_id)
        if key is None:
            return _refuse(ScanResult.UNKNOWN_TICKET if ticket is None else ScanResult.INVALID_SIGNATURE), None
        if not qr.signature_valid(body, signature, key.public_key):
            return _refuse(ScanResult.INVALID_SIGNATURE), None
        if ticket is None:
            return _refuse(ScanResult.UNKNOWN_TICKET), body.ticket_id
        if key.event_id != ticket.event_id:
            return _refuse(ScanResult.OTHER_EVENT, ticket), ticket.id
        scanned_version = body.secret_version
    else:
        ticket = (await session.execute(_TICKET_BY_ID, {"ticket_id": request.ticket_id}) if request.ticket_id
                  else await session.execute(_TICKET_BY_NUMBER,
                                             {"number": (request.ticket_number or "").strip().upper()})).first()
        if ticket is None or not ticket.ticket_type_name:  # a void seen before the ticket itself
            return _refuse(ScanResult.UNKNOWN_TICKET), None
    if scanner.event_id is not None and ticket.event_id != scanner.event_id:
        return _refuse(ScanResult.OTHER_EVENT, ticket), ticket.id
    check_list = await check_in_list_for(session, request.list_id, ticket.event_id, scanner)
    if check_list.event_id != ticket.event_id:
        return _refuse(ScanResult.OTHER_EVENT, ticket), ticket.id
    if request.direction is Direction.EXIT and not check_list.allow_exit:
        raise Unprocessable("exits_not_scanned", f"The list '{check_list.name}' scans entries only.")
    refused = ticket_state_result(voided=ticket.voided, current_secret_version=ticket.secret_version,
                                  scanned_secret_version=scanned_version) or list_rule_result(
        admits_types=check_list.ticket_type_ids, valid_from=check_list.valid_from,
        valid_until=check_list.valid_until, ticket_type_id=ticket.ticket_type_id,
        at=request.at or datetime.now(UTC))
    if refused is not None:
        return _refuse(refused, ticket), ticket.id
    return await _pass(uow, ticket, check_list, request, scanner), ticket.id


async def check_in_list_for(session: AsyncSession, list_id: uuid.UUID | None, event_id: uuid.UUID,
                            scanner: Scanner):
    """The list a scan is for: the one named, the scanner's only list, or the event's default list."""
    list_id = list_id or scanner.only_list()
    if list_id is not None:
        scanner.check_list(list_id)
        found = (await session.execute(_LIST_BY_ID, {"list_id": list_id})).first()
    else:
        found = (await session.execute(_DEFAULT_LIST, {"event_id": event_id})).first()
    if found is None:
        raise NotFound("check_in_list_not_found", f"No check-in list {list_id or 'for this event'}.")
    return found


async def _pass(uow: UnitOfWork, ticket, check_list, request: ScanInput, scanner: Scanner) -> ScanAnswer:
    if not check_list.allow_exit:
        return await _admit_once(uow, ticket, check_list, request, scanner)
    # Entries and exits of one ticket on one list happen one at a time.
    session = uow.session
    await session.execute(select(tickets.c.id).where(tickets.c.id == ticket.id).with_for_update())
    admission = await _admission(session, ticket.id, check_list.id)
    last = (await session.execute(
        select(passages.c.direction).where(passages.c.ticket_id == ticket.id, passages.c.list_id == check_list.id)
        .order_by(passages.c.id.desc()).limit(1))).scalar_one_or_none()
    inside = admission is not None and last != Direction.EXIT.value
    result = passage_result(direction=request.direction, admitted=admission is not None, inside=inside,
                            allow_reentry=check_list.allow_reentry)
    if result is ScanResult.ADMITTED and admission is None:
        return await _admit_once(uow, ticket, check_list, request, scanner)
    if result in (ScanResult.ADMITTED, ScanResult.EXITED):
        at = request.at or datetime.now(UTC)
        await session.execute(insert(passages).values(
            ticket_id=ticket.id, list_id=check_list.id, direction=request.direction.value, gate=request.gate,
            nonce=request.nonce, at=at))
        return ScanAnswer(result, MESSAGES[result], ticket_json(ticket),
                          {"gate": request.gate, "checked_in_at": instant(at), "list": check_list.name})
    if result is ScanResult.ALREADY_CHECKED_IN:
        return _already_checked_in(ticket, check_list, admission)
    return _refuse(result, ticket)


async def _admission(session: AsyncSession, ticket_id: uuid.UUID, list_id: uuid.UUID):
    return (await session.execute(_ADMISSION, {"ticket_id": ticket_id, "list_id": list_id})).first()


def _already_checked_in(ticket, check_list, admission) -> ScanAnswer:
    when = instant(admission.checked_in_at)
    return ScanAnswer(ScanResult.ALREADY_CHECKED_IN, f"Already checked in at {admission.gate} at {when}.",
                      ticket_json(ticket), {"gate": admission.gate, "checked_in_at": when, "list": check_list.name})


async def _admit_once(uow: UnitOfWork, ticket, check_list, request: ScanInput, scanner: Scanner) -> ScanAnswer:
    session = uow.session
    with continue_trace(ticket.traceparent, "check in ticket", **{"ticket.id": str(ticket.id)}):
        checked_in_at = request.at or datetime.now(UTC)
        check_in_id = uuid.uuid4()
        admitted = await session.execute(_ADMIT, {
            "id": check_in_id, "ticket_id": ticket.id, "list_id": check_list.id, "gate": request.gate,
            "mode": request.mode.value, "nonce": request.nonce, "device_id": scanner.device_id,
            "checked_in_at": checked_in_at})
        if admitted.first() is None:
            first = await _admission(session, ticket.id, check_list.id)
            answer = _already_checked_in(ticket, check_list, first)
            if request.mode is Mode.OFFLINE:
                answer.conflict = await _report_conflict(uow, ticket, check_list, first, request, scanner)
            return answer
        await uow.outbox.add(checked_in_event(ticket, check_list, request, check_in_id, checked_in_at))
        return admitted_answer(ticket, check_list, request, checked_in_at)


def checked_in_event(ticket, check_list, request: ScanInput, check_in_id: uuid.UUID,
                     checked_in_at: datetime) -> contracts.TicketCheckedIn:
    return contracts.TicketCheckedIn(
        ticket_id=ticket.id, event_id=ticket.event_id, check_in_id=check_in_id, check_in_list_id=check_list.id,
        check_in_list_name=check_list.name, gate=request.gate, mode=request.mode.value, checked_in_at=checked_in_at,
        holder_person_id=ticket.holder_person_id)


def admitted_answer(ticket, check_list, request: ScanInput, checked_in_at: datetime) -> ScanAnswer:
    return ScanAnswer(ScanResult.ADMITTED, MESSAGES[ScanResult.ADMITTED], ticket_json(ticket),
                      {"gate": request.gate, "checked_in_at": instant(checked_in_at), "list": check_list.name})


async def _report_conflict(uow: UnitOfWork, ticket, check_list, kept, request: ScanInput, scanner: Scanner) -> dict:
    """An offline admission of a ticket already admitted on the list: recorded and published, never merged."""
    conflict_id = uuid.uuid4()
    scanned_at = request.at or datetime.now(UTC)
    await uow.session.execute(insert(check_in_conflicts).values(
        id=conflict_id, ticket_id=ticket.id, list_id=check_list.id, kept_check_in_id=kept.id,
        device_id=scanner.device_id, gate=request.gate, nonce=request.nonce, scanned_at=scanned_at))
    await uow.outbox.add(contracts.TicketCheckInConflicted(
        conflict_id=conflict_id, ticket_id=ticket.id, event_id=ticket.event_id, check_in_list_id=check_list.id,
        kept_check_in_id=kept.id, kept_gate=kept.gate, kept_checked_in_at=kept.checked_in_at,
        gate=request.gate, device_id=scanner.device_id, scanned_at=scanned_at))
    return {"id": str(conflict_id), "kept_check_in_id": str(kept.id), "kept_gate": kept.gate,
            "kept_checked_in_at": instant(kept.checked_in_at)}
