"""Staff draft a reply letter in the workspace and export it; the DOCX opens with python-docx and
carries the citations as footnotes and the AI-generated label in its properties."""

from __future__ import annotations

import importlib

import pytest
from docx import Document
from docx.opc.constants import RELATIONSHIP_TYPE as RT

from portal.drafting.models import DraftTemplate
from tests.browser.conftest import sign_in
from tests.portal.factories import PASSPORT_MD, ingest

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
FACTS = (
    "A resident aged 40 asks whether adults may renew a passport by mail and how long mail "
    "renewal takes."
)


def test_staff_export_a_draft_as_docx(transactional_db, make_user, new_page, screenshot, tmp_path):
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")
    make_user("staff", username="staff-ui")
    # Transactional tests empty every table after them, the migration-seeded templates included.
    seeded = importlib.import_module("portal.drafting.migrations.0002_default_templates")
    for fields in seeded.TEMPLATES:
        DraftTemplate.objects.update_or_create(slug=fields["slug"], defaults=fields)
    template = DraftTemplate.objects.get(slug="reply-letter")

    page = new_page()
    sign_in(page, "staff-ui")
    page.get_by_role("link", name="Drafting").click()
    page.get_by_role("link", name="New draft").click()
    page.select_option("select[name=template]", str(template.pk))
    page.fill("input[name=title]", "Reply on passport renewal")
    page.fill("textarea[name=facts]", FACTS)
    page.get_by_role("button", name="Write the draft").click()
    expect(page.locator("h1")).to_have_text("Reply on passport renewal")
    expect(page.locator("ol.draft-sentences li").first).to_be_visible()
    screenshot(page, "draft")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export DOCX (citations as footnotes)").click()
    path = tmp_path / "draft.docx"
    download_info.value.save_as(path)

    document = Document(str(path))
    assert "AI-generated" in document.core_properties.comments
    assert document.paragraphs[0].text.startswith("AI-generated draft.")
    body = "\n".join(p.text for p in document.paragraphs)
    assert "Passport renewal, version 1" in body  # the sources list
    refs = list(document.element.body.iter(f"{W}footnoteReference"))
    assert refs, "each cited sentence carries a footnote"
    notes = next(r.target_part for r in document.part.rels.values() if r.reltype == RT.FOOTNOTES)
    assert b"Passport renewal" in notes.blob
