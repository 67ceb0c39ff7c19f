"""HTTP API of the notifications service: the message log (staff), push devices and the live stream (attendees)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from ticketflow_runtime import ApiError, NotFound, ServiceDep
from ticketflow_runtime.auth import Principal, scopes, staff_or_link
from ticketflow_runtime.errors import ERROR_RESPONSES

from .store.tables import messages, push_devices

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, tags=["notifications"])

StaffReader = Annotated[Principal, Depends(scopes("notifications:read"))]
# Staff may act for a person (support), naming them with ?person_id=.
PersonOrStaff = Annotated[Principal, Depends(staff_or_link("notifications:write", "attendee"))]


def _person(who: Principal, person_id: uuid.UUID | None) -> uuid.UUID:
    if not who.is_staff:
        return uuid.UUID(who.claims["person_id"])
    if person_id is None:
        raise ApiError(422, "person_required", "Staff name the person with ?person_id=.")
    return person_id


class MessageView(BaseModel):
    id: uuid.UUID
    channel: str
    template: str
    recipient: str
    language: str
    subject_id: str
    status: str = Field(description="pending, sending, sent or failed")
    attempts: int
    interrupted_attempts: int = Field(description="attempts cut short by a crash: each may have delivered a copy")
    last_error: str | None = Field(description="the last answer of the SMTP server or push provider")
    created_at: datetime
    sent_at: datetime | None


@router.get("/messages", summary="The message log: to whom, which template, when, delivery state and error")
async def list_messages(
    service: ServiceDep, staff: StaffReader,
    recipient: str | None = None,
    subject_id: str | None = Query(default=None, description="an order or ticket id"),
    template: str | None = None,
    status: Literal["pending", "sending", "sent", "failed"] | None = None,
    channel: Literal["email", "push"] | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[MessageView]:
    conditions = []
    for column, value in ((messages.c.recipient, recipient), (messages.c.subject_id, subject_id),
                          (messages.c.template, template), (messages.c.status, status), (messages.c.channel, channel)):
        if value is not None:
            conditions.append(column == value)
    async with service.database.sessions() as session:
        rows = (
            # The view's columns only: a message's context may hold a whole invoice PDF.
            await session.execute(select(*(messages.c[name] for name in MessageView.model_fields))
                                  .where(*conditions).order_by(messages.c.created_at.desc()).limit(limit))
        ).all()
    return [MessageView(**r._mapping) for r in rows]


class DeviceIn(BaseModel):
    platform: Literal["ios", "android"]
    token: str = Field(min_length=8, max_length=512, description="the APNs device token or FCM registration token")


class DeviceView(DeviceIn):
    id: uuid.UUID
    person_id: uuid.UUID
    created_at: datetime


@router.post("/me/devices", status_code=201, summary="Register this app's push token for the person")
async def register_device(body: DeviceIn, service: ServiceDep, who: PersonOrStaff,
                          person_id: uuid.UUID | None = None) -> DeviceView:
    person = _person(who, person_id)
    async with service.database.unit_of_work() as uow:
        # A token belongs to one app install: registering it again moves it to this person.
        row = (await uow.session.execute(
            insert(push_devices).values(id=uuid.uuid4(), person_id=person, platform=body.platform, token=body.token)
            .on_conflict_do_update(index_elements=[push_devices.c.platform, push_devices.c.token],
                                   set_={"person_id": person})
            .returning(push_devices))).one()
    return DeviceView(**row._mapping)


@router.get("/me/devices", summary="The person's registered devices")
async def list_devices(service: ServiceDep, who: PersonOrStaff, person_id: uuid.UUID | None = None) -> list[DeviceView]:
    person = _person(who, person_id)
    async with service.database.sessions() as session:
        rows = (await session.execute(select(push_devices).where(push_devices.c.person_id == person)
                                      .order_by(push_devices.c.created_at))).all()
    return [DeviceView(**r._mapping) for r in rows]


@router.delete("/me/devices/{device_id}", status_code=204, summary="Unregister a device: no more pushes to it")
async def unregister_device(device_id: uuid.UUID, service: ServiceDep, who: PersonOrStaff,
                            person_id: uuid.UUID | None = None) -> None:
    person = _person(who, person_id)
    async with service.database.unit_of_work() as uow:
        removed = await uow.session.execute(delete(push_devices).where(
            push_devices.c.id == device_id, push_devices.c.person_id == person).returning(push_devices.c.id))
        if removed.first() is None:
            raise NotFound("device_not_found", f"No device {device_id}.")


@router.get("/me/updates", summary="The person's ticket updates as Server-Sent Events",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "events ticket_arrived, ticket_changed, ticket_voided, ticket_removed, "
                                            "checked_in; resumable with Last-Event-ID"}},
            description="Opens at the newest update, or after `Last-Event-ID` (the header, or `last_event_id` "
                        "for clients that cannot set it). Browsers pass the link's token as `access_token`.")
async def updates(request: Request, service: ServiceDep, who: PersonOrStaff, person_id: uuid.UUID | None = None,
                  last_event_id_header: str | None = Header(default=None, alias="Last-Event-ID"),
                  last_event_id: int | None = Query(default=None, ge=0)) -> StreamingResponse:
    person = _person(who, person_id)
    hub = service.extras["updates"]
    resume = last_event_id_header or last_event_id
    try:
        after = int(resume) if resume is not None else await hub.latest(person)
    except ValueError as error:
        raise ApiError(422, "invalid_last_event_id", "Last-Event-ID is the id of an update.") from error
    return StreamingResponse(hub.stream(person, after, request.is_disconnected), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
