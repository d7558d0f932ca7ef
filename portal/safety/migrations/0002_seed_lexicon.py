"""Load the seed lexicon (portal/safety/data/lexicon_seed.jsonl) and record version 1.

Uses the historical models, not services, so later changes to services cannot break old
migrations. Re-running `manage.py lexicon_load` later upserts the same file.
"""

import hashlib
import json
from pathlib import Path

from django.db import migrations

SEED = Path(__file__).resolve().parent.parent / "data" / "lexicon_seed.jsonl"


def load(apps, schema_editor):
    term_model = apps.get_model("safety", "SensitiveTerm")
    version_model = apps.get_model("safety", "LexiconVersion")
    seen = set()
    rows = []
    for line in SEED.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        row = json.loads(line)
        key = (row["term"], row["language"])
        if key in seen or term_model.objects.filter(term=key[0], language=key[1]).exists():
            continue
        seen.add(key)
        rows.append(term_model(term=row["term"], language=row["language"],
                               category=row["category"], action=row.get("action", "flag")))
    term_model.objects.bulk_create(rows)
    digest = hashlib.sha256()
    enabled = term_model.objects.filter(enabled=True).order_by("language", "term")
    for t in enabled:
        digest.update(f"{t.language}\t{t.term}\t{t.category}\t{t.action}\n".encode())
    version_model.objects.create(
        content_hash=digest.hexdigest(), term_count=enabled.count(), change="seed lexicon"
    )


class Migration(migrations.Migration):
    dependencies = [("safety", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
