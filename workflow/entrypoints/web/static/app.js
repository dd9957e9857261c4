// Light progressive enhancement; every page works without it.
// 1. A submitted form's buttons are disabled until the next page, so a double click cannot
//    send the same change twice (the server would refuse the second one anyway).
// 2. Forms marked data-confirm ask first (withdrawing a document, removing a material).
// 3. After a refused action, focus moves to the explanation so keyboard and screen-reader
//    users land on it.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    if ((form.method || "").toLowerCase() !== "post") return;
    window.setTimeout(function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    }, 0);
  });
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("button[disabled]").forEach(function (b) { b.disabled = false; });
  });
  document.addEventListener("DOMContentLoaded", function () {
    var refusal = document.querySelector(".refusal[data-refusal]");
    if (refusal) {
      refusal.setAttribute("tabindex", "-1");
      refusal.focus();
    }
  });
})();
