// Gatehouse pages work without this script; it adds dialogs, the custom
// expiry date field and the copy button. CSP allows only this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Answers to a POST name the page's own URL: put it in the history
  // entry, so that reloading is a GET and never submits the form again
  // (which could create a second key and revoke the one just shown).
  const replace = document.querySelector("[data-replace-url]");
  if (replace && window.history.replaceState) {
    window.history.replaceState(null, "", replace.dataset.replaceUrl);
  }
  // Elements with data-open="<dialog id>" open that dialog; data-close
  // closes the enclosing one. Both are links that work without the script.
  const show = (d) => {
    if (d.open) d.close(); // rendered open for browsers without the script
    d.showModal();
  };
  document.querySelectorAll("[data-open]").forEach((b) => {
    b.addEventListener("click", (e) => {
      e.preventDefault();
      show(document.getElementById(b.dataset.open));
    });
  });
  document.querySelectorAll("[data-close]").forEach((b) => {
    b.addEventListener("click", (e) => {
      e.preventDefault();
      b.closest("dialog").close();
    });
  });
  // A dialog rendered open by the server (e.g. the new key) is shown modal.
  document.querySelectorAll("dialog[data-show]").forEach(show);
  // A dialog holding a secret leaves the page once closed (button or Esc):
  // the key is shown once. The close event of show() above arrives late,
  // when the dialog is open again: that one is not a real close.
  document.querySelectorAll("dialog[data-remove-on-close]").forEach((d) => {
    d.addEventListener("close", () => {
      if (!d.open) d.remove();
    });
  });
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
  // Reusing the name of an active key revokes that key: say so while the
  // name is typed, naming the key and its expiry, and ask to confirm. The
  // server asks too, for browsers without this script.
  const nameInput = document.getElementById("key-name");
  const nameWarning = document.getElementById("key-name-warning");
  if (nameInput && nameWarning) {
    const text = document.getElementById("key-name-warning-text");
    const confirm = document.getElementById("key-replace");
    const active = new Map();
    document.querySelectorAll("tr[data-key-name][data-key-status=active]").forEach((row) => {
      active.set(row.dataset.keyName, row.dataset.keyExpires);
    });
    const sync = () => {
      const name = nameInput.value;
      const expires = active.get(name);
      const reused = expires !== undefined;
      nameWarning.classList.toggle("hidden", !reused);
      confirm.required = reused;
      if (!reused) {
        confirm.checked = false;
        return;
      }
      if (confirm.value !== name) confirm.checked = false;
      confirm.value = name;
      text.textContent = "You already have an active key named \u201c" + name + "\u201d (expires " + expires +
        "). Creating this key revokes it at once: anything that still uses it stops working.";
    };
    nameInput.addEventListener("input", sync);
    sync();
  }
  // Every command or snippet shown (a <pre>, or a .command line) gets a
  // Copy button, unless the page already gives it one. /register places
  // its own.
  let copyN = 0;
  const autoCopy = window.location.pathname !== "/register" ? "pre, .command > code" : "none-on-this-page";
  document.querySelectorAll(autoCopy).forEach((block) => {
    if (block.closest("[data-no-copy]") || block.closest("dialog")) return;
    const holder = block.tagName === "PRE" ? block : block.parentElement;
    if (holder.querySelector("[data-copy]") || (holder.nextElementSibling && holder.nextElementSibling.matches("[data-copy]"))) return;
    const target = block.tagName === "PRE" && block.querySelector("code") ? block.querySelector("code") : block;
    if (!target.id) target.id = "copy-src-" + ++copyN;
    if (document.querySelector('[data-copy="' + target.id + '"]')) return;
    const b = document.createElement("button");
    b.type = "button";
    b.className = "small copy-auto";
    b.dataset.copy = target.id;
    b.textContent = "Copy";
    if (block.tagName === "PRE") {
      const wrap = document.createElement("div");
      wrap.className = "copyable";
      block.parentNode.insertBefore(wrap, block);
      wrap.append(block, b);
    } else {
      holder.append(b);
    }
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
