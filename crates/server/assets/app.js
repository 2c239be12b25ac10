// The Buy Now pop-up. Without this script the same review is a page of its own and every form still works.
"use strict";

(function () {
  const dialog = document.getElementById("review");
  const body = document.getElementById("review-body");
  const buy = document.querySelector("form[data-buy-now]");
  if (!dialog || !body || !buy) return;

  // One key per opening of the pop-up: every press of "Place your order" sends it, so a double click or a
  // retry after a timeout is the same order. A change after a failed press starts a new purchase.
  let key = null;
  let failed = false;
  let opener = null;

  function newKey() {
    if (window.crypto && crypto.randomUUID) return "page_" + crypto.randomUUID();
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return "page_" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function load(url) {
    const sep = url.includes("?") ? "&" : "?";
    const response = await fetch(url + sep + "fragment=1", { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (response.redirected && response.url.includes("/signin")) {
      window.location = "/signin?next=" + encodeURIComponent(window.location.pathname);
      return;
    }
    body.innerHTML = await response.text();
    wire();
  }

  function choicesUrl(form) {
    const params = new URLSearchParams(new FormData(form));
    return form.getAttribute("action") + "?" + params.toString();
  }

  function wire() {
    const choices = body.querySelector("form[data-review-choices]");
    const place = body.querySelector("form[data-place-order]");
    if (choices) {
      choices.addEventListener("change", () => {
        if (failed) { key = newKey(); failed = false; }
        load(choicesUrl(choices));
      });
    }
    if (place) {
      place.elements.idempotency_key.value = key;
      place.addEventListener("submit", submit);
    }
    body.querySelectorAll("[data-close-review]").forEach((b) => b.addEventListener("click", () => dialog.close()));
    const title = body.querySelector("#review-title");
    if (title) { title.tabIndex = -1; title.focus(); }
  }

  async function submit(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const button = form.querySelector("#place-order");
    const error = form.querySelector("#place-error");
    if (button.disabled) return;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    button.textContent = "Placing your order…";
    error.hidden = true;
    try {
      const response = await fetch(form.getAttribute("action"), {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(new FormData(form)).toString(),
      });
      const answer = await response.json().catch(() => ({}));
      if (response.ok && answer.location) {
        if (answer.authenticate) {
          // The card's bank asks the customer to confirm: its page sends them back to the order.
          window.location = answer.authenticate;
          return;
        }
        if (answer.declined) {
          error.innerHTML = "";
          error.append(answer.message || "Your card was declined.", " ");
          const link = document.createElement("a");
          link.href = answer.location;
          link.textContent = "Retry or change payment method";
          error.append(link);
          error.hidden = false;
          button.textContent = "Order placed, payment needed";
          return;
        }
        window.location = answer.location;
        return;
      }
      failed = true;
      error.textContent = answer.detail || "Something went wrong; please try again.";
      error.hidden = false;
    } catch (e) {
      // The order may have gone through: the same key asks again without buying twice.
      error.textContent = "No answer from the shop. Press again: you will not be charged twice.";
      error.hidden = false;
    }
    button.disabled = false;
    button.removeAttribute("aria-busy");
    button.textContent = "Place your order";
  }

  buy.addEventListener("submit", (event) => {
    event.preventDefault();
    opener = document.activeElement;
    key = newKey();
    failed = false;
    body.innerHTML = "<p>Loading your review…</p>";
    dialog.showModal();
    load(choicesUrl(buy));
  });
  dialog.addEventListener("close", () => { if (opener) opener.focus(); });
})();
