"""Page-load figures as a citizen sees them: time to the first verified sentence on screen.

    .venv/bin/python benchmarks/page_load.py [--backends extractive,llamacpp] [--rounds 2]
                                             [--out var/test-artifacts/page_load.json]

For each generation backend this builds a throw-away portal (SQLite and a data folder under a
temporary directory, the demo knowledge base loaded through the real ingestion pipeline), serves
it with `manage.py runserver`, and drives Debian's chromium (headless, via Playwright) through the
demo questions (demo/knowledge/questions.json, English and Chinese). For each question it records,
in the page itself (performance.now(), so network and rendering are included and the Python
driver's overhead is not):

- load: navigation start -> the ask page's load event;
- first sentence: the Ask button's submit event -> the first verified sentence element inserted
  into the page and painted (the next animation frame after the insertion);
- done: submit -> the stream's end (the come-back link, a refusal or the under-review notice).

It prints p50 / p95 / max per backend and writes every sample to --out. The first question of each
server is a warm-up and not counted (the dev server warms the models at start, but the first
answer still fills caches). llamacpp uses the pinned GGUF file from `make install`
(var/models); on two shared CPU cores expect seconds, not milliseconds.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Installed before the question is submitted: stamps submit, first sentence (after paint) and end.
PROBE = """
() => {
  window.__probe = {submit: null, first: null, done: null, status: null};
  const form = document.getElementById("ask-form");
  form.addEventListener("submit", () => { window.__probe.submit = performance.now(); }, true);
  const live = document.getElementById("live");
  new MutationObserver(() => {
    const p = window.__probe;
    if (p.first === null && live.querySelector(".sentence")) {
      p.first = -1;  // seen; the stamp is taken when it has been painted
      requestAnimationFrame(() => { p.first = performance.now(); });
    }
    if (p.done === null) {
      const end = live.querySelector(".permalink, .refusal, .held");
      if (end) {
        p.done = performance.now();
        p.status = end.classList.contains("refusal") ? "refused"
          : end.closest(".held") ? "held" : "answered";
      }
    }
  }).observe(live, {childList: true, subtree: true});
}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(data_dir: Path, backend: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "PORTAL_DATA_DIR")
    }
    env.update(
        {
            "PORTAL_ENV": "development",
            "DEBUG": "1",  # runserver serves the static files
            "PORTAL_DATA_DIR": str(data_dir),
            "CELERY_TASK_ALWAYS_EAGER": "1",
            "LLM_BACKEND": backend,
            "LLM_MODEL_PATH": os.environ.get("LLM_MODEL_PATH", str(_default_model_path())),
            "RATE_LIMIT_ASK_PER_MINUTE": "0",
            "RATE_LIMIT_ASK_PER_MINUTE_ADDRESS": "0",
        }
    )
    return env


