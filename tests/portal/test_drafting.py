"""Staff drafting: generation grounded in the knowledge base, verification marks, edits that are
re-verified, DOCX export with footnotes and the AI label, listing and audit."""

from __future__ import annotations

import io

import pytest
from docx import Document
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from lxml import etree

from llm_backend.base import BaseBackend, GenerationStream
from portal.audit.models import AuditEvent
from portal.drafting import services
from portal.drafting.models import Draft, DraftStatus, DraftTemplate, SentenceState
from portal.knowledge.models import Audience
from tests.portal.factories import PASSPORT_MD, STAFF_MD, collection, ingest

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
FACTS = (
    "Mr Zhang, phone 13812345678, aged 40, asks whether adults may renew a passport by mail "
    "and how long mail renewal takes."
)


class ScriptedModel(BaseBackend):
    """The model edge: returns fixed text and keeps the request it was given."""

    kind = "scripted"

    def __init__(self, text: str) -> None:
        super().__init__(model_id="scripted-test-model")
        self.text = text
        self.requests = []

    def stream(self, request):
        self.requests.append(request)

        def produce(usage):
            usage.finish_reason = "stop"
            yield from self.text.split(" ")[:1]
            rest = self.text.split(" ")[1:]
            for word in rest:
                yield " " + word

        return GenerationStream(produce)


@pytest.fixture
def knowledge(db):
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")
    staff_only = collection("internal", audience=Audience.STAFF)
    ingest(STAFF_MD, filename="triage.md", coll=staff_only, title="Internal triage protocol")


@pytest.fixture
def reply_letter(db):
    return DraftTemplate.objects.get(slug="reply-letter")


def _docx(data: bytes):
    document = Document(io.BytesIO(data))
    notes_part = next(
        rel.target_part for rel in document.part.rels.values() if rel.reltype == RT.FOOTNOTES
    )
    notes = etree.fromstring(notes_part.blob)
    texts = {
        int(n.get(f"{W}id")): "".join(t.text or "" for t in n.iter(f"{W}t"))
        for n in notes.iter(f"{W}footnote")
    }
    refs = [int(r.get(f"{W}id")) for r in document.element.body.iter(f"{W}footnoteReference")]
    return document, texts, refs


def test_the_three_default_templates_are_seeded(db):
    slugs = set(DraftTemplate.objects.values_list("slug", flat=True))
    assert {"reply-letter", "public-notice", "patient-leaflet"} <= slugs


def test_extractive_draft_cites_and_verifies_every_sentence(knowledge, reply_letter, make_user):
    staff = make_user("staff")
    draft = services.draft_create(template=reply_letter, facts=FACTS, user=staff)
    assert draft.status == DraftStatus.READY
    assert draft.backend == "extractive"
    assert draft.sentences
    titles = {p["label"]: p["document_title"] for p in draft.passages}
    for sentence in draft.sentences:
        assert sentence["state"] in (SentenceState.VERIFIED, SentenceState.QUOTED)
        assert sentence["citations"] and all(c in titles for c in sentence["citations"])
    assert "Passport renewal" in {titles[c] for s in draft.sentences for c in s["citations"]}
    # Personal data never reaches storage (nor, see below, the model).
    assert "13812345678" not in draft.facts and "<PHONE>" in draft.facts
    event = AuditEvent.objects.get(action="draft.create", object_id=str(draft.pk))
    assert event.detail["template"] == "reply-letter" and event.detail["status"] == "ready"
    assert "13812345678" not in str(event.detail)


def test_unsupported_sentences_are_quoted_or_removed(
    knowledge, reply_letter, make_user, monkeypatch
):
    model = ScriptedModel(
        "Adults may renew by mail if they were 16 or older when the passport was issued [1]. "
        "Mail renewal takes 2 weeks [1]. "
        "Renewal is free of charge for everyone over 90 [1]."
    )
    monkeypatch.setattr(services, "generation_backend", lambda: model)
    draft = services.draft_create(template=reply_letter, facts=FACTS, user=make_user("staff"))

    # The model was given redacted facts, fenced, and the passages as untrusted data.
    prompt = "\n".join(m["content"] for m in model.requests[0].messages)
    assert "13812345678" not in prompt and "‹PHONE›" in prompt  # redacted, then fenced
    assert "<facts>" in prompt and "untrusted data" in prompt
    states = [s["state"] for s in draft.sentences]
    assert states[0] == SentenceState.VERIFIED
    assert draft.sentences[0]["text"].startswith("Adults may renew by mail")
    texts = " ".join(s["text"] for s in draft.sentences)
    # "2 weeks" and "free ... over 90" are not in the passage: never in the draft as written.
    assert "2 weeks" not in texts and "free of charge" not in texts
    replaced = [s for s in draft.sentences if s["state"] == SentenceState.QUOTED]
    assert len(replaced) + draft.removed_sentences == 2
    for sentence in replaced:
        assert sentence["text"] in draft.passages[0]["text"]  # verbatim quote of the source
    assert draft.backend == "scripted" and draft.model_id == "scripted-test-model"


