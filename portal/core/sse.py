"""Server-sent events over a Django streaming response (the portal page and the API share it)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from django.http import StreamingHttpResponse


def async_event_stream_response(events: AsyncIterator[dict]) -> StreamingHttpResponse:
    """One SSE message per event dict (its "event" key names it), from an async iterator: the
    answer stream is an async view (portal/qa/streaming.py). Closing the connection closes
    ``events`` (``aclose``), so the engine can finalise what it was doing."""

    async def sse():
        try:
            async for event in events:
                data = json.dumps(event, ensure_ascii=False)
                yield f"event: {event['event']}\ndata: {data}\n\n"
        finally:
            await events.aclose()

    return _sse_headers(
        StreamingHttpResponse(sse(), content_type="text/event-stream; charset=utf-8")
    )


def async_text_stream_response(lines: AsyncIterator[str]) -> StreamingHttpResponse:
    """Already framed SSE lines (the OpenAI-compatible chat stream), from an async iterator."""
    return _sse_headers(
        StreamingHttpResponse(lines, content_type="text/event-stream; charset=utf-8")
    )


def _sse_headers(response: StreamingHttpResponse) -> StreamingHttpResponse:
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event through at once
    return response
