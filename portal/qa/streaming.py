"""The answer stream under ASGI: a bounded number of answers generate at once; the rest wait in
line without holding a thread, told their place; when the line is full, 503 with Retry-After.

Why this shape: the engine (portal/qa/engine) is synchronous (ORM, FAISS, the HTTP client to the
inference server) and an answer takes seconds. Running it in a thread per request would hold a
thread for every waiting citizen and hand the inference server more concurrent prompts than it
has slots, so everyone's first sentence would come later. Here ``ANSWER_STREAM_SLOTS`` answers run
at once (per web process; set it to the server's slots divided by the web processes), each in
its request's own sync thread; up to ``ANSWER_STREAM_QUEUE`` more wait as asyncio futures and get a
``queued`` event with their position whenever it changes.

The gate is thread-safe and not tied to one event loop (waking a waiter goes through its own
loop's ``call_soon_threadsafe``), because the engine's thread releases the slot, and under WSGI
test servers each request runs in a loop of its own.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import JsonResponse

_END = object()


@dataclass(eq=False)
class Ticket:
    """One request's claim on a generation slot: admitted at once, or waiting in line."""

    admitted: bool = False
    _loop: asyncio.AbstractEventLoop | None = None
    _ready: asyncio.Future | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def _wake(self, *, admitted: bool) -> None:
        def wake() -> None:
            if admitted and self._ready is not None and not self._ready.done():
                self._ready.set_result(True)
            self._changed.set()

        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(wake)


class GenerationGate:
    """``slots`` running at once, ``queue`` waiting; ``admit`` returns None when both are full."""

    def __init__(self, *, slots: int, queue: int) -> None:
        self.slots = slots
        self.queue = queue
        self.running = 0
        self._waiting: deque[Ticket] = deque()
        self._lock = threading.Lock()

    @property
    def full(self) -> bool:
        with self._lock:
            return self.running >= self.slots and len(self._waiting) >= self.queue

    def admit(self) -> Ticket | None:
        """Call from the event loop that will wait on the ticket."""
        with self._lock:
            if self.running < self.slots and not self._waiting:
                self.running += 1
                return Ticket(admitted=True)
            if len(self._waiting) >= self.queue:
                return None
            loop = asyncio.get_running_loop()
            ticket = Ticket(_loop=loop, _ready=loop.create_future())
            self._waiting.append(ticket)
            return ticket

    def position(self, ticket: Ticket) -> int:
        with self._lock:
            return self._waiting.index(ticket) + 1 if ticket in self._waiting else 0

    def release(self) -> None:
        """A running answer finished (from any thread): the first in line takes its slot."""
        with self._lock:
            self.running -= 1
            woken = self._admit_next()
            behind = list(self._waiting)
        for ticket in ([woken] if woken else []) + behind:
            ticket._wake(admitted=ticket is woken)

    def abandon(self, ticket: Ticket) -> bool:
        """A client went away before its answer started. False when its ticket had already been
        admitted (the caller then releases the slot it holds)."""
        with self._lock:
            waiting = ticket in self._waiting
            if waiting:
                self._waiting.remove(ticket)
            behind = list(self._waiting)
        for other in behind:
            other._wake(admitted=False)
        return waiting

    def _admit_next(self) -> Ticket | None:
        if self._waiting and self.running < self.slots:
            self.running += 1
            ticket = self._waiting.popleft()
            ticket.admitted = True
            return ticket
        return None

    async def wait_turn(self, ticket: Ticket) -> AsyncIterator[int]:
        """Yield the ticket's position each time it changes, until it is admitted."""
        reported = None
        while not ticket.admitted:
            position = self.position(ticket)
            if position and position != reported:
                reported = position
                yield position
            ticket._changed.clear()
            if ticket.admitted:
                break
            await ticket._changed.wait()


_gate: GenerationGate | None = None
_init_lock = threading.Lock()


def generation_gate() -> GenerationGate:
    global _gate
    with _init_lock:
        if _gate is None:
            _gate = GenerationGate(
                slots=settings.ANSWER_STREAM_SLOTS, queue=settings.ANSWER_STREAM_QUEUE
            )
        return _gate


def gate_reset() -> None:
    """Forget the gate (tests change the settings)."""
    global _gate
    with _init_lock:
        _gate = None


def _pump(events: Iterator[dict], loop: asyncio.AbstractEventLoop, out: asyncio.Queue,
          stop: threading.Event, gate: GenerationGate) -> None:  # fmt: skip
    """Run the synchronous engine in a pool thread, handing each event to the request's loop.
    The slot is released here, when the engine has really finished, not when the client left."""

    def put(item: object) -> None:
        if not loop.is_closed():
            loop.call_soon_threadsafe(out.put_nowait, item)

    try:
        for event in events:
            put(event)
            if stop.is_set():  # the reader left: finish the answer's record, send nothing more
                break
    except BaseException as exc:
        put(exc)
    finally:
        events.close()  # the engine finalises the answer (portal/qa/engine/answer.py)
        gate.release()
        put(_END)


async def gated_events(events: Iterator[dict], ticket: Ticket) -> AsyncIterator[dict]:
    """The engine's events behind the gate: ``queued`` while waiting, then the engine's own."""
    gate = generation_gate()
    started = False
    stop = threading.Event()
    try:
        async for position in gate.wait_turn(ticket):
            yield {"event": "queued", "position": position}
        loop = asyncio.get_running_loop()
        out: asyncio.Queue = asyncio.Queue()
        # thread_sensitive: the request's own sync thread (Django gives each ASGI request one),
        # so the engine uses the request's database connection, which Django closes when the
        # request finishes. Only admitted answers get here, so the gate bounds these threads.
        pump = sync_to_async(_pump, thread_sensitive=True)
        running = asyncio.ensure_future(pump(events, loop, out, stop, gate))
        started = True
        while (item := await out.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
        await running
    finally:
        stop.set()
        if not started:
            if not gate.abandon(ticket):
                gate.release()
            events.close()


class Busy(Exception):
    """Every generation slot is taken and the line is full: answer 503 with Retry-After."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__("the service is busy answering other questions; try again shortly")
        self.retry_after_s = retry_after_s


async def gated_answer_stream(start: Callable[[], Iterator[dict]]) -> AsyncIterator[dict]:
    """The engine's events for one request, behind the gate. ``start`` (sync: it reads the
    session and checks the ask budget, raising ``RateLimited``) returns the engine's stream
    without running it. A full line raises ``Busy`` before the budget is charged."""
    gate = generation_gate()
    retry = settings.ANSWER_STREAM_RETRY_AFTER_S
    if gate.full:
        raise Busy(retry)
    events = await sync_to_async(start)()
    ticket = gate.admit()
    if ticket is None:  # filled up while the budget was checked
        events.close()
        raise Busy(retry)
    return gated_events(events, ticket)


def busy_response(exc: Busy) -> JsonResponse:
    response = JsonResponse({"detail": str(exc), "retry_after_s": exc.retry_after_s}, status=503)
    response["Retry-After"] = str(exc.retry_after_s)
    return response
