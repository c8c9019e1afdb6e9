// 3-D Secure with Stripe.js: the bank's challenge opens over the order page. The webhook
// that follows the bank's answer completes the order; order.js's polling shows it Paid.
(function () {
  "use strict";
  var box = document.querySelector("[data-client-secret]");
  if (!box || !window.Stripe) return;
  var status = box.querySelector("[data-action-status]");
  var stripe = window.Stripe(box.dataset.stripeKey);
  stripe.handleNextAction({ clientSecret: box.dataset.clientSecret }).then(function (result) {
    if (result.error) {
      status.textContent = result.error.message + " Reload the page to pay again.";
      return;
    }
    status.textContent = "Waiting for confirmation… this page updates by itself.";
  });
})();
