"""What an old answer and a cited document's original file show a reader today (issue 22):
access is checked when they are shown, and an uploaded original never renders on the portal's
origin."""

from __future__ import annotations

import pytest

from portal.knowledge.models import Audience, Collection
from portal.knowledge.services import collection_update
from tests.portal.factories import PASSPORT_MD, collection, ingest

QUESTION = "How long does passport renewal by mail take?"

HOSTILE_HTML = b"""<!doctype html><html><head><title>Parking permits</title>
<meta http-equiv="refresh" content="0; url=https://attacker.example/">
</head><body><h1>Parking permits</h1><p>A residential permit costs $40 a year.</p>
<script>document.location='https://attacker.example/'</script></body></html>"""


@pytest.fixture
def answered(client, db):
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")
    data = client.post(
        "/api/v1/ask", {"question": QUESTION}, content_type="application/json"
    ).json()
    assert data["status"] == "answered" and data["citations"]
    return data


def _turn_staff_only() -> None:
    coll = Collection.objects.get(slug="public-services")
    coll.audience = Audience.STAFF
    collection_update(collection=coll, changed=["audience"])


def test_an_old_answer_stops_showing_passages_of_a_collection_turned_staff_only(client, answered):
    quote = next(iter(answered["citations"].values()))["quote"]
    page = client.get(f"/a/{answered['answer_id']}/")
    assert quote.split()[0] in page.content.decode()  # shown while the collection is public

    _turn_staff_only()

    api = client.get(f"/api/v1/answers/{answered['answer_id']}").json()
    assert api["citations"] == {} and api["sentences"] == [] and api["text"] == ""
    assert api["sources_withheld"] == len(answered["citations"])
    html = client.get(f"/a/{answered['answer_id']}/").content.decode()
    assert quote not in html
    assert all(s["text"] not in html for s in answered["sentences"])
    assert "no longer available to you" in html


def test_a_reader_who_may_see_the_collection_still_gets_the_whole_answer(
    client, answered, make_user
):
    _turn_staff_only()
    client.force_login(make_user("staff"))
    api = client.get(f"/api/v1/answers/{answered['answer_id']}").json()
    assert api["sources_withheld"] == 0
    assert api["citations"].keys() == answered["citations"].keys()
    assert api["text"] == answered["text"]


def test_an_uploaded_html_original_is_a_sandboxed_download(client, db):
    coll = collection()
    result, _ = ingest(HOSTILE_HTML.decode(), filename="permits.html", coll=coll)
    document = result.version.document
    response = client.get(f"/documents/{document.pk}/v1/file")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("sandbox")
    assert b"".join(response.streaming_content) == HOSTILE_HTML
