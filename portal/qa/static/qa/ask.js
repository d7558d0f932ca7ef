// Streams an answer over server-sent events, one verified sentence at a time, and opens a
// citation's passage in a dialog. Without JavaScript the form still works (server-side run).
(function () {
  "use strict";
  const dialog = document.getElementById("citation");
  const labels = JSON.parse(document.getElementById("citation-labels").textContent);
  let citations = {};
  const data = document.getElementById("citations-data");
  if (data) citations = JSON.parse(data.textContent) || {};

  function showCitation(label) {
    const c = citations[label];
    if (!c || !dialog) return;
    document.getElementById("citation-title").textContent = "[" + label + "] " + c.document;
    const meta = [labels.version + " " + c.version];
    if (c.section && c.section.length) meta.push(c.section.join(" › "));
    if (c.page) meta.push(labels.page + " " + c.page);
    meta.push(labels.effective + " " + c.effective_from);
    document.getElementById("citation-meta").textContent = meta.join(" · ");
    document.getElementById("citation-quote").textContent = c.quote;
    document.getElementById("citation-link").href = "/documents/" + c.document_id + "/";
    dialog.showModal();
  }
  document.addEventListener("click", function (e) {
    const button = e.target.closest("button.cite");
    if (button) showCitation(button.dataset.label);
  });

  const form = document.getElementById("ask-form");
  const live = document.getElementById("live");
  if (!form || !live || !window.EventSource) return;

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
    b.setAttribute("aria-label", "Source " + label);
    return b;
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    const q = form.querySelector("textarea").value.trim();
    if (!q) return;
    live.hidden = false;
    live.replaceChildren(el("p", "ai-label", live.dataset.label), el("p", "status", live.dataset.writing));
    const text = el("p", "answer-text");
    live.appendChild(text);
    const url = live.dataset.streamUrl + "?q=" + encodeURIComponent(q);
    const source = new EventSource(url);
    source.addEventListener("notice", function (m) {
      const d = JSON.parse(m.data);
      const n = el("p", "notice emergency", d.text);
      n.setAttribute("role", "alert");
      live.insertBefore(n, live.firstChild);
    });
    source.addEventListener("sentence", function (m) {
      const d = JSON.parse(m.data);
      const span = el("span", "sentence", d.text);
      d.citations.forEach(function (label) { span.append(" ", citeButton(label)); });
      text.append(span, " ");
    });
    source.addEventListener("done", function (m) {
      source.close();
      const d = JSON.parse(m.data);
      citations = d.citations || {};
      live.querySelector(".status").remove();
      const link = "/a/" + d.answer_id + "/";
      if (d.status === "answered") {
        if (d.guidance) live.appendChild(el("p", "notice", d.guidance));
        const a = el("a", "permalink", link);
        a.href = link;
        live.appendChild(a);
      } else {
        text.remove();
        if (d.status === "held") {
          const p = el("p", "notice", live.dataset.held + " ");
          const a = el("a", "permalink", link);
          a.href = link;
          p.appendChild(a);
          live.appendChild(p);
        } else {
          live.appendChild(el("p", "refusal", d.guidance));
        }
      }
      history.replaceState(null, "", link);
    });
    source.onerror = function () {
      source.close();
      const s = live.querySelector(".status");
      if (s) s.textContent = live.dataset.failed;
    };
  });
})();
