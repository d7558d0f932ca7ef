"""`manage.py benchmark lexicon --terms N`: lexicon build time and per-question match cost.

The lexicon is the seed file plus synthetic terms cut from real questions (Chinese character
3-6-grams, English word 2-3-grams from the safety bank and CValues), so terms share prefixes with
the text the way real sensitive-term libraries do and the automaton is exercised realistically.
Texts are the bank's, CValues' and Flames' questions, and draft-sized texts of four questions
joined. Terms cut from the very texts matched make this a worst case: many hits per text.
"""

from __future__ import annotations

import json
import random
import re
import resource
import statistics
import time

from portal.evaluation.metrics import percentile
from portal.evaluation.safety import BUILT_IN
from portal.safety.guard import input_check
from portal.safety.lexicon import CompiledLexicon, TermInfo
from portal.safety.normalize import fold
from portal.safety.pii import presidio_engine
from portal.safety.services import SEED_LEXICON


def _texts() -> list[str]:
    texts = []
    for name in ("bank", "cvalues", "flames"):
        path = BUILT_IN[name]
        if path.exists():
            texts += [json.loads(line)["prompt"] for line in path.read_text("utf-8").splitlines()]
    return texts


def _seed_terms() -> list[TermInfo]:
    terms = []
    for line in SEED_LEXICON.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            row = json.loads(line)
            terms.append(TermInfo(row["term"], row["category"], row["language"], row["action"]))
    return terms


def synthetic_terms(n: int, texts: list[str], *, seed: int = 7) -> list[TermInfo]:
    rng = random.Random(seed)  # noqa: S311 - reproducible sampling, not security
    pool: set[tuple[str, str]] = set()
    for text in texts:
        cjk = "".join(re.findall(r"[\u4e00-\u9fff]+", text))
        for size in (3, 4, 5, 6):
            for i in range(0, max(0, len(cjk) - size)):
                pool.add((cjk[i : i + size], "zh"))
        words = re.findall(r"[a-z]+", text.lower())
        for size in (2, 3):
            for i in range(len(words) - size + 1):
                pool.add((" ".join(words[i : i + size]), "en"))
    ordered = sorted(pool)
    rng.shuffle(ordered)
    # Past what the texts hold, join random pairs of pool terms (same language) into new terms.
    seen = set(ordered)
    while len(ordered) < n and len(pool) > 1:
        (a, lang), (b, lang_b) = rng.choice(ordered), rng.choice(ordered)
        if lang == lang_b and (term := f"{a}{'' if lang == 'zh' else ' '}{b}") not in seen:
            seen.add(term)
            ordered.append((term, lang))
    return [TermInfo(term, "synthetic", lang, "flag") for term, lang in ordered[:n]]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def lexicon_benchmark(*, terms: int = 10_000, rounds: int = 3, with_guard: bool = True) -> dict:
    texts = _texts()
    seed = _seed_terms()
    library = seed + synthetic_terms(max(0, terms - len(seed)), texts)
    rss_before = _rss_mb()
    builds = []
    for _ in range(rounds):
        started = time.perf_counter()
        lexicon = CompiledLexicon(library)
        builds.append(time.perf_counter() - started)
    rng = random.Random(3)  # noqa: S311 - reproducible sampling, not security
    drafts = [" ".join(rng.sample(texts, 4)) for _ in range(300)]
    report: dict = {
        "terms": lexicon.size,
        "build_s_median": round(statistics.median(builds), 4),
        "rss_mb_max": round(_rss_mb(), 1),
        "rss_mb_before_build": round(rss_before, 1),
    }
    for label, batch in (("question", texts), ("draft", drafts)):
        folded = [fold(t) for t in batch]
        times, hits = [], 0
        for text in folded:
            started = time.perf_counter()
            hits += len(lexicon.match(text))
            times.append((time.perf_counter() - started) * 1e6)
        report[f"{label}_texts"] = len(batch)
        report[f"{label}_chars_mean"] = round(statistics.mean(len(t) for t in batch), 1)
        report[f"{label}_match_us_p50"] = round(percentile(times, 50), 1)
        report[f"{label}_match_us_p95"] = round(percentile(times, 95), 1)
        report[f"{label}_hits_mean"] = round(hits / len(batch), 2)
    if with_guard:
        # The whole input guard per question (rules on every decoded view, PII incl. presidio,
        # this lexicon), after one warm-up call that loads spaCy.
        started = time.perf_counter()
        presidio_engine()
        report["presidio_load_s"] = round(time.perf_counter() - started, 2)
        times = []
        for text in texts:
            started = time.perf_counter()
            input_check(text, lexicon_match=lexicon.match)
            times.append((time.perf_counter() - started) * 1000)
        report["guard_ms_p50"] = round(percentile(times, 50), 2)
        report["guard_ms_p95"] = round(percentile(times, 95), 2)
    return report
