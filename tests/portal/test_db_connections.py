"""The ASGI web tier holds a bounded number of database connections, however many requests it
serves (settings: DB_POOL). With persistent per-thread connections each streamed ask left one
open until PostgreSQL refused new clients (serving benchmark, 50 users, minute 8)."""

import asyncio

import httpx
import pytest
from django.conf import settings
from django.db import connection

from portal.asgi import application
from tests.streams import run_coroutine

pytestmark = pytest.mark.django_db(transaction=True)


def _connections_to_this_database() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


async def _ask_many(n: int) -> list[int]:
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", timeout=120
    ) as http:

        async def one(i: int) -> int:
            body = {"question": f"How do I renew my passport by mail? ({i})"}
            async with http.stream("POST", "/api/v1/ask/stream", json=body) as response:
                async for _ in response.aiter_lines():
                    pass
                return response.status_code

        codes: list[int] = []
        for start in range(0, n, 10):
            codes += await asyncio.gather(*(one(i) for i in range(start, start + 10)))
        return codes


def test_many_streamed_asks_leave_no_connection_per_request():
    pool = settings.DATABASES["default"]["OPTIONS"]["pool"]
    codes = run_coroutine(_ask_many(40))
    assert codes == [200] * 40
    # This process's pool at most, plus a monitoring session or two of the test server.
    assert _connections_to_this_database() <= pool["max_size"] + 2
