"""An admin uploads documents (one picked, one dropped) and watches each reach "done", ingested
by a real Celery worker process; the new document then answers a citizen's question."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from portal.knowledge.models import DocumentVersion
from tests.browser.conftest import sign_in
from tests.portal.factories import PASSPORT_MD, collection

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

BENEFITS_MD = """# Winter fuel payment

## Who gets it

People born before 22 September 1958 get a winter fuel payment of between 250 and 600 pounds.
The payment is made automatically in November or December.
"""

DROP_FILE = """
([name, text]) => {
  const transfer = new DataTransfer();
  transfer.items.add(new File([text], name, {type: "text/markdown"}));
  const zone = document.getElementById("dropzone");
  for (const type of ["dragenter", "dragover", "drop"]) {
    const init = {dataTransfer: transfer, bubbles: true, cancelable: true};
    zone.dispatchEvent(new DragEvent(type, init));
  }
}
"""


def test_admin_uploads_documents_and_watches_them_reach_done(
    transactional_db, celery_worker_process, make_user, new_page, screenshot, tmp_path
):
    collection("public-services")
    make_user("admin", username="admin-ui")
    page = new_page()
    sign_in(page, "admin-ui")
    sent = []
    page.on("request", lambda r: sent.append((r.method, urlsplit(r.url))))
    page.goto("/knowledge/")
    expect(page.get_by_role("heading", name="Upload documents")).to_be_visible()

    picked = tmp_path / "passport.md"
    picked.write_text(PASSPORT_MD, encoding="utf-8")
    page.set_input_files("#dropzone input[type=file]", [str(picked)])
    page.evaluate(DROP_FILE, ["winter-fuel.md", BENEFITS_MD])
    rows = page.locator("#upload-rows li")
    expect(rows).to_have_count(2)
    page.click("#upload-form button[type=submit]")

    # Each file has its own row, which moves through upload and ingestion to "done".
    expect(page.locator('#upload-rows li[data-status="done"]')).to_have_count(2, timeout=180_000)
    for row in rows.all():
        expect(row.locator("progress")).to_have_attribute("value", "100")
        expect(row.locator(".state")).to_have_text("done")
    screenshot(page, "done")
    assert DocumentVersion.objects.filter(status="done").count() == 2
    # One request per file to the API's upload (with the session's CSRF token), and the
    # progress polled from the API's job list.
    uploads = [m for m, url in sent if url.path == "/api/v1/documents"]
    assert uploads == ["POST", "POST"]
    polls = [url for m, url in sent if m == "GET" and url.path == "/api/v1/jobs"]
    assert polls and all(url.query.startswith("ids=") for url in polls)

    # The row links to the document's version history, which shows the finished version.
    rows.nth(1).locator("a").click()
    # Titled by its own first heading, not by the file name "winter-fuel.md" (issue 23).
    expect(page.locator("h1")).to_have_text("Winter fuel payment")
    expect(page.locator("#version-1 .job")).to_have_text("done")

    # Index health agrees: everything uploaded is in the indexes.
    page.goto("/knowledge/health/")
    expect(page.locator("main p.ok").first).to_contain_text("Every index holds exactly")
    screenshot(page, "health")

    # And a citizen can now get an answer from the dropped document.
    citizen = new_page()
    citizen.goto("/")
    citizen.fill("#q", "Who gets the winter fuel payment?")
    citizen.click("#ask-form button[type=submit]")
    expect(citizen.locator("#live .sentence").first).to_contain_text("winter fuel payment")
