// The knowledge pages: multi-file upload with drag and drop (one request and one progress row per
// file, so one bad file never blocks the others), live ingestion progress, and confirmations.
// Without JavaScript the upload form posts all files at once and the page still works.
(function () {
  "use strict";
  const words = (document.getElementById("status-words") || { dataset: {} }).dataset;

  // --- Confirm destructive actions -------------------------------------------------------------
  document.querySelectorAll("form.confirm").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      if (!window.confirm(form.dataset.confirm)) e.preventDefault();
    });
  });

  function jobText(job) {
    let text = words[job.status] || job.status;
    if (job.status === "running") {
      text += " · " + (words[job.step] || job.step);
      if (job.progress_total) text += " " + job.progress_done + "/" + job.progress_total;
    }
    if (job.status === "failed" && job.error_message) text += " · " + job.error_message;
    return text;
  }
  const active = (status) => status === "queued" || status === "running";

  // --- Live progress of jobs already on the page (documents table, version history) ------------
  const form = document.getElementById("upload-form");
  const jobsUrl = words.jobsUrl || "/api/v1/jobs"; // GET /api/v1/jobs?ids=1&ids=2
  const watchers = new Map(); // job id -> function(job)

  document.querySelectorAll("[data-job]").forEach(function (span) {
    if (!span.dataset.job || !active(span.dataset.status)) return;
    watchers.set(span.dataset.job, function (job) {
      span.textContent = jobText(job);
      span.dataset.status = job.status;
      span.className = "job status-" + job.status;
    });
  });

  let polling = false;
  function poll() {
    if (polling || watchers.size === 0) return;
    polling = true;
    const query = Array.from(watchers.keys()).map((id) => "ids=" + encodeURIComponent(id)).join("&");
    fetch(jobsUrl + "?" + query, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : []))
      .then(function (jobs) {
        jobs.forEach(function (job) {
          const update = watchers.get(String(job.id));
          if (!update) return;
          update(job);
          if (!active(job.status)) watchers.delete(String(job.id));
        });
      })
      .catch(function () {})
      .finally(function () {
        polling = false;
        if (watchers.size) setTimeout(poll, 1000);
      });
  }
  poll();

  if (!form || !window.FormData || !window.XMLHttpRequest) return;

  // --- Multi-file upload with drag and drop ---------------------------------------------------
  const input = form.querySelector('input[type="file"]');
  const zone = document.getElementById("dropzone");
  const rows = document.getElementById("upload-rows");
  const maxFiles = parseInt(form.dataset.maxFiles, 10) || 20;
  let pending = [];

  function row(file) {
    const li = document.createElement("li");
    li.className = "upload-row";
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = file.name;
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", file.name);
    const state = document.createElement("span");
    state.className = "state";
    state.textContent = words.ready || "";
    li.append(name, bar, state);
    rows.appendChild(li);
    return { li: li, bar: bar, state: state, name: name };
  }

  function addFiles(list) {
    Array.from(list).forEach(function (file) {
      if (pending.length >= maxFiles) return;
      pending.push({ file: file, ui: row(file) });
    });
  }

  input.addEventListener("change", function () {
    addFiles(input.files);
    input.value = ""; // the files now travel through the rows, not the form field
  });
  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (e) {
      e.preventDefault();
      zone.classList.add("dragover");
    });
  });
  ["dragleave", "drop"].forEach(function (type) {
    zone.addEventListener(type, function (e) {
      e.preventDefault();
      zone.classList.remove("dragover");
    });
  });
  zone.addEventListener("drop", function (e) {
    if (e.dataTransfer && e.dataTransfer.files) addFiles(e.dataTransfer.files);
  });

  function upload(item) {
    const ui = item.ui;
    const token = form.querySelector("[name=csrfmiddlewaretoken]").value;
    const data = new FormData();
    const collection = form.querySelector("[name=collection]");
    const option = collection.options[collection.selectedIndex];
    data.append("collection", option ? option.dataset.slug || "" : "");
    ["effective_from", "expires_on"].forEach(function (name) {
      const field = form.querySelector("[name=" + name + "]");
      if (field && field.value) data.append(name, field.value);
    });
    data.append("files", item.file, item.file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.api);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRFToken", token); // the API checks it for session callers
    ui.state.textContent = words.uploading || "";
    ui.li.dataset.status = "uploading";
    // The bar's first half is the transfer, the second half the ingestion steps.
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) ui.bar.value = Math.round((e.loaded / e.total) * 50);
    });
    xhr.addEventListener("load", function () {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (err) { body = {}; }
      const result = (body.results || [])[0];
      if (!result) {
        // A refusal of the whole request: {"detail": "..."}, or a list of problems (422).
        let detail = body.detail;
        if (Array.isArray(detail)) detail = detail.map((d) => d.msg || "").join("; ");
        ui.state.textContent = (words.rejected || "") + ": " + (detail || xhr.status);
        ui.li.dataset.status = "failed";
        return;
      }
      if (!result.ok) {
        ui.bar.value = 0;
        ui.state.textContent = (words.rejected || "") + ": " + result.error;
        ui.li.dataset.status = "failed";
        return;
      }
      if (!result.job_id) {
        ui.bar.value = 100;
        ui.state.textContent = words.duplicate || "";
        ui.li.dataset.status = "duplicate";
        return;
      }
      ui.bar.value = 50;
      const link = document.createElement("a");
      link.href = form.dataset.detail.replace("/0/", "/" + result.document_id + "/");
      link.textContent = item.file.name;
      ui.name.replaceChildren(link);
      ui.li.dataset.job = result.job_id;
      ui.li.dataset.status = "queued";
      ui.state.textContent = words.queued || "";
      watchers.set(String(result.job_id), function (job) {
        const total = job.progress_total || 1;
        const steps = ["parse", "chunk", "embed", "index"];
        const stepShare = Math.max(0, steps.indexOf(job.step)) / steps.length;
        const within = job.progress_total ? job.progress_done / total / steps.length : 0;
        ui.bar.value = job.status === "done" ? 100 : 50 + Math.round((stepShare + within) * 50);
        ui.state.textContent = jobText(job);
        ui.li.dataset.status = job.status;
      });
      poll();
    });
    xhr.addEventListener("error", function () {
      ui.state.textContent = words.failed || "";
      ui.li.dataset.status = "failed";
    });
    xhr.send(data);
  }

  form.addEventListener("submit", function (e) {
    if (!pending.length) return; // nothing picked through the rows: let the form post itself
    e.preventDefault();
    const batch = pending;
    pending = [];
    batch.forEach(upload);
  });
})();
