// mypay back office: the debt-type editor's live preview. While the admin types the form
// definition (or the fixed amount), it posts the form, with its CSRF token, to the preview route
// and swaps the server-rendered preview (or the Italian error) into the box above the form.
// A file, not inline, because the CSP allows scripts from 'self' only. Without JavaScript the
// "Anteprima del modulo" button still renders the preview with a full page.
(function () {
  "use strict";
  var box = document.getElementById("anteprima-modulo");
  var form = document.getElementById("modulo-tipo-dovuto");
  if (!box || !form || !window.fetch) { return; }
  var url = box.getAttribute("data-url");
  var timer = null;
  var sent = 0;
  function refresh() {
    var ticket = ++sent;
    var body = new URLSearchParams(new FormData(form));
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString()
    })
      .then(function (res) { return res.status === 200 || res.status === 422 ? res.text() : null; })
      .then(function (html) {
        // Only the answer to the latest keystroke is shown, whatever order the answers arrive in.
        if (html !== null && ticket === sent) { box.innerHTML = html; }
      })
      .catch(function () { /* the button still works */ });
  }
  function changed(event) {
    var name = event.target && event.target.name;
    if (name !== "form_definition" && name !== "fixed_amount") { return; }
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 400);
  }
  form.addEventListener("input", changed);
})();
