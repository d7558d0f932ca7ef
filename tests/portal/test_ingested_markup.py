"""An uploaded document that spells out markup is stored, retrieved and quoted as plain text:
no passage or API answer carries a tag, script content or a javascript: link from its source."""

from __future__ import annotations

import json
import re

from portal.knowledge.models import Chunk
from portal.knowledge.retrieval import passages_search
from tests.portal.factories import ingest

QUESTION = "How much does a residential parking permit cost?"

# Plain text: no parser removes anything from it, so only ingestion's markup stripping can.
HOSTILE_TXT = """Residential parking permits

A residential parking permit costs $40 a year.<script>alert(1)</script> Apply \
<a href="javascript:alert(2)">online</a> within 30 days of moving in.

See [the permit form](javascript:alert(3)) for the documents a residential permit needs.
"""

_MARKUP = re.compile(r"<[A-Za-z/!?]|javascript:|alert\(", re.IGNORECASE)


def test_passages_and_api_answers_carry_no_markup_from_the_source(client, db, make_user):
    result, outcome = ingest(HOSTILE_TXT, filename="permits.txt", title="Parking permits")
    assert outcome.status == "done"

    chunks = list(Chunk.objects.filter(version=result.version).values_list("text", flat=True))
    assert chunks and not any(_MARKUP.search(text) for text in chunks)
    joined = " ".join(chunks)
    assert "A residential parking permit costs $40 a year." in joined
    assert "Apply online within 30 days of moving in." in joined
    assert "See the permit form for the documents" in joined

    passages = passages_search(question=QUESTION, user=make_user(None))
    assert passages and not any(_MARKUP.search(p.text) for p in passages)

    response = client.post("/api/v1/ask", {"question": QUESTION}, content_type="application/json")
    data = response.json()
    assert data["status"] == "answered" and data["citations"]
    assert "$40" in data["text"]
    assert not _MARKUP.search(json.dumps(data, ensure_ascii=False))
