"""The floor of an online scan on this machine: HTTP in, one row written durably, JSON out.

    FLOOR_DATABASE_URL=postgresql://... uvicorn ticketflow_local.bench.floor_app:app

A bare ASGI application on the server the services run on (uvicorn, with its
uvloop and httptools), without a framework, tokens, signatures or events: each
POST stores its nonce in ``scan_floor`` (created by the benchmark) and answers
whether it was new. Whatever else a scan does costs on top of this.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import asyncpg

TABLE = "scan_floor"
_INSERT = (f"INSERT INTO {TABLE} (nonce, payload, gate, scanned_at) VALUES ($1, $2, $3, $4) "
           "ON CONFLICT (nonce) DO NOTHING RETURNING nonce")
POOL_SIZE = 32  # as each service keeps (DATABASE_POOL_SIZE)
_pool: asyncpg.Pool | None = None


async def app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    scan = json.loads(body)
    now = datetime.now(UTC)
    stored = await _pool.fetchval(_INSERT, scan["nonce"], scan["payload"], scan.get("gate"), now)
    answer = {"result": "admitted" if stored else "already_checked_in", "checked_in_at": now.isoformat()}
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps(answer, separators=(",", ":")).encode()})


async def _lifespan(receive, send) -> None:
    global _pool
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            _pool = await asyncpg.create_pool(os.environ["FLOOR_DATABASE_URL"], min_size=POOL_SIZE, max_size=POOL_SIZE)
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await _pool.close()
            await send({"type": "lifespan.shutdown.complete"})
            return
