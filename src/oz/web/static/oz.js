// Progressive enhancements of the oz web app. Every page works without this file,
// except the copy button, which stays hidden without it.
"use strict";

function setUpCopyButtons() {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    const input = document.getElementById(button.dataset.copy);
    const status = button.closest(".field")?.querySelector("[data-copy-status]");
    if (!input || !navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(input.value);
        if (status) status.textContent = "Copied to the clipboard.";
      } catch {
        input.select();
        if (status) status.textContent = "Copying failed: the key is selected, press Ctrl+C or ⌘C.";
      }
    });
  }
}

function setUpKeyTypeChoice() {
  const radios = document.querySelectorAll("input[data-key-type]");
  const agentField = document.querySelector("[data-agent-field]");
  if (!radios.length || !agentField) return;
  const update = () => {
    const checked = document.querySelector("input[data-key-type]:checked");
    agentField.hidden = !checked || checked.value !== "agent";
  };
  for (const radio of radios) radio.addEventListener("change", update);
  update();
}

// A page that shows a new key must not come back from the back-forward cache: the key
// is blanked when the page is left, and a restored copy goes to the key list instead.
function protectShownKeys() {
  if (!document.querySelector("[data-secret]")) return;
  window.addEventListener("pagehide", () => {
    for (const input of document.querySelectorAll("[data-secret]")) input.value = "";
  });
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) window.location.replace("/settings/api-keys");
  });
}

setUpCopyButtons();
setUpKeyTypeChoice();
protectShownKeys();
