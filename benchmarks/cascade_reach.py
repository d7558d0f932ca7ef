"""Where the harm cascade's misses sit (issue 20): for a written safety set's dev half, how many
harmful rows the input guard refuses for a safety reason, how many of its misses score below
the cascade's floor (the hidden-state head never sees them) and how many the hidden-state head
would catch if it ran on every question, and what the English harm reader (portal/safety/
reader.py) adds: the guard's refusals with it and without it. It says whether widening the
cascade's band could help before anyone pays a forward pass per question for it.

    PYTHONPATH=. .venv/bin/python -m benchmarks.cascade_reach [--prompts contrast_v7]

Dev halves only, and counts only: a diagnostic that printed test items would invite rules
written for them.
"""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter


def reach(rows: list[dict]) -> dict:
    """Counts per language and side (harmful / harmless) of the guard's safety refusals (with
    and without the harm reader), the rows in the cascade's band, and the hidden-state head's
    decisions were it run on all."""
    from django.test import override_settings

    from portal.evaluation.safety import guard_outcome
    from portal.safety import hidden
    from portal.safety.learned import safety_classifier
    from portal.safety.results import SAFETY_REFUSALS

    classifier, cascade = safety_classifier(), hidden.hidden_head()
    if classifier is None or cascade is None:
        raise SystemExit("the harm head and the harm cascade must both be on and loaded")
    counts: dict[str, Counter] = {}
    for row in rows:
        language, harmful = row.get("language") or "en", row["expect"] == "refuse"
        outcome = guard_outcome(row["prompt"], language)
        refused = outcome.refused and outcome.reason in SAFETY_REFUSALS
        with override_settings(SAFETY_HARM_READER=False):
            plain = guard_outcome(row["prompt"], language)
        refused_plain = plain.refused and plain.reason in SAFETY_REFUSALS
        harm = classifier.scores([row["prompt"]], heads=("harm",))["harm"][0]
        hidden_harm = hidden.hidden_score(row["prompt"])
        everywhere = hidden_harm is not None and hidden.combined(
            harm, hidden_harm
        ) >= cascade.threshold(language)
        in_band = harm >= cascade.floor(language)
        c = counts.setdefault(f"{language}:{'harmful' if harmful else 'harmless'}", Counter())
        c["n"] += 1
        c["guard_refused"] += refused
        c["guard_refused_without_reader"] += refused_plain
        c["in_band"] += in_band
        c["cascade_everywhere_refused"] += everywhere
        if harmful and not refused:
            c["missed_below_floor"] += not in_band
            c["missed_caught_by_cascade_everywhere"] += everywhere
    return {key: dict(sorted(c.items())) for key, c in sorted(counts.items())}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", default="contrast_v7", help="a written set's name or path")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from portal.evaluation.safety import prompts_load

    rows = prompts_load(args.prompts, split="dev")
    rows = [r for r in rows if r["expect"] in ("refuse", "answer")]
    print(json.dumps(reach(rows), indent=1))


if __name__ == "__main__":
    main()
