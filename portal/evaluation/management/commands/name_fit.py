"""`manage.py name_fit [--per-set N] [--min-precision P] [--max-unlabelled R]
[--max-precision-drop D] [--out FILE]`:
fit the question redactor's learned name tagger (portal/safety/names.py) on dev data.

Encodes every training question's tokens with the configured LLM (SAFETY_PII_TAGGER_MODEL,
default LLM_MODEL_PATH; cached under var/cache/ per model, ~0.2 s a question the first time on
two cores), fits the head out of fold and chooses each language's threshold on the redactor's
span metrics (portal/evaluation/name_fit.py). Writes the head file (default: the shipped
portal/safety/data/name_tagger.json) and prints the dev figures; the held-out sets are measured
afterwards with `manage.py evaluate pii`.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.evaluation.name_fit import name_fit
from portal.safety.names import NAME_TAGGER_FILE

CACHE_DIR = Path(settings.BASE_DIR) / "var" / "cache"


class Command(BaseCommand):
    help = "Fit the redactor's name tagger over the LLM's per-token states (dev data only)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--per-set", type=int, default=200, help="unlabelled questions a set")
        parser.add_argument("--min-precision", type=float, default=0.95)
        parser.add_argument("--max-unlabelled", type=float, default=0.01)
        parser.add_argument("--max-precision-drop", type=float, default=0.02)
        parser.add_argument("--out", type=Path, default=NAME_TAGGER_FILE)

    def handle(self, *args, **opts) -> None:
        from llm_backend.hidden import TokenEncoder, model_sha256

        model = Path(str(settings.SAFETY_PII_TAGGER_MODEL or settings.LLM_MODEL_PATH))
        if not model.is_file():
            raise CommandError(f"no model file at {model} (SAFETY_PII_TAGGER_MODEL)")
        try:
            encoder = TokenEncoder(model, threads=settings.SAFETY_PII_TAGGER_THREADS)
        except (ImportError, ValueError, RuntimeError) as exc:
            raise CommandError(f"cannot load {model} with llama.cpp: {exc}") from exc
        sha = model_sha256(str(model))
        from portal.safety.learned import safety_classifier

        classifier = safety_classifier()
        embedder = classifier.embedder if classifier else settings.EMBEDDING_MODEL
        try:
            head = name_fit(
                model_path=model,
                model_sha256=sha,
                encode=encoder.encode,
                cache_path=CACHE_DIR / f"name-tokens-{sha[:12]}.pkl",
                per_set=opts["per_set"],
                min_precision=opts["min_precision"],
                max_unlabelled=opts["max_unlabelled"],
                max_precision_drop=opts["max_precision_drop"],
                embedder=embedder,
                veto_reads=settings.SAFETY_PII_TAGGER_VETO_READS,
                progress=lambda m: self.stdout.write(m),
            )
        finally:
            encoder.close()
        out: Path = opts["out"]
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(head, ensure_ascii=False) + "\n", encoding="utf-8")
        dev = head["dev"]
        self.stdout.write(
            f"wrote {out} ({head['version']}): thresholds {head['thresholds']}; "
            f"veto {head['veto']} over {head['veto_sources']}; "
            f"zh {dev.get('zh')}; en {dev.get('en')}; rules alone {dev['rules_only']}"
        )
