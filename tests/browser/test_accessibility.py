"""Accessibility checks in a real browser on the pages people use all day: text contrast of at
least 4.5:1 (3:1 for large text, WCAG 2.1 AA) computed from the rendered colours, a name for every
form control, alt text on images, and asking with the keyboard alone."""

from __future__ import annotations

import pytest

from tests.browser.conftest import sign_in
from tests.portal.factories import PASSPORT_MD, ingest

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

AUDIT = """
() => {
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const c = [r, g, b].map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const background = (el) => {
    for (let n = el; n; n = n.parentElement) {
      const c = rgb(getComputedStyle(n).backgroundColor);
      if (c.length >= 3 && (c.length === 3 || c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 1 && r.height > 1 && s.visibility !== "hidden" && s.opacity !== "0";
  };
  const problems = [];
  for (const el of document.querySelectorAll("body *")) {
    if (!visible(el) || el.closest("[hidden], dialog:not([open])")) continue;
    const text = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
    if (text) {
      const s = getComputedStyle(el);
      const fg = rgb(s.color).slice(0, 3), bg = background(el);
      const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
      const ratio = (a + 0.05) / (b + 0.05);
      const size = parseFloat(s.fontSize), bold = parseInt(s.fontWeight, 10) >= 700;
      const large = size >= 24 || (bold && size >= 18.66);
      if (ratio < (large ? 3 : 4.5)) {
        const what = el.textContent.trim().slice(0, 40);
        problems.push(`contrast ${ratio.toFixed(2)} on <${el.tagName.toLowerCase()}> "${what}"`);
      }
    }
  }
  for (const c of document.querySelectorAll("input:not([type=hidden]), select, textarea, button")) {
    if (!visible(c)) continue;
    const named = (c.labels && c.labels.length) || c.getAttribute("aria-label") ||
      c.getAttribute("aria-labelledby") || (c.tagName === "BUTTON" && c.textContent.trim());
    if (!named) problems.push(`no accessible name: <${c.tagName.toLowerCase()} name=${c.name}>`);
  }
  for (const img of document.querySelectorAll("img")) {
    if (!img.hasAttribute("alt")) problems.push(`image without alt: ${img.src}`);
  }
  return problems;
}
"""


def _audit(page) -> list[str]:
    return page.evaluate(AUDIT)


def test_pages_have_contrast_labels_and_alt_text(transactional_db, make_user, new_page, screenshot):
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")
    make_user("admin", username="admin-a11y")
    page = new_page()
    page.goto("/")
    assert _audit(page) == []
    page.fill("#q", "How long does passport renewal by mail take?")
    page.click("#ask-form button[type=submit]")
    expect(page.locator("#feedback-form")).to_be_visible(timeout=30_000)
    page.get_by_role("radio", name="No").check()  # shows the reason fields too
    assert _audit(page) == []
    page.goto(page.url)  # the server-rendered answer page
    assert _audit(page) == []
    for lang in ("zh-hans", "en"):
        with page.expect_navigation():
            page.select_option("#lang", lang)
        assert _audit(page) == []

    sign_in(page, "admin-a11y")
    for path in ("/knowledge/", "/knowledge/collections/", "/knowledge/health/", "/review/"):
        page.goto(path)
        assert _audit(page) == [], path
    screenshot(page, "review-queue")


def test_a_question_can_be_asked_and_its_source_read_with_the_keyboard_alone(
    transactional_db, new_page, screenshot
):
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")
    page = new_page()
    page.goto("/")
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Enter")  # skip the navigation
    for _ in range(6):  # from the main content, Tab reaches the question box
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "q":
            break
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.type("How long does passport renewal by mail take?")
    page.keyboard.press("Tab")
    expect(page.locator("#ask-form button[type=submit]")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#live .permalink")).to_be_visible(timeout=30_000)
    # Tab onwards to the first citation marker and open it with the keyboard.
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('cite')"):
            break
    page.keyboard.press("Enter")
    dialog = page.locator("dialog#citation")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Close")).to_be_focused()
    screenshot(page, "keyboard-citation")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    assert page.evaluate("document.activeElement.classList.contains('cite')")


def test_the_audit_flags_low_contrast_unnamed_controls_and_images_without_alt(browser):
    page = browser.new_page()
    page.set_content(
        '<p style="color:#999;background:#fff">grey on white</p>'
        '<p style="color:#0b4f9c">brand blue on white</p>'
        '<input name="unnamed"><label>Named <input name="named"></label><img src="x.png">'
    )
    problems = _audit(page)
    page.close()
    assert len(problems) == 3, problems
    assert problems[0].startswith("contrast 2.8") and "grey on white" in problems[0]
    assert "name=unnamed" in problems[1] and "x.png" in problems[2]
