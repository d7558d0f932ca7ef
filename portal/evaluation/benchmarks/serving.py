"""`manage.py benchmark serving --users N --seconds S --out report.json`: the real serving stack
under load, against the inference server's own capacity on the same prompts.

What runs, all on loopback and on this deployment's database and data directory (the demo
knowledge must be loaded: `manage.py load_demo`):
- llama-server on a free port (`manage.py llm_server`, LLM_SERVER_SLOTS slots);
- gunicorn with uvicorn workers (deploy/gunicorn.conf.py, `portal.asgi:application`), pointed
  at that server, the ask rate limit off (one address asks for every simulated citizen);
- phase 1, the server alone: the pipeline's own prompts for the demo questions
  (``generation_request_preview``: real guard, retrieval and prompt, nothing stored) sent
  straight to the server by 2 x slots concurrent clients for ``--server-seconds``; completed
  answers per second is ``server_throughput_rps``, the ceiling the portal can approach;
- phase 2, the portal: ``--users`` citizens each POST /api/v1/ask/stream with a demo question,
  read the events to ``done``, think 1-3 s, and ask again, for ``--seconds``. A 503 is a
  rejection (its Retry-After is honoured); any other 5xx or a broken stream is an error.

Time to the first verified sentence is measured at the client (the first progress event that
counts a verified sentence); the per-step breakdown comes from the answers' own timings.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
from django.conf import settings

from llm_backend.openai_compat import OpenAIBackend
from llm_backend.server import wait_ready
from portal.evaluation.metrics import percentile

ROOT = Path(__file__).resolve().parents[3]
QUESTIONS_FILE = ROOT / "demo" / "knowledge" / "questions.json"
BREAKDOWN_STEPS = (
    "guard_input", "retrieve", "cross", "relevance", "prompt", "first_token", "first_sentence",
    "generate", "verify", "guard_sentences", "total",
)  # fmt: skip

Progress = Callable[[str], None]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def demo_questions() -> list[str]:
    return [q["question"] for q in json.loads(QUESTIONS_FILE.read_text(encoding="utf-8"))]


def _ms(values: list[float], q: float) -> float | None:
    """The q-th percentile in ms (nearest rank, as the other reports), None with no values."""
    return round(percentile(values, q), 1) if values else None


# --- the stack ----------------------------------------------------------------------------------


@dataclass
class Stack:
    web_url: str
    llm_url: str
    processes: list[subprocess.Popen] = field(default_factory=list)

    def rss_mb(self) -> float:
        total = 0
        for process in self.processes:
            try:
                root = psutil.Process(process.pid)
                total += sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
            except psutil.Error:
                pass
        return round(total / 2**20, 1)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def stack_start(*, web_workers: int, slots: int, logs: Path, progress: Progress) -> Stack:
    llm_port, web_port = free_port(), free_port()
    llm_url = f"http://127.0.0.1:{llm_port}/v1"
    env = {
        **os.environ,
        "LLM_BACKEND": "openai",
        "LLM_OPENAI_BASE_URL": llm_url,
        "LLM_SERVER_SLOTS": str(slots),
        # The server's slots shared among the web processes: more in flight would only queue
        # inside the server, where no one is told their place.
        "ANSWER_STREAM_SLOTS": str(max(1, slots // web_workers)),
        "GUNICORN_BIND": f"127.0.0.1:{web_port}",
        "GUNICORN_WORKERS": str(web_workers),
        "GUNICORN_ACCESSLOG": "",
        "PROMETHEUS_MULTIPROC_DIR": str(logs / "prometheus"),
        "RATE_LIMIT_ASK_PER_MINUTE": "0",
        "RATE_LIMIT_ASK_PER_MINUTE_ADDRESS": "0",
        "LOG_LEVEL": "WARNING",
    }
    stack = Stack(web_url=f"http://127.0.0.1:{web_port}", llm_url=llm_url)
    manage = [sys.executable, str(ROOT / "manage.py")]
    with open(logs / "llm.log", "ab") as log:
        llm = subprocess.Popen([*manage, "llm_server"], env=env, stdout=log, stderr=log, cwd=ROOT)
    stack.processes.append(llm)
    progress(f"llama-server starting on {llm_url}")
    wait_ready(llm_url, alive=lambda: llm.poll() is None, progress=progress)
    with open(logs / "web.log", "ab") as log:
        web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py",
             "portal.asgi:application"],
            env=env, stdout=log, stderr=log, cwd=ROOT,
        )  # fmt: skip
    stack.processes.append(web)
    progress(f"gunicorn ({web_workers} uvicorn workers) starting on {stack.web_url}")
    deadline = time.monotonic() + 300
    while True:
        try:
            if httpx.get(f"{stack.web_url}/health/ready", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if web.poll() is not None or time.monotonic() > deadline:
            stack.stop()
            raise RuntimeError(f"the web tier did not become ready; see {logs / 'web.log'}")
        time.sleep(1)
    return stack


# --- phase 1: the inference server alone --------------------------------------------------------


def pipeline_bodies(questions: list[str], *, llm_url: str) -> list[dict]:
    from portal.qa.engine.answer import generation_request_preview

    backend = OpenAIBackend(base_url=llm_url, model=settings.LLM_OPENAI_MODEL)
    requests = [generation_request_preview(question=q) for q in questions]
    return [backend.body(r) for r in requests if r is not None]


async def server_throughput(
    url: str, bodies: list[dict], *, concurrency: int, seconds: float
) -> dict:
    completed = 0
    deadline = time.monotonic() + seconds

    async def client(i: int, http: httpx.AsyncClient) -> None:
        nonlocal completed
        k = i
        while time.monotonic() < deadline:
            body = bodies[k % len(bodies)]
            k += concurrency
            async with http.stream("POST", url, json=body) as response:
                response.raise_for_status()
                async for _ in response.aiter_lines():
                    pass
            if time.monotonic() <= deadline:
                completed += 1

    started = time.monotonic()
    # A new connection per request: llama-server closes kept-alive ones after a few requests.
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=httpx.Timeout(300, connect=10), limits=limits) as http:
        await asyncio.gather(*(client(i, http) for i in range(concurrency)))
    return {
        "server_throughput_rps": round(completed / seconds, 3),
        "server_answers": completed,
        "server_wall_s": round(time.monotonic() - started, 1),
    }


# --- phase 2: citizens through the portal -------------------------------------------------------


@dataclass
class Outcome:
    status: str  # the answer's status, or "rejected_503", "error_5xx", "error_transport", ...
    answer_ms: float | None = None
    first_sentence_ms: float | None = None
    queued: bool = False


async def citizens(
    web_url: str,
    questions: list[str],
    *,
    users: int,
    seconds: float,
    progress: Progress,
    rss_mb: Callable[[], float] | None = None,
    rss_series: list[list[float]] | None = None,
) -> list[Outcome]:
    """N citizens ask until ``seconds`` pass. Every 10 s the progress line is written and, when
    ``rss_mb`` is given, the stack's memory is appended to ``rss_series`` as [seconds, MB]: one
    number at each end cannot tell a leak from caches filling once."""
    outcomes: list[Outcome] = []
    started = time.monotonic()
    deadline = time.monotonic() + seconds
    url = f"{web_url}/api/v1/ask/stream"

    async def ask(http: httpx.AsyncClient, question: str) -> tuple[Outcome, float]:
        started = time.perf_counter()
        outcome = Outcome(status="error_stream")
        async with http.stream("POST", url, json={"question": question}) as response:
            if response.status_code == 503:
                await response.aread()
                return Outcome(status="rejected_503"), float(
                    response.headers.get("Retry-After", "5")
                )
            if response.status_code >= 500:
                return Outcome(status="error_5xx"), 1.0
            if response.status_code != 200:
                return Outcome(status=f"http_{response.status_code}"), 1.0
            async for line in response.aiter_lines():
                if not line.startswith("data: "):
                    continue
                event = json.loads(line[6:])
                elapsed = (time.perf_counter() - started) * 1000
                kind = event["event"]
                if kind == "queued":
                    outcome.queued = True
                elif outcome.first_sentence_ms is None and (
                    kind == "sentence" or (kind == "progress" and event.get("verified", 0) > 0)
                ):
                    outcome.first_sentence_ms = elapsed
                elif kind == "done":
                    outcome.status = event["status"]
                    outcome.answer_ms = elapsed
        return outcome, 0.0

    async def citizen(seed: int, http: httpx.AsyncClient) -> None:
        rng = random.Random(seed)  # noqa: S311 - which demo question a simulated citizen asks
        while time.monotonic() < deadline:
            try:
                outcome, wait = await ask(http, rng.choice(questions))
            except httpx.HTTPError as exc:
                outcome, wait = Outcome(status=f"error_transport:{type(exc).__name__}"), 1.0
            if time.monotonic() <= deadline:
                outcomes.append(outcome)
            await asyncio.sleep(max(wait, rng.uniform(1.0, 3.0)))

    async def report() -> None:
        while time.monotonic() < deadline:
            await asyncio.sleep(10)
            counts = Counter(o.status for o in outcomes)
            line = f"load: {len(outcomes)} done {dict(counts)}"
            if rss_mb is not None and rss_series is not None:
                mb = rss_mb()
                rss_series.append([round(time.monotonic() - started, 1), mb])
                line += f", RSS {mb:.0f} MB"
            progress(line)

    limits = httpx.Limits(max_connections=users + 5, max_keepalive_connections=users + 5)
    timeout = httpx.Timeout(600, connect=10)
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as http:
        await asyncio.gather(report(), *(citizen(i, http) for i in range(users)))
    return outcomes


def rss_growth_second_half(series: list[list[float]]) -> float | None:
    """MB gained over the second half of the run: caches fill in the first minutes, so a
    flat second half is what "memory flat" means; a leak keeps climbing there."""
    if len(series) < 4:
        return None
    half = series[-1][0] / 2
    later = [mb for t, mb in series if t >= half]
    return round(later[-1] - later[0], 1)


def rss_plot(report: dict, path: Path) -> Path:
    """The stack's memory through the load phase (the report's ``rss_mb_series``)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    series = report["rss_mb_series"]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.plot([t / 60 for t, _ in series], [mb for _, mb in series], marker=".")
    ax.set_xlabel("minutes into the load phase")
    ax.set_ylabel("RSS of the stack (MB)")
    ax.set_title(
        f"{report['users']} users x {report['seconds'] / 60:g} min: "
        f"{report['answers']} answers, {report['errors_5xx']} 5xx"
    )
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def breakdown_ms(since: datetime) -> dict[str, float | None]:
    """Median milliseconds per engine step over the answers written since ``since``."""
    from portal.qa.models import Answer

    rows = list(Answer.objects.filter(created_at__gte=since).values_list("timings", flat=True))
    return {
        step: _ms([r[step] * 1000 for r in rows if r and step in r], 50) for step in BREAKDOWN_STEPS
    }


