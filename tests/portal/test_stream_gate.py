"""The answer stream's gate (portal/qa/streaming.py): a bounded number of answers run at once,
the rest wait in line and are told their place, a full line is refused, and a slot is given
back only when the engine has really finished."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from portal.qa import streaming
from portal.qa.streaming import GenerationGate, gated_events
from tests.streams import run_coroutine


def _run(coro):
    return run_coroutine(coro)


def test_admits_up_to_the_slots_then_queues_then_refuses():
    async def scenario():
        gate = GenerationGate(slots=2, queue=1)
        first, second = gate.admit(), gate.admit()
        assert first.admitted and second.admitted
        waiting = gate.admit()
        assert waiting is not None and not waiting.admitted
        assert gate.position(waiting) == 1
        assert gate.full and gate.admit() is None  # 2 running + 1 waiting: the line is full
        gate.release()  # one answer finished: the first in line takes its slot
        assert waiting.admitted and gate.running == 2 and not gate.full

    _run(scenario())


def test_waiters_hear_their_position_change_and_their_turn():
    async def scenario():
        gate = GenerationGate(slots=1, queue=3)
        assert gate.admit().admitted
        a, b = gate.admit(), gate.admit()
        heard: list[int] = []

        async def wait(ticket):
            async for position in gate.wait_turn(ticket):
                heard.append(position)

        waiter = asyncio.create_task(wait(b))
        await asyncio.sleep(0.01)
        assert heard == [2]
        assert gate.abandon(a) is True  # the first in line left: b moves up
        await asyncio.sleep(0.01)
        assert heard == [2, 1]
        # Released from another thread, as the engine's pool thread does.
        threading.Thread(target=gate.release).start()
        await asyncio.wait_for(waiter, 2)
        assert b.admitted and gate.running == 1

    _run(scenario())


def test_an_admitted_ticket_that_is_abandoned_must_be_released():
    async def scenario():
        gate = GenerationGate(slots=1, queue=1)
        ticket = gate.admit()
        assert gate.abandon(ticket) is False  # it was never waiting: the caller releases
        gate.release()
        assert gate.running == 0

    _run(scenario())


@pytest.fixture
def small_gate(settings):
    settings.ANSWER_STREAM_SLOTS = 1
    settings.ANSWER_STREAM_QUEUE = 2
    streaming.gate_reset()
    yield streaming.generation_gate()
    streaming.gate_reset()


def _engine(events: list[dict], started: threading.Event, finish: threading.Event, log: list):
    """A stand-in engine with the real one's shape: a generator that finalises on close."""
    try:
        started.set()
        for event in events:
            finish.wait(5)
            yield event
        log.append("finished")
    finally:
        log.append("closed")


def test_gated_events_queue_then_run_and_release_when_the_engine_ends(small_gate, db):
    async def scenario():
        first_started, go = threading.Event(), threading.Event()
        log: list[str] = []
        first = gated_events(
            _engine([{"event": "start"}, {"event": "done"}], first_started, go, log),
            small_gate.admit(),
        )
        second_ticket = small_gate.admit()
        second = gated_events(
            _engine([{"event": "done"}], threading.Event(), go, log), second_ticket
        )
        got_first = asyncio.create_task(_collect(first))
        await asyncio.sleep(0.05)
        queued = await anext(second)
        assert queued == {"event": "queued", "position": 1}
        go.set()
        assert [e["event"] for e in await got_first] == ["start", "done"]
        rest = [e async for e in second]
        assert [e["event"] for e in rest] == ["done"]
        assert log == ["finished", "closed", "finished", "closed"]
        assert small_gate.running == 0  # both slots given back by the engine threads

    _run(scenario())


async def _collect(events):
    return [e async for e in events]


def test_a_reader_who_leaves_stops_the_engine_and_frees_the_slot(small_gate, db):
    log: list[str] = []

    def slow_engine():
        try:
            yield {"event": "a"}
            time.sleep(0.3)  # the model writes on while the reader is already gone
            yield {"event": "b"}
            yield {"event": "c"}
            log.append("finished")
        finally:
            log.append("closed")

    async def scenario():
        events = gated_events(slow_engine(), small_gate.admit())
        assert (await anext(events))["event"] == "a"
        await events.aclose()  # the client disconnected
        for _ in range(100):
            if small_gate.running == 0:
                break
            await asyncio.sleep(0.02)
        assert small_gate.running == 0
        assert "closed" in log and "finished" not in log

    _run(scenario())
