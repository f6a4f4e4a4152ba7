// Passkey ceremonies for Tessera's pages. A form marked data-passkey="get"
// (sign in) or "create" (register) carries in data-options the options
// (JSON) the server began the ceremony with. Submitting the form runs the ceremony in the browser,
// puts the credential's JSON in the form's "credential" field and submits
// it; the server checks it. A sign-in form marked data-conditional also
// offers the user's passkeys in the username field's autofill.
(function () {
  "use strict";

  var forms = document.querySelectorAll("form[data-passkey]");
  if (!forms.length) return;

  function say(form, text) {
    var out = form.querySelector("[data-passkey-message]");
    if (out) {
      out.textContent = text;
      out.hidden = false;
    }
  }

  var supported = window.PublicKeyCredential &&
    typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function";
  if (!supported) {
    forms.forEach(function (form) {
      var button = form.querySelector("button");
      if (button) button.disabled = true;
      say(form, "This browser cannot use passkeys. Use another sign-in method or another browser.");
    });
    return;
  }

  // A conditional (autofill) request must end before a modal one starts.
  var pending = null;

  function options(form) {
    return JSON.parse(form.dataset.options);
  }

  function run(form, mediation) {
    var o = options(form);
    var call;
    if (form.dataset.passkey === "create") {
      call = navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(o) });
    } else {
      if (pending) pending.abort();
      pending = new AbortController();
      var request = { publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(o), signal: pending.signal };
      if (mediation) request.mediation = mediation;
      call = navigator.credentials.get(request);
    }
    return call.then(function (credential) {
      if (!credential) return;
      form.elements.credential.value = JSON.stringify(credential.toJSON());
      form.submit();
    });
  }

  forms.forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.elements.credential.value) return;
      event.preventDefault();
      run(form).catch(function (err) {
        if (err && err.name === "AbortError") return;
        say(form, form.dataset.passkey === "create"
          ? "The passkey was not created. Try again, or use another device."
          : "No passkey was used. Try again, or sign in another way.");
      });
    });
    if (form.dataset.conditional !== undefined && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (available) run(form, "conditional").catch(function () {});
      });
    }
  });
})();
