// Tobira's only script of its own (CSP: script-src 'self', no inline script anywhere).
// Every page works without it; it adds what htmx needs and keeps focus sensible.

// Send the CSRF token with every htmx request.
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) {
    event.detail.headers["X-CSRF-Token"] = meta.getAttribute("content");
  }
});

// After htmx swaps in new content, move keyboard and screen-reader focus to the element
// the server marked with data-focus (e.g. an error summary or a confirmation message),
// so that the change is announced instead of happening silently.
document.addEventListener("htmx:afterSettle", function (event) {
  var root = event.detail && event.detail.elt ? event.detail.elt : document;
  var target = root.querySelector ? root.querySelector("[data-focus]") : null;
  if (!target && root.hasAttribute && root.hasAttribute("data-focus")) {
    target = root;
  }
  if (target) {
    if (!target.hasAttribute("tabindex")) {
      target.setAttribute("tabindex", "-1");
    }
    target.focus();
  }
});
