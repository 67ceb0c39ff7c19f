"""Setting up the gates (staff): check-in lists and scanner devices."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, Field

from ticketflow_runtime import ServiceDep
from ticketflow_runtime.errors import ERROR_RESPONSES

from ..access import StaffReader, StaffWriter
from ..usecases import gates

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, tags=["gates"])


class ListIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    ticket_type_ids: list[uuid.UUID] | None = Field(default=None, description="the types it admits; null: every type")
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    allow_exit: bool = Field(default=False, description="exits are scanned too")
    allow_reentry: bool = Field(default=False, description="after an exit, the ticket may enter again")

    def rules(self) -> gates.ListRules:
        return gates.ListRules(**self.model_dump())


class ListView(ListIn):
    id: uuid.UUID
    event_id: uuid.UUID
    is_default: bool


def _list_view(row) -> ListView:
    return ListView(id=row.id, event_id=row.event_id, is_default=row.is_default, name=row.name,
                    ticket_type_ids=row.ticket_type_ids, valid_from=row.valid_from, valid_until=row.valid_until,
                    allow_exit=row.allow_exit, allow_reentry=row.allow_reentry)


@router.get("/events/{event_id}/lists", summary="The event's check-in lists")
async def event_lists(event_id: uuid.UUID, service: ServiceDep, staff: StaffReader) -> list[ListView]:
    async with service.database.sessions() as session:
        return [_list_view(row) for row in await gates.event_lists(session, event_id)]


@router.post("/events/{event_id}/lists", status_code=201, summary="Add a check-in list")
async def create_list(event_id: uuid.UUID, body: ListIn, service: ServiceDep, staff: StaffWriter) -> ListView:
    async with service.database.unit_of_work() as uow:
        list_id = await gates.create_list(uow, event_id, body.rules())
        return _list_view(await gates.load_list(uow.session, list_id))


@router.put("/lists/{list_id}", summary="Change a check-in list's name and rules")
async def update_list(list_id: uuid.UUID, body: ListIn, service: ServiceDep, staff: StaffWriter) -> ListView:
    async with service.database.unit_of_work() as uow:
        await gates.update_list(uow, list_id, body.rules())
        return _list_view(await gates.load_list(uow.session, list_id))


class DeviceIn(BaseModel):
    name: str = Field(min_length=1, max_length=200, examples=["Scanner 3"])
    gate: str = Field(min_length=1, max_length=100, examples=["North gate"])
    list_ids: list[uuid.UUID] = Field(min_length=1, max_length=50)


class DeviceView(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    name: str
    gate: str
    list_ids: list[uuid.UUID]
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


class RegisteredDevice(DeviceView):
    token: str = Field(description="the device's bearer token: shown once, store it on the device")


def _device_view(row) -> dict:
    return {"id": row.id, "event_id": row.event_id, "name": row.name, "gate": row.gate, "list_ids": row.list_ids,
            "created_by": row.created_by, "created_at": row.created_at, "revoked_at": row.revoked_at}


@router.post("/events/{event_id}/devices", status_code=201, summary="Register a scanner device",
             description="The token is bound to the event, the lists and the gate; it is shown only here.")
async def register_device(event_id: uuid.UUID, body: DeviceIn, service: ServiceDep,
                          staff: StaffWriter) -> RegisteredDevice:
    async with service.database.unit_of_work() as uow:
        device_id, token = await gates.register_device(uow, event_id, name=body.name, gate=body.gate,
                                                            list_ids=body.list_ids, actor=staff.actor)
        row = next(d for d in await gates.event_devices(uow.session, event_id) if d.id == device_id)
    return RegisteredDevice(**_device_view(row), token=token)


@router.get("/events/{event_id}/devices", summary="The event's scanner devices")
async def event_devices(event_id: uuid.UUID, service: ServiceDep, staff: StaffReader) -> list[DeviceView]:
    async with service.database.sessions() as session:
        return [DeviceView(**_device_view(row)) for row in await gates.event_devices(session, event_id)]


@router.post("/devices/{device_id}/revoke", status_code=204, summary="Revoke a device: its token stops working")
async def revoke_device(device_id: uuid.UUID, service: ServiceDep, staff: StaffWriter) -> None:
    async with service.database.unit_of_work() as uow:
        digest = await gates.revoke_device(uow, device_id)
    service.extras["devices"].forget(digest)  # here at once; other processes by NOTIFY
