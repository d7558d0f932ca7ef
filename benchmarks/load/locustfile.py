"""Citizens asking the demo questions and browsing what the answers cite.

    locust -f benchmarks/load/locustfile.py --host http://127.0.0.1:8765 \
        --headless -u 50 -r 10 -t 2m

Each simulated citizen asks through /api/v1/ (JSON or the server-sent-event stream the ask page
reads), then opens the answer's come-back link, the answer JSON and the cited documents' pages,
with a short think time.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from locust import HttpUser, between, task

# Which question or citation a simulated citizen picks: not security-relevant.
# ruff: noqa: S311

QUESTIONS = [
    q["question"]
    for q in json.loads(
        (Path(__file__).resolve().parents[2] / "demo/knowledge/questions.json").read_text()
    )
]


class Citizen(HttpUser):
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.answers: list[str] = []
        self.documents: set[int] = set()

    def _remember(self, payload: dict) -> None:
        if payload.get("answer_id"):
            self.answers.append(payload["answer_id"])
        for citation in (payload.get("citations") or {}).values():
            if citation.get("document_id"):
                self.documents.add(citation["document_id"])

    @task(3)
    def ask(self) -> None:
        with self.client.post(
            "/api/v1/ask",
            json={"question": random.choice(QUESTIONS)},
            name="/api/v1/ask",
            catch_response=True,
        ) as response:
            if response.status_code == 200:
                self._remember(response.json())
                response.success()
            elif response.status_code == 429:
                response.failure("429 rate limited")
            else:
                response.failure(f"HTTP {response.status_code}")

    @task(1)
    def ask_stream(self) -> None:
        with self.client.post(
            "/api/v1/ask/stream",
            json={"question": random.choice(QUESTIONS)},
            name="/api/v1/ask/stream",
            stream=True,
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
                return
            done = None
            for line in response.iter_lines(decode_unicode=True):
                if line and line.startswith("data: "):
                    event = json.loads(line[6:])
                    if event.get("event") == "done":
                        done = event
            if done is None:
                response.failure("stream ended without a done event")
            else:
                self._remember(done)
                response.success()

    @task(3)
    def browse_citations(self) -> None:
        if not self.answers:
            return
        answer = random.choice(self.answers[-5:])
        self.client.get(f"/a/{answer}/", name="/a/[id]/")
        self.client.get(f"/api/v1/answers/{answer}", name="/api/v1/answers/[id]")
        if self.documents:
            document = random.choice(sorted(self.documents))
            self.client.get(f"/documents/{document}/", name="/documents/[id]/")
