// A "Copy" button copies the value of the field (or the text of the element) its data-copy attribute names by
// id, for one-time secrets such as a runner token. Loaded with <script src>: the Content-Security-Policy
// forbids inline scripts and inline event handlers. The buttons are hidden in the page and shown here, where
// copying can work: without JavaScript, or without a clipboard, the secret is still text to select and copy.
(function () {
  if (!navigator.clipboard) return;
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.hidden = false;
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var text = "value" in source ? source.value : source.textContent;
    navigator.clipboard.writeText(text.trim()).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 2000);
    }, function () {
      // The browser refused: select the text, so the person can copy it themselves.
      if (source.select) source.select();
    });
  });
})();
