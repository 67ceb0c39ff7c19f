"""The HTTP protocol's joined writes: a small response in one write, large bodies as they come, nothing lost."""

from __future__ import annotations

import asyncio
import socket

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from ticketflow_runtime.http_protocol import MAX_HELD, JoinedWrites, JoinedWritesProtocol


class RecordingTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str):
        return {"peername": ("127.0.0.1", 5000)}.get(name)


async def test_writes_in_one_turn_of_the_loop_go_out_as_one() -> None:
    transport = RecordingTransport()
    joined = JoinedWrites(transport, asyncio.get_running_loop())
    joined.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    joined.write(b"{}")
    assert transport.writes == []
    await asyncio.sleep(0)
    assert transport.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    joined.write(b"next")
    await asyncio.sleep(0)
    assert transport.writes[1:] == [b"next"]


async def test_a_large_body_goes_out_at_once_after_what_was_held() -> None:
    transport = RecordingTransport()
    joined = JoinedWrites(transport, asyncio.get_running_loop())
    joined.write(b"head")
    joined.write(b"x" * MAX_HELD)
    assert transport.writes == [b"head", b"x" * MAX_HELD]
    await asyncio.sleep(0)
    assert len(transport.writes) == 2


async def test_closing_sends_what_is_held_first_and_nothing_after() -> None:
    transport = RecordingTransport()
    joined = JoinedWrites(transport, asyncio.get_running_loop())
    joined.write(b"last words")
    joined.close()
    assert transport.writes == [b"last words"] and transport.closed
    joined.write(b"too late")
    await asyncio.sleep(0)
    assert transport.writes == [b"last words"]
    assert joined.get_extra_info("peername") == ("127.0.0.1", 5000)  # anything else is the transport's


STREAMED = [bytes([n % 251]) * 4096 for n in range(300)]  # 1.2 MiB, beyond what is held


async def small(_request) -> JSONResponse:
    return JSONResponse({"result": "admitted", "name": "Zoë"})


async def streamed(_request) -> StreamingResponse:
    async def chunks():
        for chunk in STREAMED:
            yield chunk

    return StreamingResponse(chunks(), media_type="application/octet-stream")


async def test_a_real_server_answers_whole_over_kept_alive_connections() -> None:
    app = Starlette(routes=[Route("/small", small), Route("/streamed", streamed)])
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, http=JoinedWritesProtocol, lifespan="off", log_config=None,
                                           access_log=False))
    serving = asyncio.create_task(server.serve(sockets=[listening]))
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                     limits=httpx.Limits(max_connections=1)) as client:
            for _ in range(20):
                answer = await client.get("/small")
                assert answer.status_code == 200 and answer.json() == {"result": "admitted", "name": "Zoë"}
            answer = await client.get("/streamed")
            assert answer.content == b"".join(STREAMED)
            answers = await asyncio.gather(*(client.get("/small") for _ in range(10)))
            assert all(answer.json()["result"] == "admitted" for answer in answers)
    finally:
        server.should_exit = True
        await serving
