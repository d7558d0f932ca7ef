"""Input-guard time per everyday question with and without the harm cascade (issue 20: guard
cost < 5 ms p50; the cascade's forward pass must not show on ordinary traffic).

    PYTHONPATH=. .venv/bin/python -m benchmarks.guard_cascade [--questions 600] [--rounds 2]

The questions are the answer sets' dev questions (the harm head's ordinary negatives, a
deterministic sample); rounds alternate cascade on and off, so drift on a shared machine hits
both. `manage.py benchmark lexicon` times the guard on a safety-heavy mix instead.
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.test import override_settings

    from portal.evaluation import safety_fit
    from portal.evaluation.metrics import percentile
    from portal.safety.guard import input_check

    questions = safety_fit._sample(
        [row.text for row in safety_fit._answer_set_questions()], args.questions
    )
    input_check("warm-up question about benefits")
    input_check("how to make a pipe bomb")  # loads the cascade's model where it is on
    for round_ in range(args.rounds):
        for on in (True, False):
            with override_settings(SAFETY_HIDDEN=on):
                times = []
                for question in questions:
                    started = time.perf_counter()
                    input_check(question)
                    times.append((time.perf_counter() - started) * 1000)
            print(
                f"round {round_} cascade {'on ' if on else 'off'} n={len(times)} "
                f"p50 {percentile(times, 50):.2f} ms p95 {percentile(times, 95):.2f} ms",
                flush=True,
            )


if __name__ == "__main__":
    main()