def _default_model_path() -> Path:
    from llm_backend.model_files import QWEN_FILENAME

    return ROOT / "var" / "models" / QWEN_FILENAME


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _wait_live(url: str, proc: subprocess.Popen, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited before it answered")
        try:
            # An http:// URL this script built for its own server, never user input.
            with urllib.request.urlopen(url + "/health/live", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("the server did not answer in time")


def _ask(page, base_url: str, question: str, timeout_ms: int) -> dict:
    page.goto(base_url + "/")
    load_ms = page.evaluate(
        "() => { const n = performance.getEntriesByType('navigation')[0];"
        " return n.loadEventEnd - n.startTime; }"
    )
    page.evaluate(PROBE)
    page.fill("#q", question)
    page.click("#ask-form button[type=submit]")
    page.wait_for_function("() => window.__probe.done !== null", timeout=timeout_ms)
    if page.evaluate("() => window.__probe.first === -1"):  # painted just now
        page.wait_for_function("() => window.__probe.first !== -1", timeout=5_000)
    probe = page.evaluate("() => window.__probe")
    first = probe["first"] - probe["submit"] if probe["first"] is not None else None
    return {
        "question": question,
        "status": probe["status"],
        "load_ms": round(load_ms, 1),
        "first_sentence_ms": round(first, 1) if first is not None else None,
        "done_ms": round(probe["done"] - probe["submit"], 1),
    }


def _summary(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "n": len(values),
        "p50": round(statistics.median(ordered), 1),
        "p95": round(p95, 1),
        "max": round(ordered[-1], 1),
    }


def run_backend(backend: str, questions: list[dict], rounds: int, browser) -> dict:
    with tempfile.TemporaryDirectory(prefix="page-load-") as tmp:
        data_dir = Path(tmp)
        env = _env(data_dir, backend)
        started = time.monotonic()
        _manage(env, "migrate", "--no-input")
        _manage(env, "load_demo")
        setup_s = time.monotonic() - started
        port = _free_port()
        base_url = f"http://127.0.0.1:{port}"
        log = open(data_dir / "server.log", "wb")  # noqa: SIM115 - closed below
        server = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "manage.py"),
                "runserver",
                "--noreload",
                f"127.0.0.1:{port}",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_live(base_url, server)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            timeout_ms = 300_000 if backend != "extractive" else 60_000
            _ask(page, base_url, questions[0]["question"], timeout_ms)  # warm-up, not counted
            samples = []
            for _ in range(rounds):
                for q in questions:
                    sample = _ask(page, base_url, q["question"], timeout_ms)
                    sample["language"] = q["language"]
                    samples.append(sample)
                    print(
                        f"  {backend:10} {q['language']} {sample['status']:9} "
                        f"first {sample['first_sentence_ms']} ms, done {sample['done_ms']} ms",
                        flush=True,
                    )
            context.close()
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()
    firsts = [s["first_sentence_ms"] for s in samples if s["first_sentence_ms"] is not None]
    return {
        "backend": backend,
        "setup_s": round(setup_s, 1),
        "statuses": {
            k: sum(s["status"] == k for s in samples) for k in ("answered", "held", "refused")
        },
        "first_sentence_ms": _summary(firsts),
        "first_sentence_ms_en": _summary(
            [
                s["first_sentence_ms"]
                for s in samples
                if s["language"] == "en" and s["first_sentence_ms"] is not None
            ]
        ),
        "first_sentence_ms_zh": _summary(
            [
                s["first_sentence_ms"]
                for s in samples
                if s["language"] == "zh" and s["first_sentence_ms"] is not None
            ]
        ),
        "done_ms": _summary([s["done_ms"] for s in samples]),
        "page_load_ms": _summary([s["load_ms"] for s in samples]),
        "samples": samples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="extractive,llamacpp")
    parser.add_argument("--rounds", type=int, default=1, help="passes over the demo questions")
    parser.add_argument("--limit", type=int, default=0, help="first N demo questions (0: all)")
    parser.add_argument("--out", default=str(ROOT / "var" / "test-artifacts" / "page_load.json"))
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    questions = json.loads((ROOT / "demo" / "knowledge" / "questions.json").read_text("utf-8"))
    if args.limit:
        # Keep both languages in a short run: alternate English and Chinese questions.
        en = [q for q in questions if q["language"] == "en"]
        zh = [q for q in questions if q["language"] == "zh"]
        mixed = [q for pair in zip(en, zh, strict=False) for q in pair] + en[len(zh) :]
        questions = mixed[: args.limit]
    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            print(f"{backend}: building the demo portal and serving it...", flush=True)
            results.append(run_backend(backend, questions, args.rounds, browser))
        browser.close()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"results": results}, indent=2, ensure_ascii=False), "utf-8")
    print(
        f"\n{'backend':11} {'answered':>8} {'first sentence p50/p95 ms':>26} "
        f"{'done p50/p95 ms':>18} {'page load p50 ms':>17}"
    )
    for r in results:
        f, d, pl = r["first_sentence_ms"], r["done_ms"], r["page_load_ms"]
        print(
            f"{r['backend']:11} {r['statuses']['answered']:>8} "
            f"{f.get('p50', '-')!s:>12} / {f.get('p95', '-')!s:<11} "
            f"{d.get('p50', '-')!s:>8} / {d.get('p95', '-')!s:<7} {pl.get('p50', '-')!s:>17}"
        )
    print(f"samples: {out}")


if __name__ == "__main__":
    main()