def test_a_model_sentence_citing_the_wrong_passage_is_verified_against_the_right_one(
    knowledge, reply_letter, make_user, monkeypatch
):
    """As in answers: the model wrote a sentence of one passage and cited another."""

    class CitesTheOther(ScriptedModel):
        def stream(self, request):
            self.wrong = next(lbl for lbl, text in request.passages if "6 to 8" not in text)
            self.right = next(lbl for lbl, text in request.passages if "6 to 8" in text)
            self.text = f"Mail renewal takes 6 to 8 weeks [{self.wrong}]."
            return super().stream(request)

    model = CitesTheOther("")
    monkeypatch.setattr(services, "generation_backend", lambda: model)
    facts = (
        "Mr Zhang asks how long passport renewal by mail takes for adults, and whether his "
        "children under 16 must apply in person with both parents."
    )
    draft = services.draft_create(template=reply_letter, facts=facts, user=make_user("staff"))
    first = draft.sentences[0]
    assert first["state"] == SentenceState.VERIFIED
    assert first["text"].startswith("Mail renewal takes 6 to 8 weeks")
    assert first["citations"] == [model.right]
    assert first["check"]["drafted_labels"] == [model.wrong]


def test_staff_collections_are_drafted_from_for_staff(knowledge, make_user):
    notice = DraftTemplate.objects.get(slug="public-notice")
    draft = services.draft_create(
        template=notice,
        facts="Caseworkers escalate any appeal older than 90 days to the regional supervisor.",
        user=make_user("staff"),
        collections=["internal"],
    )
    assert draft.status == DraftStatus.READY
    assert {p["document_title"] for p in draft.passages} == {"Internal triage protocol"}


def test_facts_the_sources_do_not_cover_give_no_draft(knowledge, reply_letter, make_user):
    draft = services.draft_create(
        template=reply_letter,
        facts="The applicant wants a licence to keep bees on a rooftop garden.",
        user=make_user("staff"),
    )
    assert draft.status == DraftStatus.NO_SUPPORT and draft.sentences == []


def test_edits_are_reverified_and_marked(knowledge, reply_letter, make_user):
    staff = make_user("staff")
    draft = services.draft_create(template=reply_letter, facts=FACTS, user=staff)
    label = draft.sentences[0]["citations"][0]
    draft = services.draft_edit(
        draft=draft,
        edits={0: f"Mail renewal takes 6 to 8 weeks [{label}]."},
        user=staff,
    )
    assert draft.sentences[0]["state"] == SentenceState.EDITED
    assert draft.sentences[0]["text"] == "Mail renewal takes 6 to 8 weeks."

    draft = services.draft_edit(draft=draft, edits={0: "Mail renewal takes 2 weeks."}, user=staff)
    first = draft.sentences[0]
    assert first["state"] == SentenceState.EDITED_UNVERIFIED
    assert first["citations"] == [label]  # no markers typed: the old citation is kept
    assert any("2" in p for p in first["check"]["problems"])
    assert draft.unverified_count == 1
    edits = AuditEvent.objects.filter(action="draft.edit", object_id=str(draft.pk))
    assert edits.count() == 2 and edits.order_by("seq").last().detail["unverified"] == 1

    with pytest.raises(services.DraftError):
        services.draft_edit(draft=draft, edits={99: "x"}, user=staff)

    count = len(draft.sentences)
    draft = services.draft_edit(draft=draft, edits={0: ""}, user=staff)  # an emptied box
    assert len(draft.sentences) == count - 1 and draft.unverified_count == 0


def test_docx_export_has_footnotes_sources_and_the_ai_label(
    client, knowledge, reply_letter, make_user
):
    staff = make_user("staff")
    draft = services.draft_create(template=reply_letter, facts=FACTS, user=staff)
    services.draft_edit(draft=draft, edits={0: "Mail renewal takes 2 weeks."}, user=staff)
    client.force_login(staff)
    response = client.get(f"/drafts/{draft.public_id}/export.docx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.wordprocessingml"
    )
    document, notes, refs = _docx(response.content)

    props = document.core_properties
    assert "AI-generated" in props.comments
    assert "AI-generated" in props.keywords
    assert props.category == "AI-generated draft"
    assert document.paragraphs[0].text.startswith("AI-generated draft.")
    assert "not supported" in document.paragraphs[0].text  # the unverified edit is flagged

    draft.refresh_from_db()
    citations = sum(len(s["citations"]) for s in draft.sentences)
    assert len(refs) == citations and refs == list(range(1, citations + 1))
    assert {-1, 0} <= set(notes)  # Word's separator footnotes
    for ref in refs:
        assert notes[ref].strip().startswith("Passport renewal, version 1")
    body = "\n".join(p.text for p in document.paragraphs)
    assert "Dear resident," in body and "Sources" in body
    assert "[1] Passport renewal, version 1" in body
    assert draft.exported_at is not None
    assert AuditEvent.objects.filter(action="draft.export", object_id=str(draft.pk)).exists()


