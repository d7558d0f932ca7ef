"""The product behind the OpenAI chat-completions protocol, so clients people already use (the
official ``openai`` package, chat front-ends) can ask: ``POST /api/v1/chat/completions``.

Nothing here answers: the question (the last user message) goes through the same engine, guards,
review routing, rate limit and audit as ``/api/v1/ask``; this module only translates the engine's
events into the protocol's shapes.

- ``message.content`` is the published answer with ``[n]`` markers after each sentence, exactly
  as ``/api/v1/ask`` returns it in ``text`` (a caution follows it); a refusal or a held answer
  has the guidance as its content and ``finish_reason: "content_filter"``.
- ``citations`` (top level, a documented extension) lists the passages the markers point to:
  ``label``, ``document``, ``version``, ``section``, ``page``, ``quote``, ...; ``answer`` carries
  the product's own status (``answer_id``, ``status``, ``refusal_reason``).
- Streaming sends one chunk per published sentence (sentences are released only after routing,
  so nothing held is streamed), then a final chunk with ``finish_reason``, ``citations`` and
  ``answer``, then ``data: [DONE]``. While the request waits for a generation slot it sends SSE
  comments (``: queued, position N``), which clients ignore.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterable, Iterator

from portal.qa.engine.claims import published_text

MODEL_NAME = "cited-answers"
_FILTERED = {"refused", "held", "rejected"}


class ChatRequestError(ValueError):
    """The request cannot be asked (no user message, or it is empty)."""


def chat_question(messages: Iterable[dict]) -> str:
    """The question: the last user message (text, or the text parts of a multi-part message).
    Earlier turns are not sent to the engine: every answer stands on its own citations."""
    for message in reversed(list(messages)):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, list):
            content = " ".join(
                part.get("text", "") for part in content if isinstance(part, dict)
                and part.get("type") == "text"
            )  # fmt: skip
        text = str(content or "").strip()
        if text:
            return text
        break
    raise ChatRequestError("messages must end with a user message that has text")


def _sentence_text(sentence: dict) -> str:
    return published_text([sentence])


def _answer_block(done: dict) -> dict:
    return {
        "answer_id": done["answer_id"],
        "status": done["status"],
        "refusal_reason": done["refusal_reason"],
    }


def _finish_reason(done: dict) -> str:
    return "content_filter" if done["status"] in _FILTERED else "stop"


def _citations(done: dict) -> list[dict]:
    return [done["citations"][label] for label in sorted(done["citations"], key=_label_key)]


def _label_key(label: str) -> tuple[int, str]:
    return (int(label), label) if label.isdigit() else (1 << 30, label)


def completion(events: Iterator[dict], *, model: str = MODEL_NAME) -> dict:
    """A whole ``chat.completion`` from the engine's events (``stream: false``)."""
    done = _last_done(events)
    # A caution (publish with caution) follows the answer; a refusal's guidance is all there is.
    content = "\n\n".join(t for t in (published_text(done["sentences"]), done["guidance"]) if t)
    return {
        "id": f"chatcmpl-{done['answer_id']}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": _finish_reason(done),
            }
        ],
        "citations": _citations(done),
        "answer": _answer_block(done),
    }


def _last_done(events: Iterator[dict]) -> dict:
    done = None
    for event in events:
        if event["event"] == "done":
            done = event
    if done is None:
        raise RuntimeError("the answer engine ended without a done event")
    return done


async def completion_chunks(
    events: AsyncIterator[dict], *, model: str = MODEL_NAME
) -> AsyncIterator[str]:
    """``chat.completion.chunk`` SSE lines from the engine's (gated) events (``stream: true``)."""
    created = int(time.time())
    chunk_id = "chatcmpl-pending"
    first = True

    def chunk(delta: dict, finish: str | None = None, **extra) -> str:
        body = {
            "id": chunk_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    async for event in events:
        kind = event["event"]
        if kind == "queued":
            yield f": queued, position {event['position']}\n\n"
        elif kind == "start":
            chunk_id = f"chatcmpl-{event['answer_id']}"
        elif kind == "sentence":
            text = _sentence_text(event)
            yield chunk(({"role": "assistant"} if first else {}) | {"content": text + " "})
            first = False
        elif kind == "done":
            if first:  # nothing published: the guidance is the content
                yield chunk({"role": "assistant", "content": event["guidance"]})
            elif event["guidance"]:
                yield chunk({"content": "\n\n" + event["guidance"]})
            yield chunk(
                {},
                _finish_reason(event),
                citations=_citations(event),
                answer=_answer_block(event),
            )
    yield "data: [DONE]\n\n"
