// Site-wide behaviour, kept out of the HTML so a strict Content-Security-Policy can forbid inline
// scripts: the language menu switches as soon as a language is picked (the form's own button
// still works without JavaScript).
(function () {
  "use strict";
  const select = document.getElementById("lang");
  if (select) {
    select.addEventListener("change", function () { select.form.submit(); });
    const button = document.getElementById("lang-submit");
    if (button) button.hidden = true;
  }
})();
