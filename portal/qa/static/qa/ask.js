// Streams an answer over server-sent events, one verified sentence at a time, and opens a
// citation's passage in a dialog. Without JavaScript the form still works (server-side run).
// Every visible word comes from data-* attributes the template translated, so the page reads
// in the reader's language; nothing here is inline in the HTML (strict CSP).
(function () {
  "use strict";
  const dialog = document.getElementById("citation");
  let citations = {};
  const data = document.getElementById("citations-data");
  if (data) citations = JSON.parse(data.textContent) || {};
  let opener = null;

  function showCitation(label, button) {
    const c = citations[label];
    if (!c || !dialog) return;
    const words = dialog.dataset;
    document.getElementById("citation-title").textContent = "[" + label + "] " + c.document;
    const meta = [words.version + " " + c.version];
    if (c.section && c.section.length) meta.push(c.section.join(" › "));
    if (c.page) meta.push(words.page + " " + c.page);
    if (c.effective_from) meta.push(words.effective + " " + c.effective_from);
    document.getElementById("citation-meta").textContent = meta.join(" · ");
    document.getElementById("citation-quote").textContent = c.quote;
    document.getElementById("citation-link").href = "/documents/" + c.document_id + "/";
    opener = button;
    dialog.showModal();
  }
  if (dialog) {
    // Focus goes back to the marker that opened the dialog, so keyboard users keep their place.
    dialog.addEventListener("close", function () { if (opener) opener.focus(); });
  }
  document.addEventListener("click", function (e) {
    const button = e.target.closest("button.cite");
    if (button) showCitation(button.dataset.label, button);
  });

  const form = document.getElementById("ask-form");
  const live = document.getElementById("live");
  if (!form || !live || !window.EventSource) return;
  const feedback = document.getElementById("feedback-form");

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text) node.textContent = text;
    return node;
  }
  function citeButton(label) {
    const b = el("button", "cite", "[" + label + "]");
    b.type = "button";
    b.dataset.label = label;
    b.setAttribute("aria-label", (dialog ? dialog.dataset.source : "Source") + " " + label);
    b.setAttribute("aria-haspopup", "dialog");
    return b;
  }
  function permalink(path) {
    const a = el("a", "permalink", window.location.origin + path);
    a.href = path;
    return a;
  }
  function showFeedback(answerId) {
    if (!feedback) return;
    feedback.action = feedback.dataset.actionTemplate.replace(
      "00000000-0000-0000-0000-000000000000", answerId);
    feedback.querySelector("fieldset").hidden = false;
    feedback.querySelector(".feedback-status").textContent = "";
    feedback.reset();
    feedback.hidden = false;
    feedback.dispatchEvent(new Event("change"));
  }

  let source = null;
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    const q = form.querySelector("textarea").value.trim();
    if (!q) return;
    if (source) source.close();
    if (feedback) feedback.hidden = true;
    live.hidden = false;
    live.setAttribute("aria-busy", "true");
    live.replaceChildren(el("p", "ai-label", live.dataset.label), el("p", "status", live.dataset.writing));
    const text = el("p", "answer-text");
    live.appendChild(text);
    const url = live.dataset.streamUrl + "?q=" + encodeURIComponent(q);
    source = new EventSource(url);
    source.addEventListener("start", function (m) {
      const d = JSON.parse(m.data);
      if (d.language) live.lang = d.language === "zh" ? "zh-Hans" : "en";
    });
    source.addEventListener("notice", function (m) {
      const d = JSON.parse(m.data);
      const n = el("p", "notice emergency", d.text);
      n.setAttribute("role", "alert");
      live.insertBefore(n, live.firstChild);
    });
    source.addEventListener("sentence", function (m) {
      const d = JSON.parse(m.data);
      // Across languages the reader's translation leads, marked, with the verified original.
      const span = el("span", "sentence", d.translation || d.text);
      if (d.translation) {
        span.append(" (", el("span", "mt-label", live.dataset.translated), " ",
                    el("q", "original", d.text), ")");
      }
      d.citations.forEach(function (label) { span.append(" ", citeButton(label)); });
      text.append(span, " ");
    });
    source.addEventListener("done", function (m) {
      source.close();
      const d = JSON.parse(m.data);
      citations = d.citations || {};
      const status = live.querySelector(".status");
      if (status) status.remove();
      const path = "/a/" + d.answer_id + "/";
      if (d.status === "answered") {
        if (d.guidance) live.appendChild(el("p", "notice", d.guidance));
        const p = el("p", "", live.dataset.permalink + " ");
        p.appendChild(permalink(path));
        live.appendChild(p);
        showFeedback(d.answer_id);
      } else {
        text.remove();
        live.querySelector(".ai-label").remove();
        if (d.status === "held") {
          const p = el("p", "notice held", live.dataset.held + " ");
          p.appendChild(permalink(path));
          live.appendChild(p);
        } else {
          live.appendChild(el("p", "refusal", d.guidance));
          showFeedback(d.answer_id);
        }
      }
      live.setAttribute("aria-busy", "false");
      history.replaceState(null, "", path);
    });
    source.onerror = function () {
      source.close();
      live.setAttribute("aria-busy", "false");
      const s = live.querySelector(".status");
      if (s) s.textContent = live.dataset.failed;
    };
  });
})();
