"""The admins' list of published answers whose cited sources changed since (issue 23 part 5): a
newer version in effect, or the document withdrawn; decided by the same rule as the answer
page's notices (portal/qa/selectors.py ``citations_with_currency``)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from portal.knowledge.models import Document
from portal.knowledge.services import document_delete
from portal.qa.models import Answer, AnswerStatus, Citation
from portal.qa.selectors import answers_citing_changed_sources, citations_currency
from portal.qa.services import answer_run
from tests.portal.factories import PASSPORT_MD, collection, ingest

URL = "/knowledge/changed-sources/"
QUESTION = "How long does passport renewal by mail take?"
PASSPORT_V2 = PASSPORT_MD.replace("6 to 8 weeks", "4 to 6 weeks")


def _document(text: str, *, title: str, coll=None) -> Document:
    result, _ = ingest(
        text, filename=f"{title.lower().replace(' ', '-')}.md", title=title, coll=coll
    )
    return Document.objects.get(pk=result.version.document_id)


def _published(document: Document, *, question: str, version: int = 1, days_ago: int = 0,
               status: str = AnswerStatus.ANSWERED) -> Answer:  # fmt: skip
    """An answer as the engine stores it, citing ``document``'s version ``version`` as [1]."""
    answer = Answer.objects.create(
        question=question,
        language="en",
        status=status,
        published_at=timezone.now() - dt.timedelta(days=days_ago)
        if status == AnswerStatus.ANSWERED
        else None,
    )
    Citation.objects.create(
        answer=answer,
        label="1",
        document_id_snapshot=document.pk,
        document_title=document.title,
        collection=document.collection.name,
        version_number=version,
        quote="Mail renewal takes 6 to 8 weeks.",
    )
    return answer


@pytest.fixture
def changed(db):
    """Three published answers: one citing a superseded version, one a withdrawn document, one
    a version still in effect; and a refused answer citing the superseded version."""
    passports = _document(PASSPORT_MD, title="Passports")
    ingest(PASSPORT_V2, filename="passports-2026.md", title="Passports")  # version 2, in effect
    leaflet = _document("Benefits are paid monthly.", title="Benefits leaflet",
                        coll=collection("leaflets"))  # fmt: skip
    current = _document("Visas take 3 weeks.", title="Visas")
    superseded = _published(passports, question="How long does mail renewal take?", days_ago=2)
    withdrawn = _published(leaflet, question="When are benefits paid?", days_ago=1)
    document_delete(document=leaflet)
    unchanged = _published(current, question="How long do visas take?")
    refused = _published(passports, question="Refused one", status=AnswerStatus.REFUSED)
    return {
        "superseded": superseded,
        "withdrawn": withdrawn,
        "unchanged": unchanged,
        "refused": refused,
        "leaflet": leaflet,
        "passports": passports,
    }


@pytest.mark.parametrize(
    ("role", "status", "in_nav"),
    [(None, 302, False), ("staff", 403, False), ("reviewer", 403, False), ("admin", 200, True)],
)
def test_role_matrix_of_the_changed_sources_page(client, make_user, db, role, status, in_nav):
    if role:
        client.force_login(make_user(role))
    response = client.get(URL)
    assert response.status_code == status
    if status == 302:
        assert "/accounts/login/" in response["Location"]
    home = client.get("/").content.decode()
    assert (f'href="{URL}"' in home) is in_nav  # the knowledge admin navigation links it


def test_the_page_lists_answers_citing_superseded_and_withdrawn_sources(client, make_user, changed):
    client.force_login(make_user("admin"))
    body = client.get(URL).content.decode()
    rows = body.split('id="changed-rows"')[1].split("</table>")[0]
    assert rows.count("<tr data-change=") == 2
    assert "2 citations" in body
    superseded, withdrawn = changed["superseded"], changed["withdrawn"]
    # Newest first: the withdrawn leaflet's answer (a day old), then the superseded one.
    assert rows.index(str(withdrawn.public_id)) < rows.index(str(superseded.public_id))
    newer = rows.split('data-change="newer"')[1].split("</tr>")[0]
    assert f'href="/a/{superseded.public_id}/"' in newer
    assert "How long does mail renewal take?" in newer  # the question as stored (redacted)
    assert f'[1] <a href="/documents/{changed["passports"].pk}/">Passports</a>' in newer
    assert "version 1" in newer and "version 2 in effect" in newer
    day = timezone.localtime(superseded.published_at).strftime("%Y-%m-%d")
    assert day in newer
    gone = rows.split('data-change="withdrawn"')[1].split("</tr>")[0]
    changed["leaflet"].refresh_from_db()
    deleted = timezone.localtime(changed["leaflet"].deleted_at).strftime("%Y-%m-%d")
    assert f"withdrawn on {deleted}" in gone and "When are benefits paid?" in gone
    for absent in ("How long do visas take?", "Refused one"):
        assert absent not in body  # unchanged sources, and answers never published


