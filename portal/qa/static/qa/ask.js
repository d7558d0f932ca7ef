// Streams an answer from POST /api/v1/ask/stream (server-sent events read from the response
// body: EventSource cannot POST, and the question must not travel in a URL), one verified
// sentence at a time, and opens a citation's passage in a dialog. Without JavaScript the form
// posts to the page itself, which runs the engine and redirects to the answer's link.
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
  if (!form || !live || !window.fetch || !window.TextDecoder || !window.AbortController) return;
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
  function refusal(text, sources) {
    // The refusal's words with each closest source it names linked to its page (as the answer
    // page renders it: portal/qa/selectors.py text_with_links).
    const p = el("p", "refusal");
    let rest = text || "";
    let left = (sources || []).slice();
    while (rest) {
      let best = null;
      let at = -1;
      left.forEach(function (s) {
        const i = s.title ? rest.indexOf(s.title) : -1;
        if (i < 0) return;
        if (!best || i < at || (i === at && s.title.length > best.title.length)) {
          best = s;
          at = i;
        }
      });
      if (!best) break;
      if (at) p.append(rest.slice(0, at));
      const a = el("a", "closest-source", best.title);
      a.href = "/documents/" + best.document_id + "/";
      p.append(a);
      rest = rest.slice(at + best.title.length);
      left = left.filter(function (s) { return s !== best; });
    }
    if (rest) p.append(rest);
    return p;
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

  function say(template, values) {
    // Templates carry {name} placeholders where the translation puts each value.
    return template.replace(/\{(\w+)\}/g, function (all, key) {
      return key in values ? String(values[key]) : all;
    });
  }
  function csrfToken() {
    // The cookie when scripts may read it (CSRF_COOKIE_HTTPONLY off), else the form's token.
    const cookie = document.cookie.split("; ").find(function (c) { return c.startsWith("csrftoken="); });
    if (cookie) return decodeURIComponent(cookie.slice("csrftoken=".length));
    const input = form.querySelector("[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // Server-sent events from a fetch body: blocks end with a blank line; "event:" names the
  // event, "data:" lines carry its JSON.
  function readEvents(response, onEvent) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    function dispatch(block) {
      let name = "message";
      const data = [];
      block.split(/\r?\n/).forEach(function (line) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      });
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
    function pump() {
      return reader.read().then(function (chunk) {
        buffer += decoder.decode(chunk.value || new Uint8Array(), { stream: !chunk.done });
        const blocks = buffer.split(/\r?\n\r?\n/);
        buffer = chunk.done ? "" : blocks.pop();
        blocks.forEach(function (block) { if (block.trim()) dispatch(block); });
        if (!chunk.done) return pump();
      });
    }
    return pump();
  }

  let controller = null;
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    const q = form.querySelector("textarea").value.trim();
    if (!q) return;
    if (controller) controller.abort();
    controller = new AbortController();
    const mine = controller;
    if (feedback) feedback.hidden = true;
    live.hidden = false;
    live.setAttribute("aria-busy", "true");
    const status = el("p", "status", live.dataset.writing);
    live.replaceChildren(el("p", "ai-label", live.dataset.label), status);
    const text = el("p", "answer-text");
    live.appendChild(text);
    let finished = false;

    function stop(message) {
      // Nothing was answered: the message replaces the whole area, announced at once.
      finished = true;
      const p = el("p", "status error", message);
      p.setAttribute("role", "alert");
      live.replaceChildren(p);
      live.setAttribute("aria-busy", "false");
    }
    function failed() {
      if (finished || mine.signal.aborted) return;
      finished = true;
      live.setAttribute("aria-busy", "false");
      if (status.isConnected) status.textContent = live.dataset.failed;
      else live.appendChild(el("p", "status", live.dataset.failed));
    }
    function refused(response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (response.status === 429 || response.status === 503) {
          const wait = body.retry_after_s || parseInt(response.headers.get("Retry-After"), 10) || 30;
          const words = response.status === 429 ? live.dataset.tooMany : live.dataset.busy;
          stop(say(words, { seconds: wait }));
          return;
        }
        // Validation errors (422) list their problems; anything else says what went wrong.
        let detail = body.detail;
        if (Array.isArray(detail)) detail = detail.map(function (d) { return d.msg || ""; }).join("; ");
        stop(say(live.dataset.refused, { detail: detail || response.status }));
      });
    }

    const handlers = {
      start: function (d) {
        if (d.language) live.lang = d.language === "zh" ? "zh-Hans" : "en";
      },
      queued: function (d) {
        // Every generation slot is busy: say where the question stands until one frees up.
        status.textContent = say(live.dataset.queued, { position: d.position });
      },
      progress: function () {
        status.textContent = live.dataset.writing;
      },
      notice: function (d) {
        const n = el("p", "notice emergency", d.text);
        n.setAttribute("role", "alert");
        live.insertBefore(n, live.firstChild);
      },
      sentence: function (d) {
        // Across languages the reader's translation leads, marked, with the verified original.
        const span = el("span", "sentence", d.translation || d.text);
        if (d.translation) {
          span.append(" (", el("span", "mt-label", live.dataset.translated), " ",
                      el("q", "original", d.text), ")");
        }
        d.citations.forEach(function (label) { span.append(" ", citeButton(label)); });
        text.append(span, " ");
      },
      done: function (d) {
        finished = true;
        citations = d.citations || {};
        status.remove();
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
            live.appendChild(refusal(d.guidance, d.closest_sources));
            showFeedback(d.answer_id);
          }
        }
        live.setAttribute("aria-busy", "false");
        history.replaceState(null, "", path);
      },
    };

    const collections = new FormData(form).getAll("collection").filter(Boolean);
    fetch(live.dataset.streamUrl, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "text/event-stream",
        "X-CSRFToken": csrfToken(),
      },
      credentials: "same-origin",
      body: JSON.stringify({ question: q, collections: collections }),
      signal: mine.signal,
    })
      .then(function (response) {
        if (!response.ok) return refused(response);
        return readEvents(response, function (name, data) {
          if (mine.signal.aborted) return;
          const handle = handlers[name];
          if (handle) handle(data);
        }).then(failed); // the stream ended without "done"
      })
      .catch(failed);
  });
})();
