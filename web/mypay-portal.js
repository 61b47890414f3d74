// mypay citizen portal: the outcome page polls the cart's status until the receipts have arrived,
// then reloads to show the outcome; a SIL landing page with showMyPay=NONE posts its form. A file, not inline, because the CSP allows scripts from 'self'
// only. Without JavaScript the page offers a manual refresh link.
(function () {
  "use strict";
  // A landing page that only hands over to pagoPA posts its form by itself (a GET creates nothing).
  var form = document.querySelector("form[data-invio-automatico]");
  if (form) { form.submit(); }
})();
(function () {
  "use strict";
  var box = document.getElementById("attesa-esito");
  if (!box) { return; }
  var url = box.getAttribute("data-status-url");
  var delay = 1000;
  var deadline = Date.now() + 10 * 60 * 1000;
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (status) {
        if (status && status.paid) { window.location.reload(); return; }
        if (Date.now() < deadline) { delay = Math.min(delay * 1.5, 10000); window.setTimeout(poll, delay); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, delay);
})();
