// Vedette's only script (served from our origin; the CSP allows nothing inline).
// Everything works without it; it adds copy buttons and "select all".
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
