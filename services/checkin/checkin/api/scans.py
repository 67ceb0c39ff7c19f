"""Scanning: online scans, and the offline download and upload."""

from __future__ import annotations

import gzip
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, Field, ValidationError, model_validator

from ticketflow_runtime import ApiError, Service, ServiceDep
from ticketflow_runtime.api_models import MAX_BIGINT
from ticketflow_runtime.errors import ERROR_RESPONSES
from ticketflow_runtime.fast_routes import FastAnswer, FastRequest, declined_by_fast_route

from ..access import Scanner, ScannerDep, device_scanner
from ..domain import Direction, ScanResult
from ..usecases import admission, offline, scanning

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, tags=["scanning"])

Nonce = Annotated[str, Field(min_length=8, max_length=100,
                             description="unique per scan: a repeated nonce gets the same answer")]


class TicketReference(BaseModel):
    payload: str | None = Field(default=None, min_length=1, max_length=512, description="the QR code's content")
    ticket_number: str | None = Field(default=None, min_length=3, max_length=20,
                                      description="the ticket number, typed in when a code will not scan")

    @model_validator(mode="after")
    def one_reference(self):
        if (self.payload is None) == (self.ticket_number is None):
            raise ValueError("give either payload or ticket_number")
        return self


class ScanIn(TicketReference):
    list_id: uuid.UUID | None = Field(
        default=None, description="the check-in list; the device's only list or the event's default list if omitted")
    gate: str | None = Field(default=None, min_length=1, max_length=100,
                             description="where the scan happens; a device's registered gate if omitted")
    direction: Direction = Direction.ENTRY
    nonce: Nonce


class ScannedTicket(BaseModel):
    id: uuid.UUID
    number: str
    ticket_type: str
    holder_name: str | None
    holder_company: str | None


class CheckInView(BaseModel):
    gate: str
    checked_in_at: datetime
    list: str


class ConflictView(BaseModel):
    id: uuid.UUID
    kept_check_in_id: uuid.UUID
    kept_gate: str
    kept_checked_in_at: datetime


class ScanOut(BaseModel):
    result: ScanResult
    admitted: bool
    message: str
    ticket: ScannedTicket | None
    check_in: CheckInView | None = Field(description="this admission or exit, or the earlier admission")
    conflict: ConflictView | None = Field(default=None, description="offline: the admission this one met")


@router.post("/scans", summary="Scan a ticket at a gate", response_model=ScanOut,
             description="Always 200 once the scan is decided: the outcome is in `result`.")
async def scan(body: ScanIn, http: Request, service: ServiceDep, scanner: ScannerDep) -> Response:
    request = _scan_input(body, scanner)
    # The common admission in one statement, its answer already JSON (a device's scan was
    # tried there already by `admit_at_once`); everything else decided in full.
    tried = scanner.device_id is not None and declined_by_fast_route(http)
    if not tried and (answer := await _try_admit(service, request, scanner)) is not None:
        return Response(answer, media_type="application/json")
    async with service.database.unit_of_work() as uow:
        decided = await scanning.scan(uow, request, scanner)
    return Response(ScanOut.model_validate(decided).model_dump_json(), media_type="application/json")


async def admit_at_once(service: Service, request: FastRequest) -> FastAnswer | None:
    """`scan`'s common admission by a device, as a fast route: a gate's busiest request skips the
    framework's request handling. Anything else (no device token, a body `ScanIn` refuses, a refusal,
    an error) returns None, and `scan` decides and answers it."""
    try:
        scanner = await device_scanner(service, request.header(b"authorization"))
        if scanner is None:
            return None
        scan_input = _scan_input(ScanIn.model_validate_json(request.body), scanner)
        answer = await _try_admit(service, scan_input, scanner)
    except (ApiError, ValidationError):
        return None
    return None if answer is None else FastAnswer(answer.encode())


async def _try_admit(service: Service, request: scanning.ScanInput, scanner: Scanner) -> str | None:
    return await admission.try_admit(service.database, service.extras["directory"], request, scanner)


