// Vedette's only script (served from our origin; the CSP allows nothing inline).
// Everything works without it; it adds copy buttons, "select all" and the logs' live tail.
"use strict";

document.addEventListener("click", (event) => {
  const button = event.target.closest("button.copy");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy || "");
  if (!source) return;
  const text = "value" in source ? source.value : source.textContent;
  const done = () => {
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => selectText(source));
  } else {
    selectText(source);
  }
});

function selectText(element) {
  if ("select" in element) {
    element.focus();
    element.select();
    return;
  }
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

document.addEventListener("change", (event) => {
  const all = event.target.closest("input.select-all");
  if (!all) return;
  const form = all.closest("form");
  for (const box of form.querySelectorAll('input[type="checkbox"][name="issue"]')) {
    box.checked = all.checked;
  }
});

// The Logs page's live tail: while "Live" is ticked, ask for the rows stored since the last
// ones shown and put them on top. The rows come as server-rendered (escaped) HTML.
const TAIL_EVERY_MS = 1000;

document.addEventListener("change", (event) => {
  const box = event.target.closest("input.live-tail");
  if (box && box.checked) followTail(box);
});

async function followTail(box) {
  const rows = document.getElementById(box.dataset.rows);
  while (box.checked && box.isConnected) {
    const url = new URL(box.dataset.tail, window.location.href);
    url.searchParams.set("after", box.dataset.after);
    try {
      const response = await fetch(url, { credentials: "same-origin" });
      if (response.ok) {
        const fresh = document.createElement("template");
        fresh.innerHTML = await response.text();
        if (fresh.content.querySelector("tr")) {
          rows.querySelector("tr.empty-row")?.remove();
          rows.prepend(fresh.content);
        }
        box.dataset.after = response.headers.get("X-Tail-After") || box.dataset.after;
      }
    } catch (error) {
      // The server is restarting or the network is gone: try again on the next round.
    }
    await new Promise((done) => setTimeout(done, TAIL_EVERY_MS));
  }
}