def serving_benchmark(
    *,
    users: int,
    seconds: float,
    server_seconds: float,
    web_workers: int,
    slots: int,
    progress: Progress = print,
) -> dict:
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        raise RuntimeError("the serving benchmark drives PostgreSQL, as production runs: set "
                           "DATABASE_URL")  # fmt: skip
    questions = demo_questions()
    logs = Path(tempfile.mkdtemp(prefix="serving-bench-"))
    (logs / "prometheus").mkdir()
    stack = stack_start(web_workers=web_workers, slots=slots, logs=logs, progress=progress)
    try:
        bodies = pipeline_bodies(questions, llm_url=stack.llm_url)
        progress(f"phase 1: the server alone, {len(bodies)} pipeline prompts, {server_seconds:g} s")
        server = asyncio.run(
            server_throughput(
                f"{stack.llm_url}/chat/completions",
                bodies,
                concurrency=2 * slots,
                seconds=server_seconds,
            )
        )
        # Warm the web workers (first request per worker loads the embedder and indexes).
        for question in questions[: 2 * web_workers]:
            httpx.post(f"{stack.web_url}/api/v1/ask", json={"question": question}, timeout=300)
        rss_start = stack.rss_mb()
        since = datetime.now(UTC)
        progress(f"phase 2: {users} citizens for {seconds:g} s")
        rss_series: list[list[float]] = [[0.0, rss_start]]
        outcomes = asyncio.run(
            citizens(
                stack.web_url,
                questions,
                users=users,
                seconds=seconds,
                progress=progress,
                rss_mb=stack.rss_mb,
                rss_series=rss_series,
            )
        )
        rss_end = stack.rss_mb()
    finally:
        stack.stop()
    counts = Counter(o.status for o in outcomes)
    finished = [o for o in outcomes if o.answer_ms is not None]
    first = [o.first_sentence_ms for o in finished if o.first_sentence_ms is not None]
    answered_ms = [o.answer_ms for o in finished]
    throughput = round(len(finished) / seconds, 3)
    return {
        "users": users,
        "seconds": seconds,
        "answers": len(finished),
        "throughput_rps": throughput,
        "server_throughput_rps": server["server_throughput_rps"],
        "throughput_ratio": round(throughput / server["server_throughput_rps"], 3)
        if server["server_throughput_rps"]
        else None,
        "errors_5xx": counts["error_5xx"],
        "rejected_503": counts["rejected_503"],
        "first_sentence_ms_p50": _ms(first, 50),
        "first_sentence_ms_p95": _ms(first, 95),
        "answer_ms_p50": _ms(answered_ms, 50),
        "answer_ms_p95": _ms(answered_ms, 95),
        "rss_mb_start": rss_start,
        "rss_mb_end": rss_end,
        "rss_mb_series": rss_series,
        "rss_mb_growth_second_half": rss_growth_second_half(rss_series),
        "statuses": dict(counts),
        "queued_then_answered": sum(1 for o in finished if o.queued),
        "breakdown_ms_p50": breakdown_ms(since),
        "server": server,
        "web_workers": web_workers,
        "slots": slots,
        "cpu_count": os.cpu_count(),
        "logs": str(logs),
    }