def _scan_input(body: ScanIn, scanner: Scanner) -> scanning.ScanInput:
    return scanning.ScanInput(gate=body.gate or scanner.gate or "unnamed gate", nonce=body.nonce,
                              payload=body.payload, ticket_number=body.ticket_number, list_id=body.list_id,
                              direction=body.direction)


class SyncKey(BaseModel):
    key_id: str
    public_key: str = Field(description="raw Ed25519 public key, base64url")


class SyncList(BaseModel):
    id: uuid.UUID
    name: str
    ticket_type_ids: list[uuid.UUID] | None
    valid_from: datetime | None
    valid_until: datetime | None
    allow_exit: bool
    allow_reentry: bool


class SyncTicket(BaseModel):
    id: uuid.UUID
    number: str
    ticket_type_id: uuid.UUID | None
    ticket_type: str
    secret_version: int = Field(description="QR codes with a lower secret version are revoked")
    voided: bool
    holder_name: str | None
    holder_company: str | None


class SyncOut(BaseModel):
    event_id: uuid.UUID
    keys: list[SyncKey]
    lists: list[SyncList]
    tickets: list[SyncTicket] = Field(description="tickets changed after the cursor asked for, in change order")
    voided_ticket_ids: list[uuid.UUID]
    cursor: int = Field(description="ask with after=<cursor> next time")
    more: bool = Field(description="more changes wait: ask again at once")


@router.get("/events/{event_id}/offline-sync", response_model=SyncOut,
            summary="What a scanner needs to decide offline, changes after a cursor",
            description="Compressed with gzip when the scanner accepts it: a large event's first download is "
                        "mostly ticket numbers and names, which compress about fivefold.")
async def offline_sync(event_id: uuid.UUID, request: Request, service: ServiceDep, scanner: ScannerDep,
                       after: int = Query(default=0, ge=0, le=MAX_BIGINT), limit: int = Query(default=10_000, ge=1, le=50_000)
                       ) -> Response:
    async with service.database.sessions() as session:
        page = SyncOut.model_validate(await offline.sync(session, event_id, after=after, limit=limit, scanner=scanner))
    body = page.model_dump_json().encode()
    if "gzip" not in request.headers.get("accept-encoding", ""):
        return Response(body, media_type="application/json")
    return Response(gzip.compress(body, compresslevel=6), media_type="application/json",
                    headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})


class OfflineScanIn(TicketReference):
    nonce: Nonce
    scanned_at: AwareDatetime = Field(description="when the scanner admitted the ticket")
    list_id: uuid.UUID | None = None
    gate: str | None = Field(default=None, min_length=1, max_length=100)


class OfflineBatchIn(BaseModel):
    scans: list[OfflineScanIn] = Field(min_length=1, max_length=5000)


class ApiErrorView(BaseModel):
    code: str
    message: str


class OfflineResult(BaseModel):
    nonce: str
    result: ScanResult | None = None
    admitted: bool | None = None
    message: str | None = None
    ticket: ScannedTicket | None = None
    check_in: CheckInView | None = None
    conflict: ConflictView | None = None
    error: ApiErrorView | None = Field(default=None, description="the scan could not be decided (not allowed here)")


@router.post("/offline-scans", summary="Upload scans made offline",
             description="Each scan is decided at its own time and under its own nonce: uploading a batch "
                         "twice changes nothing. An admission of a ticket already admitted on the list is "
                         "reported in `conflict`, and published as ticket.check_in_conflicted.")
async def upload_offline_scans(body: OfflineBatchIn, service: ServiceDep, scanner: ScannerDep) -> list[OfflineResult]:
    batch = [offline.OfflineScan(nonce=s.nonce, scanned_at=s.scanned_at, payload=s.payload,
                                 ticket_number=s.ticket_number, list_id=s.list_id, gate=s.gate) for s in body.scans]
    async with service.database.unit_of_work() as uow:
        results = await offline.upload(uow, batch, scanner)
    return [OfflineResult.model_validate(r) for r in results]
