// Card entry with Stripe.js: the card never reaches our servers, only the token Stripe returns.
(function () {
  "use strict";
  var form = document.querySelector("form[data-stripe-key]");
  if (!form || !window.Stripe) return;
  var stripe = window.Stripe(form.dataset.stripeKey);
  var card = stripe.elements().create("card");
  var errors = document.getElementById("card-errors");
  card.mount("#card-element");
  card.on("change", function (event) { errors.textContent = event.error ? event.error.message : ""; });
  form.addEventListener("submit", function (event) {
    if (form.elements.token.value) return;
    event.preventDefault();
    stripe.createToken(card).then(function (result) {
      if (result.error) { errors.textContent = result.error.message; return; }
      form.elements.token.value = result.token.id;
      form.submit();
    });
  });
})();
