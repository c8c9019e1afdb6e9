// The order page without reloads: a countdown, and polling so "Paid" or "Expired" shows by itself.
// The page is complete without this script; it only keeps it current.
(function () {
  "use strict";
  var root = document.querySelector("[data-order]");
  if (!root) return;
  var label = root.querySelector("[data-status-label]");
  var message = root.querySelector("[data-status-message]");
  var clock = root.querySelector("[data-countdown]");
  var deadline = performance.now() + Number(root.dataset.secondsLeft || 0) * 1000;
  var finished = root.dataset.open !== "true";

  function format(seconds) {
    var m = Math.floor(seconds / 60), s = seconds % 60, h = Math.floor(m / 60);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return h ? h + ":" + pad(m % 60) + ":" + pad(s) : m + ":" + pad(s);
  }

  function tick() {
    if (!clock || finished) return;
    clock.textContent = format(Math.max(0, Math.ceil((deadline - performance.now()) / 1000)));
  }

  function show(state) {
    label.textContent = state.label;
    message.textContent = state.message;
    label.className = "badge status-" + state.status.replace(":", "-");
    deadline = performance.now() + state.secondsLeft * 1000;
    if (!state.open) {
      finished = true;
      root.querySelectorAll("[data-open-only]").forEach(function (el) { el.hidden = true; });
    }
  }

  function poll() {
    if (finished) return;
    fetch(root.dataset.statusUrl, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) { if (state) show(state); })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { if (!finished) setTimeout(poll, 1000); });
  }

  if (finished) return;
  setInterval(tick, 250);
  setTimeout(poll, 1000);
})();
