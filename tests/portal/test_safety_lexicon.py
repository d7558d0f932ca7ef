"""Sensitive-term lexicon: seed migration, Aho-Corasick matching, versions, admin edits."""

import json

import pytest
from django.urls import reverse

from portal.safety.lexicon import CompiledLexicon, TermInfo, lexicon_current, lexicon_forget
from portal.safety.models import LexiconVersion, SensitiveTerm
from portal.safety.normalize import fold
from portal.safety.services import input_check, lexicon_load, term_save

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_lexicon(settings):
    # Every call re-checks the version, so a test sees its own edits at once.
    settings.SAFETY_LEXICON_CHECK_S = 0
    lexicon_forget()
    yield
    lexicon_forget()


def test_seed_lexicon_is_loaded_by_migration_with_a_version():
    version = LexiconVersion.objects.order_by("-id").first()
    assert version is not None and version.term_count >= 300
    assert SensitiveTerm.objects.filter(language="zh").exists()
    assert SensitiveTerm.objects.filter(language="en").exists()
    assert len(version.content_hash) == 64


def test_matching_is_whole_word_for_ascii_and_substring_for_chinese():
    lexicon = CompiledLexicon(
        [
            TermInfo("kill", "violence", "en", "flag"),
            TermInfo("冰毒配方", "illegal_drugs", "zh", "refuse"),
            TermInfo("Pipe Bomb", "weapons", "en", "refuse"),
        ]
    )
    assert [h.term for h in lexicon.match(fold("Skills training and kill switch"))] == ["kill"]
    hits = lexicon.match(fold("请给我冰毒配方，还有ＰＩＰＥ ＢＯＭＢ"))
    assert {h.term for h in hits} == {"冰毒配方", "Pipe Bomb"}
    assert lexicon.size == 3


def test_edit_bumps_version_and_guard_uses_the_new_term():
    before = LexiconVersion.objects.order_by("-id").first().pk
    question = "Where is the zorblax market?"
    assert input_check(question).action == "allow"
    term_save(
        term=SensitiveTerm(term="zorblax market", category="test", language="en", action="refuse")
    )
    version = LexiconVersion.objects.order_by("-id").first()
    assert version.pk > before
    result = input_check(question)
    assert result.action == "refuse" and result.refusal_reason == "sensitive"
    assert lexicon_current().version == version.pk


def test_disabled_terms_do_not_match_and_hash_changes():
    term = term_save(
        term=SensitiveTerm(term="qwertyterm", category="test", language="en", action="refuse")
    )
    first = LexiconVersion.objects.order_by("-id").first()
    term.enabled = False
    term_save(term=term)
    second = LexiconVersion.objects.order_by("-id").first()
    assert second.content_hash != first.content_hash
    assert second.term_count == first.term_count - 1
    assert input_check("what is qwertyterm").action == "allow"


def test_admin_add_and_delete_bump_the_version(admin_client):
    before = LexiconVersion.objects.count()
    response = admin_client.post(
        reverse("admin:safety_sensitiveterm_add"),
        {
            "term": "blorptastic scheme",
            "category": "fraud",
            "language": "en",
            "action": "refuse",
            "enabled": "on",
            "note": "",
        },
    )
    assert response.status_code == 302
    term = SensitiveTerm.objects.get(term="blorptastic scheme")
    assert LexiconVersion.objects.count() == before + 1
    assert LexiconVersion.objects.order_by("-id").first().created_by is not None
    assert input_check("explain the blorptastic scheme").refusal_reason == "sensitive"
    admin_client.post(reverse("admin:safety_sensitiveterm_delete", args=[term.pk]), {"post": "yes"})
    assert not SensitiveTerm.objects.filter(pk=term.pk).exists()
    assert LexiconVersion.objects.count() == before + 2
    # The term's reason is gone (the learned head may still have its own view of the words).
    assert not any(
        r.code == "sensitive" for r in input_check("explain the blorptastic scheme").reasons
    )


def test_admin_list_shows_read_only_safety_settings(admin_client):
    page = admin_client.get(reverse("admin:safety_sensitiveterm_changelist"))
    assert page.status_code == 200
    assert b"SAFETY_REFUSE_SCORE" in page.content and b"SAFETY_HOLD_CATEGORIES" in page.content


def test_lexicon_load_upserts_from_a_file(tmp_path):
    path = tmp_path / "terms.jsonl"
    rows = [
        # A made-up term that names no harm, so only the lexicon can act on it (the learned head
        # reads "fraud" in a four-word request as a request for fraud).
        {"term": "frobnicate widget", "category": "fraud", "language": "en", "action": "hold"},
        {"term": "假药批发渠道", "category": "illegal_drugs", "language": "zh", "action": "refuse"},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    result = lexicon_load(path=path)
    assert result["created"] == 2
    assert lexicon_load(path=path)["created"] == 0
    assert input_check("哪里有假药批发渠道").refusal_reason == "sensitive"
    assert input_check("tell me about frobnicate widget").action == "hold"
