"""Text is normalised at the edge (portal/core/text_input.py): NFC, no control characters but tab
and line feed, no NUL, \\n line ends; and the DOCX export survives text stored before that."""

from __future__ import annotations

import io

import pytest
from django.http import QueryDict
from docx import Document
from pydantic import BaseModel, Field
from pydantic import ValidationError as PydanticValidationError

from portal.api.services import api_token_create
from portal.core.text_input import (
    NormalizedStr,
    NormalizedTextMixin,
    normalize_text,
    xml_safe,
)
from portal.drafting import services as drafting_services
from portal.drafting.forms import DraftForm
from portal.drafting.models import Draft, DraftTemplate
from portal.qa.models import Answer, AnswerStatus
from portal.qa.services import answer_run
from portal.review.models import ReviewDecision
from tests.portal.factories import PASSPORT_MD, ingest

QUESTION = "How long does passport renewal by mail take?"
DIRTY_QUESTION = "How long does passport\x00 renewal by\x0b mail take?"
FACTS = "An adult asks whether a passport can be renewed by mail and how long it takes."


@pytest.fixture
def knowledge(db):
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")


# -- the normaliser -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("a\x00b", "ab"),  # NUL
        ("a\x0bb\x0cc\x1bd", "abcd"),  # vertical tab, form feed, escape
        ("a\x7fb\x85c\x9fd", "abcd"),  # DEL and the C1 controls (NEL included)
        ("one\r\ntwo\rthree\n", "one\ntwo\nthree\n"),  # line ends
        ("keep\ttabs\nand lines", "keep\ttabs\nand lines"),
        ("cafe\u0301", "caf\u00e9"),  # NFC: e + combining acute -> é
        ("half \ud800 surrogate", "half  surrogate"),  # no UTF-8 encoding exists for it
        ("中文：标点，照旧", "中文：标点，照旧"),
        ("", ""),
    ],
)
def test_normalize_text(raw, clean):
    assert normalize_text(raw) == clean
    assert normalize_text(clean) == clean  # idempotent


def test_xml_safe_drops_only_what_xml_cannot_hold():
    assert xml_safe("a\x00b\x0bc\x1fd\ufffee") == "abcde"
    assert xml_safe("tab\tline\nreturn\r\x85é中") == "tab\tline\nreturn\r\x85é中"


def test_schema_strings_are_normalised_before_their_length_checks():
    class Question(BaseModel):
        text: NormalizedStr = Field(min_length=1, max_length=5)

    assert Question(text="ab\x00\x0bcde").text == "abcde"  # 7 characters in, 5 kept
    with pytest.raises(PydanticValidationError):
        Question(text="\x00\x0b")  # nothing left: refused, not stored empty
    with pytest.raises(PydanticValidationError):
        Question(text=5)  # non-strings are still the type check's


def test_the_form_mixin_normalises_every_submitted_value():
    from django import forms

    class Sample(NormalizedTextMixin, forms.Form):
        title = forms.CharField()
        slug = forms.SlugField()
        tags = forms.MultipleChoiceField(choices=[("a", "a"), ("b", "b")])

    data = QueryDict(mutable=True)
    data.update({"title": " Re\x00port\r\n", "slug": "re\x0bport"})
    data.setlist("tags", ["a\x00", "b"])
    form = Sample(data)
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {"title": "Report", "slug": "report", "tags": ["a", "b"]}
    assert Sample({"title": "\x00", "slug": "x", "tags": ["a"]}).errors["title"]  # now empty


# -- questions: the API and the ask page's form --------------------------------------------------


def test_a_question_through_the_api_is_stored_without_control_characters(client, knowledge):
    response = client.post(
        "/api/v1/ask", {"question": DIRTY_QUESTION}, content_type="application/json"
    )
    assert response.status_code == 200, response.content[:300]
    stored = Answer.objects.get(public_id=response.json()["answer_id"]).question
    assert "\x00" not in stored and "\x0b" not in stored
    assert "passport renewal by mail" in stored


def test_a_question_of_only_control_characters_is_refused_by_the_api(client, db):
    response = client.post("/api/v1/ask", {"question": "\x00\x0b"}, content_type="application/json")
    assert response.status_code == 422
    assert not Answer.objects.exists()


def test_a_question_through_the_ask_form_is_stored_without_control_characters(client, knowledge):
    response = client.post("/", {"q": DIRTY_QUESTION})
    assert response.status_code == 302
    stored = Answer.objects.get().question
    assert "\x00" not in stored and "\x0b" not in stored
    assert "passport renewal by mail" in stored