def test_the_page_filters_by_kind_of_change_and_collection(client, make_user, changed):
    client.force_login(make_user("admin"))
    newer = client.get(URL, {"change": "newer"}).content.decode()
    assert "How long does mail renewal take?" in newer and "When are benefits paid?" not in newer
    assert '<option value="newer" selected>' in newer
    gone = client.get(URL, {"change": "withdrawn"}).content.decode()
    assert "When are benefits paid?" in gone and "How long does mail renewal take?" not in gone
    leaflets = client.get(URL, {"collection": "leaflets"}).content.decode()
    assert "When are benefits paid?" in leaflets and "mail renewal" not in leaflets
    none = client.get(URL, {"collection": "leaflets", "change": "newer"}).content.decode()
    assert "No published answer cites a changed source." in none
    # An unknown kind is no filter at all, not an error.
    assert "2 citations" in client.get(URL, {"change": "bogus"}).content.decode()


def test_the_page_is_paginated_with_its_filters_and_a_fixed_number_of_queries(
    client, make_user, changed, django_assert_max_num_queries
):
    from portal.qa import views

    for i in range(4):
        _published(changed["passports"], question=f"Old question {i}", days_ago=3 + i)
    client.force_login(make_user("admin"))
    client.get(URL)  # the session and permission caches, outside the count
    per_page, views.CHANGED_PER_PAGE = views.CHANGED_PER_PAGE, 2
    try:
        with django_assert_max_num_queries(12):
            first = client.get(URL, {"change": "newer"}).content.decode()
        last = client.get(URL, {"change": "newer", "page": 3}).content.decode()
    finally:
        views.CHANGED_PER_PAGE = per_page
    assert first.count("<tr data-change=") == 2 and "change=newer&amp;page=2" in first
    assert "Page 3 / 3" in last and last.count("<tr data-change=") == 1


def test_the_list_and_the_answer_page_apply_one_rule(db):
    """A newest version that expired leaves nothing in effect: nothing replaced the cited one,
    so neither the answer page nor the list calls it superseded; once a version 3 takes
    effect, both do."""
    today = timezone.localdate()
    passports = _document(PASSPORT_MD, title="Passports")
    ingest(PASSPORT_V2, filename="passports-v2.md", title="Passports",
           effective_from=today - dt.timedelta(days=30), expires_on=today)  # fmt: skip
    answer = _published(passports, question="How long?", version=2)
    citations = list(answer.citations.all())
    assert citations_currency(citations) == {"1": None}
    assert not answers_citing_changed_sources().exists()
    ingest(PASSPORT_V2 + "\nUpdated.", filename="passports-v3.md", title="Passports")
    currency = citations_currency(citations)["1"]
    assert (currency.kind, currency.current_version) == ("newer", 3)
    listed = answers_citing_changed_sources().get()
    assert (listed.answer_id, listed.change, listed.current_version) == (answer.pk, "newer", 3)


def test_an_engine_answer_appears_once_its_source_is_superseded(client, make_user, db):
    ingest(PASSPORT_MD, filename="passport.md", title="Passports")
    answer = answer_run(question=QUESTION).answer
    assert answer.status == "answered", answer.refusal_reason
    client.force_login(make_user("admin"))
    assert str(answer.public_id) not in client.get(URL).content.decode()
    ingest(PASSPORT_V2, filename="passport-2026.md", title="Passports")
    body = client.get(URL).content.decode()
    assert f'href="/a/{answer.public_id}/"' in body and "version 2 in effect" in body
