"""The safety layer's entry points (what the answer pipeline calls) and lexicon writes.

Pipeline contract (names are stable; fields may be added):

    input_check(text, *, language=None, known_terms=frozenset())
        -> GuardResult                                             before retrieval
    output_check(*, question, sentences, passages, language, canary, system_prompt="",
                 translated=frozenset(), planted=())
        -> OutputGuardResult                                       after verification
    context_reason(question, language, passages) -> Reason | None  after retrieval, when
                                                                   GuardResult.context_check
    route(input_result, output_result, verification_summary) -> Decision
    redact(text, *, language=None) -> str                          for logs and the audit trail
    emergency_notice(text, *, language=None, reasons=()) -> str | None  crisis/emergency first
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from django.db import transaction

from portal.safety.guard import input_check
from portal.safety.learned import context_reason
from portal.safety.lexicon import lexicon_forget
from portal.safety.models import LexiconVersion, SensitiveTerm, TermAction
from portal.safety.normalize import language_detect
from portal.safety.output import output_check, question_notice
from portal.safety.pii import redact
from portal.safety.results import Decision, GuardResult, OutputGuardResult, Reason
from portal.safety.routing import route

__all__ = [
    "SEED_LEXICON",
    "Decision",
    "GuardResult",
    "OutputGuardResult",
    "Reason",
    "context_reason",
    "emergency_notice",
    "input_check",
    "lexicon_load",
    "lexicon_version_bump",
    "output_check",
    "redact",
    "route",
    "term_save",
    "terms_delete",
]


def emergency_notice(text: str, *, language: str | None = None, reasons: tuple = ()) -> str | None:
    """The notice shown before anything else when ``text`` mentions a crisis or emergency
    (``reasons``: the input guard's findings on it, which may name a learned crisis)."""
    return question_notice(text, language or language_detect(text), reasons)


SEED_LEXICON = Path(__file__).resolve().parent / "data" / "lexicon_seed.jsonl"


def _content_hash() -> tuple[str, int]:
    digest = hashlib.sha256()
    count = 0
    rows = SensitiveTerm.objects.filter(enabled=True).order_by("language", "term")
    for term, category, language, action in rows.values_list(
        "term", "category", "language", "action"
    ).iterator(chunk_size=5000):
        digest.update(f"{language}\t{term}\t{category}\t{action}\n".encode())
        count += 1
    return digest.hexdigest(), count


def lexicon_version_bump(*, user=None, change: str = "") -> LexiconVersion:
    """Record a new lexicon version; every process recompiles within SAFETY_LEXICON_CHECK_S.

    Call inside the transaction that changed the terms, so the version and the rows commit
    together and no process compiles a half-edited lexicon under the new number.
    """
    content_hash, count = _content_hash()
    version = LexiconVersion.objects.create(
        content_hash=content_hash, term_count=count, created_by=user, change=change[:200]
    )
    transaction.on_commit(lexicon_forget)
    return version


@transaction.atomic
def term_save(*, term: SensitiveTerm, user=None, change: str = "") -> SensitiveTerm:
    term.term = term.term.strip()
    term.full_clean()
    term.save()
    lexicon_version_bump(user=user, change=change or f"saved '{term.term}'")
    return term


@transaction.atomic
def terms_delete(*, terms: Iterable[SensitiveTerm], user=None) -> int:
    ids = [t.pk for t in terms]
    deleted, _ = SensitiveTerm.objects.filter(pk__in=ids).delete()
    lexicon_version_bump(user=user, change=f"deleted {deleted} term(s)")
    return deleted


@transaction.atomic
def terms_set_enabled(*, terms: Iterable[SensitiveTerm], enabled: bool, user=None) -> int:
    ids = [t.pk for t in terms]
    changed = SensitiveTerm.objects.filter(pk__in=ids).update(enabled=enabled)
    lexicon_version_bump(user=user, change=f"{'enabled' if enabled else 'disabled'} {changed}")
    return changed


def _read_terms(path: Path) -> list[dict]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        row = json.loads(line)
        if row.get("action", "flag") not in TermAction.values:
            raise ValueError(f"{path}:{n}: unknown action {row.get('action')!r}")
        rows.append(row)
    return rows


@transaction.atomic
def lexicon_load(*, path: Path = SEED_LEXICON, user=None, replace: bool = False) -> dict:
    """Upsert terms from a JSONL file ({term, category, language, action}); one version bump.

    ``replace`` also deletes terms the file does not list (a full import from another system).
    """
    rows = _read_terms(path)
    existing = {(t.term, t.language): t for t in SensitiveTerm.objects.all()}
    create, update, seen = [], [], set()
    for row in rows:
        key = (row["term"].strip(), row["language"])
        if key in seen:
            continue
        seen.add(key)
        fields = {
            "category": row["category"],
            "action": row.get("action", "flag"),
            "enabled": row.get("enabled", True),
            "note": row.get("note", ""),
        }
        term = existing.get(key)
        if term is None:
            create.append(SensitiveTerm(term=key[0], language=key[1], **fields))
        elif any(getattr(term, k) != v for k, v in fields.items()):
            for k, v in fields.items():
                setattr(term, k, v)
            update.append(term)
    SensitiveTerm.objects.bulk_create(create, batch_size=2000)
    SensitiveTerm.objects.bulk_update(
        update, ["category", "action", "enabled", "note"], batch_size=2000
    )
    removed = 0
    if replace:
        stale = [t.pk for k, t in existing.items() if k not in seen]
        removed, _ = SensitiveTerm.objects.filter(pk__in=stale).delete()
    version = lexicon_version_bump(user=user, change=f"loaded {path.name}")
    return {
        "created": len(create),
        "updated": len(update),
        "removed": removed,
        "version": version.pk,
        "term_count": version.term_count,
    }
