"""Request coalescing: concurrent callers share one statement, each gets its own rows back."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import pytest

from ticketflow_runtime.coalescing import CoalescedStatement


class RecordingConnection:
    """Answers each statement with one row per position whose number is even (odd ones find nothing)."""

    def __init__(self, fail_with: Exception | None = None) -> None:
        self.calls: list[list[list]] = []
        self.fail_with = fail_with
        self.release = asyncio.Event()
        self.release.set()

    async def fetch(self, sql: str, *columns: list) -> list[dict]:
        self.calls.append(list(columns))
        await self.release.wait()
        if self.fail_with is not None:
            raise self.fail_with
        values = columns[0]
        return [{"position": position, "value": value * 10}
                for position, value in enumerate(values, start=1) if value % 2 == 0]


class StubDatabase:
    def __init__(self, connection: RecordingConnection) -> None:
        self.connection = connection

    @asynccontextmanager
    async def driver_connection(self):
        yield self.connection


async def test_a_lone_caller_runs_at_once_with_one_element_arrays():
    connection = RecordingConnection()
    statement = CoalescedStatement(StubDatabase(connection), "SELECT ...")
    assert [dict(row) for row in await statement.fetch(4, "x")] == [{"position": 1, "value": 40}]
    assert connection.calls == [[[4], ["x"]]]


async def test_callers_arriving_while_statements_run_share_the_next_one():
    connection = RecordingConnection()
    connection.release.clear()
    statement = CoalescedStatement(StubDatabase(connection), "SELECT ...", in_flight=1)
    first = asyncio.create_task(statement.fetch(2, "a"))
    await asyncio.sleep(0)
    later = [asyncio.create_task(statement.fetch(n, str(n))) for n in range(3, 9)]
    await asyncio.sleep(0)
    connection.release.set()
    results = await asyncio.gather(first, *later)
    assert connection.calls == [[[2], ["a"]], [[3, 4, 5, 6, 7, 8], ["3", "4", "5", "6", "7", "8"]]]
    # Each caller gets the rows of its own position, none when its parameters found nothing.
    assert [[row["value"] for row in rows] for rows in results] == [[20], [], [40], [], [60], [], [80]]


async def test_batches_are_cut_at_their_largest_size():
    connection = RecordingConnection()
    connection.release.clear()
    statement = CoalescedStatement(StubDatabase(connection), "SELECT ...", in_flight=1, max_batch=3)
    callers = [asyncio.create_task(statement.fetch(n)) for n in range(7)]
    await asyncio.sleep(0)
    connection.release.set()
    await asyncio.gather(*callers)
    assert [call[0] for call in connection.calls] == [[0, 1, 2], [3, 4, 5], [6]]


async def test_a_failing_statement_fails_every_caller_of_its_batch_and_no_other():
    connection = RecordingConnection(fail_with=ValueError("duplicate key"))
    connection.release.clear()
    statement = CoalescedStatement(StubDatabase(connection), "SELECT ...", in_flight=1)
    callers = [asyncio.create_task(statement.fetch(n)) for n in range(3)]
    await asyncio.sleep(0)
    connection.release.set()
    results = await asyncio.gather(*callers, return_exceptions=True)
    assert all(isinstance(result, ValueError) for result in results)
    connection.fail_with = None
    assert [row["value"] for row in await statement.fetch(6)] == [60]


async def test_a_caller_that_gives_up_leaves_the_others_their_answers():
    connection = RecordingConnection()
    connection.release.clear()
    statement = CoalescedStatement(StubDatabase(connection), "SELECT ...", in_flight=1)
    first = asyncio.create_task(statement.fetch(0))
    await asyncio.sleep(0)
    quitter, stayer = asyncio.create_task(statement.fetch(2)), asyncio.create_task(statement.fetch(4))
    await asyncio.sleep(0)
    quitter.cancel()
    connection.release.set()
    assert [row["value"] for row in await stayer] == [40]
    await first
    with pytest.raises(asyncio.CancelledError):
        await quitter


async def test_callers_with_mismatched_parameters_get_an_error_not_a_hang():
    statement = CoalescedStatement(StubDatabase(RecordingConnection()), "SELECT ...", in_flight=1)
    callers = [asyncio.create_task(statement.fetch(1, "a")), asyncio.create_task(statement.fetch(2))]
    results = await asyncio.wait_for(asyncio.gather(*callers, return_exceptions=True), timeout=5)
    assert all(isinstance(result, ValueError) for result in results)
