// Gatehouse pages work without this script; it adds dialogs, the custom
// expiry date field and the copy button. CSP allows only this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Buttons with data-open="<dialog id>" open that dialog; data-close closes
  // the enclosing one.
  document.querySelectorAll("[data-open]").forEach((b) => {
    b.addEventListener("click", () => document.getElementById(b.dataset.open).showModal());
  });
  document.querySelectorAll("[data-close]").forEach((b) => {
    b.addEventListener("click", () => b.closest("dialog").close());
  });
  // A dialog rendered open by the server (e.g. the new key) is shown modal.
  document.querySelectorAll("dialog[data-show]").forEach((d) => d.showModal());
  // The expiry dropdown reveals the calendar field for "Custom".
  document.querySelectorAll("select[data-custom-target]").forEach((sel) => {
    const target = document.getElementById(sel.dataset.customTarget);
    const sync = () => {
      const custom = sel.value === "custom";
      target.classList.toggle("hidden", !custom);
      target.querySelectorAll("input").forEach((i) => (i.required = custom));
    };
    sel.addEventListener("change", sync);
    sync();
  });
  // Copy buttons copy the text of data-copy="<element id>".
  document.querySelectorAll("[data-copy]").forEach((b) => {
    b.addEventListener("click", async () => {
      const text = document.getElementById(b.dataset.copy).textContent.trim();
      try {
        await navigator.clipboard.writeText(text);
        b.textContent = "Copied";
      } catch (e) {
        const range = document.createRange();
        range.selectNodeContents(document.getElementById(b.dataset.copy));
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        b.textContent = "Selected: press Ctrl+C";
      }
    });
  });
});
