"""What readers see over time and on arrival (issue 23 parts 5 and 7): a notice on old answers
whose sources changed, a source page for withdrawn documents, and a first screen that says what
the knowledge covers."""

from __future__ import annotations

from django.utils import timezone

from portal.knowledge.models import Audience, Document
from portal.knowledge.services import document_delete
from portal.qa.services import answer_run
from tests.portal.factories import PASSPORT_MD, STAFF_MD, collection, ingest

QUESTION = "How long does passport renewal by mail take?"
PASSPORT_V2 = PASSPORT_MD.replace("6 to 8 weeks", "4 to 6 weeks")


def _answered(**kwargs):
    answer = answer_run(question=QUESTION, **kwargs).answer
    assert answer.status == "answered", answer.refusal_reason
    return answer


def test_an_old_answer_says_when_a_newer_version_of_its_source_exists(client, db):
    result, _ = ingest(PASSPORT_MD, filename="passport.md", title="Passports")
    document = result.version.document
    answer = _answered()
    page = client.get(f"/a/{answer.public_id}/").content.decode()
    assert "A newer version of this document exists" not in page
    assert 'id="sources-changed"' not in page

    ingest(PASSPORT_V2, filename="passport-2026.md", title="Passports")
    assert document.versions.count() == 2
    page = client.get(f"/a/{answer.public_id}/").content.decode()
    assert "6 to 8 weeks" in page  # the answer itself is what was published
    assert "A newer version of this document exists." in page
    assert f'<a href="/documents/{document.pk}/">See version 2</a>' in page
    # ...and the reader may ask again, the question going in the body as on the ask page.
    assert 'id="sources-changed"' in page and 'action="/"' in page
    assert f'name="q" value="{answer.question}"' in page


def test_a_withdrawn_documents_source_page_still_resolves_and_says_so(client, make_user, db):
    result, _ = ingest(PASSPORT_MD, filename="passport.md", title="Passports")
    document = result.version.document
    answer = _answered()
    document_delete(document=document)
    document.refresh_from_db()

    source = client.get(f"/documents/{document.pk}/")
    assert source.status_code == 200
    body = source.content.decode()
    day = timezone.localtime(document.deleted_at).strftime("%Y-%m-%d")
    assert f"This document was withdrawn on {day}" in body and 'id="withdrawn"' in body
    assert "passport.md" in body and "withdrawn</td>" in body  # the cited version, kept
    assert client.get(f"/documents/{document.pk}/v1/file").status_code == 200
    page = client.get(f"/a/{answer.public_id}/").content.decode()
    assert f"This document was withdrawn on {day} and is no longer used for answers." in page
    assert 'data-change="withdrawn"' in page and 'id="sources-changed"' in page


def test_a_withdrawn_documents_page_keeps_its_collections_audience(client, make_user, db):
    staff_only = collection("internal", Audience.STAFF)
    result, _ = ingest(STAFF_MD, filename="triage.md", coll=staff_only, title="Triage")
    document = result.version.document
    document_delete(document=document)
    assert client.get(f"/documents/{document.pk}/").status_code == 404
    assert client.get(f"/documents/{document.pk}/v1/file").status_code == 404
    client.force_login(make_user("staff"))
    assert client.get(f"/documents/{document.pk}/").status_code == 200


def test_the_home_page_lists_the_collections_the_reader_may_ask_about(client, make_user, db):
    public = collection("public-services")
    public.description = "Benefits, licences and passports."
    public.example_questions = ["护照续签需要多长时间？", "How long does passport renewal take?"]
    public.save()
    ingest(PASSPORT_MD, filename="passport.md", title="Passports", coll=public)
    staff_only = collection("internal", Audience.STAFF)
    ingest(STAFF_MD, filename="triage.md", coll=staff_only, title="Triage protocol")
    collection("empty-shelf")  # no documents in use: nothing to ask about
    gone, _ = ingest("Old leaflet text.", filename="old.txt", coll=collection("leaflets"))
    document_delete(document=Document.objects.get(pk=gone.version.document_id))

    body = client.get("/").content.decode()
    assert "What you can ask about" in body
    assert 'data-slug="public-services"' in body and "Benefits, licences and passports." in body
    assert "1 document" in body
    for hidden in ("internal", "empty-shelf", "leaflets"):
        assert f'data-slug="{hidden}"' not in body
    # Example questions are the collection's (admins edit them; load_demo fills the demo's), in
    # the reader's language first, each pre-filling the question box (nothing is asked by a GET).
    assert "For example:" in body and 'href="/?q=' in body
    first_example = body.split('class="examples"')[1].split("</li>")[0]
    assert 'lang="en"' in first_example

    client.force_login(make_user("staff"))
    staff_view = client.get("/").content.decode()
    assert 'data-slug="internal"' in staff_view
    assert "Including: Triage protocol" in staff_view  # no description: a few of its documents


def test_the_home_page_is_in_chinese_for_a_chinese_reader(client, db):
    public = collection("public-services")
    public.example_questions = ["How long does passport renewal take?", "护照续签需要多长时间？"]
    public.save()
    ingest(PASSPORT_MD, filename="passport.md", title="Passports", coll=public)
    body = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert "可以咨询的内容" in body and "1 份文档" in body and "例如：" in body
    first_example = body.split('class="examples"')[1].split("</li>")[0]
    assert 'lang="zh-Hans"' in first_example
