// Live parts of a page. An element with data-live names the stream (Server-Sent Events) that says when what it
// shows has changed; at each "changed" event the element fires "live", which its hx-trigger turns into a fetch
// of its part again (htmx). Rows opened with a data-live-reopen control (Show jobs) are opened again after the
// fetch, so they stay open and current. Without JavaScript the page is as rendered: a reload shows changes.
(function () {
  if (!window.EventSource || !window.htmx) return;

  function reopenAfterFetch(part) {
    var open = [];
    part.querySelectorAll("[data-live-reopen]").forEach(function (control) {
      var region = document.getElementById(control.getAttribute("aria-controls"));
      if (region && region.textContent.trim() !== "") open.push(control.getAttribute("aria-controls"));
    });
    if (open.length === 0) return;
    part.addEventListener("htmx:afterSettle", function () {
      open.forEach(function (id) {
        var control = part.querySelector('[data-live-reopen][aria-controls="' + id + '"]');
        if (control) htmx.trigger(control, "click");
      });
    }, { once: true });
  }

  function connect(part) {
    if (part.liveSource) return;
    var source = new EventSource(part.getAttribute("data-live"));
    part.liveSource = source;
    source.addEventListener("changed", function () {
      if (!document.body.contains(part)) {
        source.close();
        return;
      }
      reopenAfterFetch(part);
      htmx.trigger(part, "live");
    });
  }

  function connectWithin(root) {
    if (root.matches && root.matches("[data-live]")) connect(root);
    if (root.querySelectorAll) root.querySelectorAll("[data-live]").forEach(connect);
  }

  // htmx:load comes for the page once htmx has started, and for every part it brings in later.
  document.addEventListener("htmx:load", function (event) { connectWithin(event.detail.elt); });
  document.addEventListener("htmx:beforeCleanupElement", function (event) {
    if (event.detail.elt.liveSource) event.detail.elt.liveSource.close();
  });
})();
