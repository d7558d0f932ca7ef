"""Server-sent events over a Django streaming response (the portal page and the API share it)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from django.http import StreamingHttpResponse


def event_stream_response(events: Iterator[dict]) -> StreamingHttpResponse:
    """One SSE message per event dict (its "event" key names it). Closing the connection closes
    ``events``, so a generator can finalise what it was doing (portal/qa/engine/answer.py)."""

    def sse():
        try:
            for event in events:
                data = json.dumps(event, ensure_ascii=False)
                yield f"event: {event['event']}\ndata: {data}\n\n"
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()

    response = StreamingHttpResponse(sse(), content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event through at once
    return response
