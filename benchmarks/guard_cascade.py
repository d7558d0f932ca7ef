"""Input-guard time per everyday question with and without a cascade that reads the LLM's
hidden states (issue 20: guard cost < 5 ms p50; a forward pass must not show on ordinary
traffic): the harm cascade (``--setting SAFETY_HIDDEN``, the default), the redactor's name
tagger (``--setting SAFETY_PII_TAGGER``), the tagger's reading of gate-skipped questions
for its veto over spaCy's names (``--setting SAFETY_PII_TAGGER_VETO_READS``) or the English
harm reader (``--setting SAFETY_HARM_READER``, a fine-tuned MiniLM). Each line also says how
many questions the harm cascade and the harm reader read.

    PYTHONPATH=. .venv/bin/python -m benchmarks.guard_cascade [--questions 600] [--rounds 2]
        [--setting SAFETY_HIDDEN|SAFETY_PII_TAGGER|SAFETY_PII_TAGGER_VETO_READS|
                   SAFETY_HARM_READER]

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
    parser.add_argument(
        "--setting",
        choices=(
            "SAFETY_HIDDEN",
            "SAFETY_PII_TAGGER",
            "SAFETY_PII_TAGGER_VETO_READS",
            "SAFETY_HARM_READER",
        ),
        default="SAFETY_HIDDEN",
    )
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.test import override_settings

    from portal.evaluation import safety_rows
    from portal.evaluation.metrics import percentile
    from portal.safety.guard import input_check
    from portal.safety.reader import harm_reader

    questions = safety_rows._sample(
        [row.text for row in safety_rows._answer_set_questions()], args.questions
    )
    input_check("warm-up question about benefits")
    input_check("how to make a pipe bomb")  # loads the cascade's model where it is on
    input_check("我外婆孙秀兰的医保怎么报销？")  # loads the name tagger's model where it is on
    harm_reader()  # loads the harm reader where it is on
    for round_ in range(args.rounds):
        for on in (True, False):
            with override_settings(**{args.setting: on}):
                times, hidden_reads, reader_reads = [], 0, 0
                for question in questions:
                    started = time.perf_counter()
                    learned = input_check(question).learned
                    times.append((time.perf_counter() - started) * 1000)
                    hidden_reads += learned.get("hidden") is not None
                    reader_reads += learned.get("reader") is not None
            print(
                f"round {round_} {args.setting} {'on ' if on else 'off'} n={len(times)} "
                f"p50 {percentile(times, 50):.2f} ms p95 {percentile(times, 95):.2f} ms "
                f"(harm cascade read {hidden_reads}, harm reader read {reader_reads})",
                flush=True,
            )


if __name__ == "__main__":
    main()
