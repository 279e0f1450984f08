// casebot dashboard: a little progressive enhancement, no build step.
// Loaded as a file so the Content-Security-Policy can forbid inline script.
"use strict";
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
    return;
  }
  // one click, one action: disable the buttons while the page reloads
  form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
});
document.addEventListener("click", function (event) {
  if (event.target.matches("[data-print]")) {
    window.print();
  }
  var menu = event.target.closest("[data-menu]");
  if (menu) {
    var open = menu.parentElement.classList.toggle("open");
    menu.setAttribute("aria-expanded", open ? "true" : "false");
  }
});
document.addEventListener("DOMContentLoaded", function () {
  var list = document.querySelector(".transcript .messages");
  if (list && list.lastElementChild) {
    list.lastElementChild.scrollIntoView({ block: "nearest" });
  }
});
