"""The generation interface every backend implements: request in, text deltas streamed out.

A backend is loaded once per process (the caller caches it) and used sequentially; each holds a
lock for the length of one generation, so two threads sharing it take turns instead of corrupting
the model's state. A stream takes that lock on its first ``next()`` and gives it back when it is
exhausted or closed, so abandon a stream with ``close()`` (or use it as a context manager) rather
than just dropping it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable


class BackendError(Exception):
    """Generation cannot happen; the message says what an operator should do about it."""


@dataclass(frozen=True)
class GenerationRequest:
    messages: list[dict[str, str]]  # {"role": "system"|"user"|"assistant", "content": ...}
    max_tokens: int = 256
    temperature: float = 0.0
    stop: tuple[str, ...] = ()
    grammar: str | None = None  # GBNF; backends that cannot constrain ignore it
    seed: int = 0
    # The question and its numbered passages: the extractive backend answers from these alone; the
    # others get them inside ``messages`` already.
    question: str = ""
    passages: tuple[tuple[str, str], ...] = ()  # (label such as "1", passage text)
    # (label, the passage's document title): context a passage's sentences share, e.g. the law
    # "中华人民共和国社会保险法" that names the 社会保险 a question calls 社保.
    titles: tuple[tuple[str, str], ...] = ()
    language: str = "en"  # "en" | "zh"


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    first_token_s: float | None = None  # wall time from the first next() to the first text delta
    prefill_s: float | None = None  # prompt evaluation (engine timer where there is one)
    decode_s: float | None = None  # token generation after the first token
    total_s: float = 0.0
    constrained: bool = False  # True when the grammar was actually enforced
    finish_reason: str | None = None  # "stop" (end of text or a stop string), "length", "closed"
    # Prompt tokens the engine took from its cache instead of evaluating (llama.cpp prefix reuse).
    cached_prompt_tokens: int = 0

    @property
    def decode_tok_s(self) -> float | None:
        # The first token comes out of the prefill pass, so decode speed counts the others.
        if not self.decode_s or self.completion_tokens < 2:
            return None
        return (self.completion_tokens - 1) / self.decode_s

    @property
    def prefill_tok_s(self) -> float | None:
        evaluated = self.prompt_tokens - self.cached_prompt_tokens
        if not self.prefill_s or evaluated <= 0:
            return None
        return evaluated / self.prefill_s


class GenerationStream(Iterator[str]):
    """Text deltas from one generation; ``usage`` is complete once the stream is exhausted.

    ``produce(usage)`` is a generator function that yields deltas and fills ``usage`` as it goes
    (token counts, engine timings). The stream adds wall-clock timings and serialises generations
    through the backend's lock.
    """

    def __init__(
        self,
        produce: Callable[[Usage], Iterator[str]],
        *,
        lock: threading.Lock | None = None,
        constrained: bool = False,
    ) -> None:
        self.usage = Usage(constrained=constrained)
        self._produce = produce
        self._lock = lock
        self._inner: Iterator[str] | None = None
        self._locked = False
        self._done = False
        self._started_at = 0.0

    def __iter__(self) -> GenerationStream:
        return self

    def __next__(self) -> str:
        if self._done:
            raise StopIteration
        if self._inner is None:
            if self._lock is not None:
                self._lock.acquire()
                self._locked = True
            self._started_at = time.perf_counter()
            self._inner = self._produce(self.usage)
        try:
            while True:
                delta = next(self._inner)
                if delta:
                    break
        except StopIteration:
            self._finish()
            raise
        except BaseException:
            self._finish()
            raise
        if self.usage.first_token_s is None:
            self.usage.first_token_s = time.perf_counter() - self._started_at
        return delta

    def close(self) -> None:
        """Stop generating now (the backend stops at its next token) and release the backend."""
        if self._done:
            return
        if self._inner is not None and hasattr(self._inner, "close"):
            self._inner.close()  # runs the producer's finally: blocks and threads are torn down
            if self.usage.finish_reason is None:
                self.usage.finish_reason = "closed"
        self._finish()

    def _finish(self) -> None:
        if self._done:
            return
        self._done = True
        if self._inner is not None:
            self.usage.total_s = time.perf_counter() - self._started_at
            if self.usage.first_token_s is not None and self.usage.decode_s is None:
                self.usage.decode_s = max(0.0, self.usage.total_s - self.usage.first_token_s)
            if self.usage.prefill_s is None:
                # Without an engine timer, the time to the first token is the prefill.
                self.usage.prefill_s = self.usage.first_token_s
        if self._locked and self._lock is not None:
            self._locked = False
            self._lock.release()

    def __enter__(self) -> GenerationStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # A stream dropped half-read must not keep the backend locked forever.
        if self._locked and not self._done:
            self.close()


@runtime_checkable
class Backend(Protocol):
    kind: str  # "llamacpp" | "transformers" | "openai" | "extractive"
    model_id: str  # file name and pinned hash, or the server's model name
    adapter_id: str | None

    def stream(self, request: GenerationRequest) -> GenerationStream: ...

    def generate(self, request: GenerationRequest) -> tuple[str, Usage]: ...

    def warm(self, request: GenerationRequest, *, slot: int | None = None) -> None: ...


class BaseBackend:
    """Shared plumbing: the per-backend generation lock and ``generate`` as a joined stream."""

    kind = "base"

    def __init__(self, *, model_id: str, adapter_id: str | None = None) -> None:
        self.model_id = model_id
        self.adapter_id = adapter_id
        self._lock = threading.Lock()

    def stream(self, request: GenerationRequest) -> GenerationStream:  # pragma: no cover
        raise NotImplementedError

    def generate(self, request: GenerationRequest) -> tuple[str, Usage]:
        stream = self.stream(request)
        with stream:
            text = "".join(stream)
        return text, stream.usage

    def warm(self, request: GenerationRequest, *, slot: int | None = None) -> None:
        """Evaluate ``request``'s prompt (one token generated) so the engine keeps it cached for
        the next prompt that starts the same way. ``slot``: which of a server's parallel slots to
        fill; one in-process context has a single cache, so it is ignored here."""
        self.generate(replace(request, max_tokens=1, grammar=None))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.model_id} adapter={self.adapter_id}>"


def stop_at_strings(deltas: Iterator[str], stops: tuple[str, ...], usage: Usage) -> Iterator[str]:
    """Pass deltas through until a stop string appears; the stop string itself is never emitted.

    Text that could be the start of a stop string is held back until the next delta decides it,
    so a reader never sees half of a stop sequence. Sets ``usage.finish_reason = "stop"`` when one
    is hit; the caller's generator then ends, which stops the engine.
    """
    stops = tuple(s for s in stops if s)
    if not stops:
        yield from deltas
        return
    pending = ""
    try:
        for delta in deltas:
            pending += delta
            cut = min((i for s in stops if (i := pending.find(s)) >= 0), default=-1)
            if cut >= 0:
                if pending[:cut]:
                    yield pending[:cut]
                usage.finish_reason = "stop"
                return
            keep = _partial_stop_len(pending, stops)
            if len(pending) > keep:
                yield pending[: len(pending) - keep]
                pending = pending[len(pending) - keep :]
        if pending:
            yield pending
    finally:
        # Stop the engine now rather than whenever the inner generator is garbage-collected.
        close = getattr(deltas, "close", None)
        if close is not None:
            close()


def _partial_stop_len(text: str, stops: tuple[str, ...]) -> int:
    """How many trailing characters could be the start of a stop string (not safe to emit yet)."""
    keep = 0
    for s in stops:
        for n in range(min(len(s) - 1, len(text)), 0, -1):
            if text.endswith(s[:n]):
                keep = max(keep, n)
                break
    return keep
