"""Reading a streamed response in a synchronous test, whether its view streams synchronously
or asynchronously (the answer streams are async views: portal/qa/streaming.py)."""

from __future__ import annotations

from asgiref.sync import async_to_sync


def stream_bytes(response) -> bytes:
    if not response.is_async:
        return b"".join(response.streaming_content)

    async def collect() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    return async_to_sync(collect)()