def test_pages_create_edit_and_list_own_drafts(client, knowledge, reply_letter, make_user):
    staff = make_user("staff", username="writer")
    client.force_login(staff)
    assert client.get("/drafts/new").status_code == 200
    response = client.post(
        "/drafts/new", {"template": reply_letter.pk, "facts": FACTS, "title": "Reply to Z"}
    )
    assert response.status_code == 302
    draft = Draft.objects.get(title="Reply to Z")
    page = client.get(response["Location"]).content.decode()
    assert "AI-generated draft." in page and "Verified against its source" in page
    label = draft.sentences[0]["citations"][0]
    saved = client.post(
        response["Location"], {"sentence-0": f"Mail renewal takes 6 to 8 weeks [{label}]."}
    )
    assert saved.status_code == 302
    draft.refresh_from_db()
    assert draft.sentences[0]["state"] == SentenceState.EDITED
    assert "Reply to Z" in client.get("/drafts/").content.decode()

    other = make_user("staff", username="someone-else")
    client.force_login(other)
    assert "Reply to Z" not in client.get("/drafts/").content.decode()
    assert client.get(f"/drafts/{draft.public_id}/").status_code == 404
    assert client.get(f"/drafts/{draft.public_id}/export.docx").status_code == 404
    client.force_login(make_user("admin"))
    assert "Reply to Z" in client.get("/drafts/").content.decode()
    assert client.get(f"/drafts/{draft.public_id}/").status_code == 200


def test_citizens_cannot_reach_the_workspace(client, knowledge):
    response = client.get("/drafts/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_drafts_through_the_api(client, knowledge, make_user):
    staff = make_user("staff")
    client.force_login(staff)
    templates = client.get("/api/v1/drafting/templates").json()
    assert {"reply-letter", "public-notice", "patient-leaflet"} <= {t["slug"] for t in templates}
    created = client.post(
        "/api/v1/drafts",
        {"template": "reply-letter", "facts": FACTS},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["ai_generated"] and data["status"] == "ready" and data["sentences"]
    assert "13812345678" not in created.content.decode()
    patched = client.patch(
        f"/api/v1/drafts/{data['id']}",
        {"edits": {"0": "Mail renewal takes 2 weeks."}},
        content_type="application/json",
    )
    assert patched.status_code == 200
    assert patched.json()["sentences"][0]["state"] == "edited_unverified"
    assert patched.json()["unverified_sentences"] == 1
    listed = client.get("/api/v1/drafts").json()
    assert [d["id"] for d in listed] == [data["id"]]
    exported = client.get(f"/api/v1/drafts/{data['id']}/export.docx")
    assert exported.status_code == 200
    assert Document(io.BytesIO(exported.content)).core_properties.category == "AI-generated draft"
    bad = client.post(
        "/api/v1/drafts", {"template": "nope", "facts": FACTS}, content_type="application/json"
    )
    assert bad.status_code == 400


def test_chinese_facts_give_a_chinese_draft_and_label(client, db, make_user):
    from tests.portal.factories import ZH_MD

    ingest(ZH_MD, filename="yibao.md", title="城乡居民医疗保险")
    staff = make_user("staff")
    draft = services.draft_create(
        template=DraftTemplate.objects.get(slug="public-notice"),
        facts="居民询问新生儿出生后多久内参保，可以自出生之日起享受医保待遇。",
        user=staff,
    )
    assert draft.language == "zh" and draft.status == DraftStatus.READY
    assert all(s["citations"] for s in draft.sentences)
    assert any("三个月内" in s["text"] for s in draft.sentences)
    client.force_login(staff)
    document, notes, refs = _docx(client.get(f"/drafts/{draft.public_id}/export.docx").content)
    assert document.paragraphs[0].text.startswith("AI生成的草稿")
    assert refs and notes[refs[0]].startswith(" 城乡居民医疗保险，第1版")
    assert "特此公告。" in "\n".join(p.text for p in document.paragraphs)


def test_admins_add_templates_in_the_django_admin(client, make_user):
    client.force_login(make_user("admin"))
    assert client.get("/admin/drafting/drafttemplate/").status_code == 200
    response = client.post(
        "/admin/drafting/drafttemplate/add/",
        {
            "slug": "school-letter",
            "name_en": "School letter",
            "instructions_en": "A letter to a school about a pupil's vaccinations.",
            "max_sentences": 5,
            "active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert DraftTemplate.objects.filter(slug="school-letter", active=True).exists()
    assert client.get("/admin/drafting/draft/").status_code == 200
    assert client.get("/admin/api/apitoken/").status_code == 200


def test_staff_cannot_edit_templates(client, make_user):
    client.force_login(make_user("staff"))
    response = client.get("/admin/drafting/drafttemplate/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
