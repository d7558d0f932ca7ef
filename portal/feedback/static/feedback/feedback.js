// Sends answer feedback without leaving the page (the form also works without JavaScript: it
// posts and comes back to the answer). The reason fields matter only for "not helpful", so they
// are shown when "No" is picked; the result is announced through the form's live region.
(function () {
  "use strict";
  const form = document.getElementById("feedback-form");
  if (!form || !window.fetch) return;
  const details = form.querySelector(".feedback-details");
  const status = form.querySelector(".feedback-status");

  function syncDetails() {
    const no = form.querySelector('input[name="helpful"][value="no"]');
    if (details) details.hidden = !(no && no.checked);
  }
  form.addEventListener("change", syncDetails);
  syncDetails();

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (!form.action || form.action === window.location.href) return;
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) { return response.json().then(function (d) { return [response.ok, d]; }); })
      .then(function (result) {
        status.textContent = result[1].message || form.dataset.failed || "";
        if (result[0]) form.querySelector("fieldset").hidden = true;
        else button.disabled = false;
      })
      .catch(function () {
        status.textContent = form.dataset.failed || "";
        button.disabled = false;
      });
  });
})();
