"""Rate limit check against the running stack: N+extra questions from one anonymous citizen in
one minute window must give exactly N answers and then 429 with Retry-After.

    RATE_LIMIT_ASK_PER_MINUTE=10 STACK_FRESH=0 benchmarks/load/run_stack.sh start
    python benchmarks/load/ratelimit_check.py --url http://127.0.0.1:8765 --limit 10
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor


def ask(url: str) -> tuple[int, str]:
    body = json.dumps({"question": "Is there an income limit for federal student aid?"}).encode()
    request = urllib.request.Request(  # noqa: S310 - the stack's own http URL
        f"{url}/api/v1/ask", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Retry-After", "")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8765")
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--extra", type=int, default=6)
    args = parser.parse_args()
    # Start early in a minute window so every request lands in the same fixed window.
    while time.time() % 60 > 20:
        time.sleep(0.5)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: ask(args.url), range(args.limit + args.extra)))
    statuses = [s for s, _ in results]
    report = {
        "limit": args.limit,
        "sent": len(results),
        "ok_200": statuses.count(200),
        "limited_429": statuses.count(429),
        "other": [s for s in statuses if s not in (200, 429)],
        "retry_after_s": sorted({int(r) for s, r in results if s == 429 and r}),
    }
    report["pass"] = report["ok_200"] == args.limit and report["limited_429"] == args.extra
    print(json.dumps(report))
    raise SystemExit(0 if report["pass"] else 1)


if __name__ == "__main__":
    main()
