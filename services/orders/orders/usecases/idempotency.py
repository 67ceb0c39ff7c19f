"""Idempotency keys: a creation retried after a lost answer returns the first one's result.

A client sends ``Idempotency-Key: <its own unique string>`` with an order
creation; the same key again (same caller, same request) gets the order the
first request placed, never a second one. The same key with another request is
refused: the key was reused by mistake.
"""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import select, text, update

from ticketflow_runtime import UnitOfWork, Unprocessable

from ..store.tables import idempotency_keys

_CLAIM = text("""
    INSERT INTO idempotency_keys (principal, key, request_hash) VALUES (:principal, :key, :request_hash)
    ON CONFLICT DO NOTHING RETURNING key""")


def request_hash(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


async def earlier_result(uow: UnitOfWork, principal: str, key: str, body_hash: str) -> uuid.UUID | None:
    """The order an earlier request with ``key`` placed; None if the key is new (it is now claimed).

    A concurrent request with the same key waits at the claim until the first
    one commits (then finds its order) or rolls back (then claims the key itself).
    """
    claimed = (await uow.session.execute(_CLAIM, {"principal": principal, "key": key,
                                                  "request_hash": body_hash})).first()
    if claimed is not None:
        return None
    earlier = (await uow.session.execute(select(idempotency_keys).where(
        idempotency_keys.c.principal == principal, idempotency_keys.c.key == key))).one()
    if earlier.request_hash != body_hash:
        raise Unprocessable("idempotency_key_reused",
                            "This Idempotency-Key came with another request: use a new key for a new order.")
    return earlier.order_id


async def remember(uow: UnitOfWork, principal: str, key: str, order_id: uuid.UUID) -> None:
    await uow.session.execute(update(idempotency_keys).where(
        idempotency_keys.c.principal == principal, idempotency_keys.c.key == key).values(order_id=order_id))