def test_a_chat_question_is_normalised(client, knowledge):
    response = client.post(
        "/api/v1/chat/completions",
        {"messages": [{"role": "user", "content": DIRTY_QUESTION}]},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content[:300]
    assert "\x00" not in Answer.objects.get().question


# -- drafts: facts, staff edits, the DOCX export ---------------------------------------------------


def test_draft_facts_through_the_api_and_the_form_are_normalised(client, knowledge, make_user):
    staff = make_user("staff")
    secret = api_token_create(owner=staff, name="svc").secret
    response = client.post(
        "/api/v1/drafts",
        {"template": "reply-letter", "facts": "Dear\x00 " + FACTS, "title": "Re\x0bply"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 201, response.content[:300]
    draft = Draft.objects.get(public_id=response.json()["id"])
    assert "\x00" not in draft.facts and draft.title == "Reply"

    template = DraftTemplate.objects.get(slug="reply-letter")
    form = DraftForm({"template": template.pk, "facts": FACTS + "\x00\x0b"}, user=staff)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["facts"] == FACTS


def test_a_staff_edit_with_a_control_character_exports_to_docx(client, knowledge, make_user):
    staff = make_user("staff")
    draft = drafting_services.draft_create(
        template=DraftTemplate.objects.get(slug="reply-letter"), facts=FACTS, user=staff
    )
    label = draft.sentences[0]["citations"][0]
    client.force_login(staff)
    edited = client.patch(
        f"/api/v1/drafts/{draft.public_id}",
        {"edits": {"0": f"Mail renewal\x0b takes 6 to 8\x00 weeks [{label}]."}},
        content_type="application/json",
    )
    assert edited.status_code == 200, edited.content[:300]
    assert edited.json()["sentences"][0]["text"] == "Mail renewal takes 6 to 8 weeks."
    page = client.post(
        f"/drafts/{draft.public_id}/", {"sentence-1": "Renewal by\x0b mail is possible."}
    )
    assert page.status_code == 302
    draft.refresh_from_db()
    assert all("\x0b" not in s["text"] for s in draft.sentences)

    exported = client.get(f"/api/v1/drafts/{draft.public_id}/export.docx")
    assert exported.status_code == 200
    assert "Mail renewal takes 6 to 8 weeks." in _docx_text(exported.content)


def test_the_docx_export_survives_control_characters_stored_before(client, knowledge, make_user):
    """The second line: text that reached the database unnormalised (older rows, a template)."""
    staff = make_user("staff")
    template = DraftTemplate.objects.get(slug="reply-letter")
    draft = drafting_services.draft_create(template=template, facts=FACTS, user=staff)
    sentences = draft.sentences
    sentences[0]["text"] = "Mail renewal\x0b takes\x1f 6 to 8 weeks."
    Draft.objects.filter(pk=draft.pk).update(sentences=sentences, title="Re\x0bply")
    DraftTemplate.objects.filter(pk=template.pk).update(opening_en="Dear\x0c resident,")
    client.force_login(staff)
    exported = client.get(f"/drafts/{draft.public_id}/export.docx")
    assert exported.status_code == 200
    text = _docx_text(exported.content)
    assert "Mail renewal takes 6 to 8 weeks." in text and "Dear resident," in text


def _docx_text(data: bytes) -> str:
    return "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)


# -- review edits and admin text ---------------------------------------------------------------


def _held() -> Answer:
    answer = answer_run(question=QUESTION).answer
    answer.status = AnswerStatus.HELD  # as the router does for a held category
    answer.save(update_fields=["status"])
    return answer


def test_review_edits_and_reasons_are_normalised(client, knowledge, make_user):
    first, second = _held(), _held()
    client.force_login(make_user("reviewer"))
    edited = client.post(
        f"/api/v1/review/{first.public_id}/edit",
        {"text": "Renewal by mail\x0b takes 6 to 8 weeks [1].", "reason": "short\x00er"},
        content_type="application/json",
    )
    assert edited.status_code == 200, edited.content[:300]
    first.refresh_from_db()
    assert first.published_text.startswith("Renewal by mail takes 6 to 8 weeks")
    assert ReviewDecision.objects.get(answer=first).reason == "shorter"

    page = client.post(
        f"/review/{second.public_id}/", {"action": "reject", "reason": "out\x0bdated\x00"}
    )
    assert page.status_code == 302
    assert ReviewDecision.objects.get(answer=second).reason == "outdated"


def test_admin_template_text_is_normalised(client, make_user):
    client.force_login(make_user("admin"))
    response = client.post(
        "/admin/drafting/drafttemplate/add/",
        {
            "slug": "school-letter",
            "name_en": "School\x0b letter",
            "instructions_en": "A letter\x00 to a school.\r\nShort.",
            "max_sentences": 5,
            "active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    template = DraftTemplate.objects.get(slug="school-letter")
    assert template.name_en == "School letter"
    assert template.instructions_en == "A letter to a school.\nShort."
