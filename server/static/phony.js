// Progressive enhancement only: every page works without this script.
"use strict";

function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text);
  }
  const area = document.createElement("textarea");
  area.value = text;
  document.body.appendChild(area);
  area.select();
  document.execCommand("copy");
  area.remove();
  return Promise.resolve();
}

function setupCopy(button) {
  const target = document.querySelector(button.dataset.copy);
  if (!target) return;
  button.hidden = false;
  button.addEventListener("click", () => {
    copyText(target.textContent.trim()).then(
      () => { button.textContent = "Copied"; },
      () => { button.textContent = "Copy failed"; },
    );
    setTimeout(() => { button.textContent = "Copy"; }, 2000);
  });
}

function setupSamples(section) {
  const link = document.getElementById("new-seed");
  const list = document.getElementById("sample-values");
  const seedLabel = document.getElementById("sample-seed");
  const note = document.getElementById("sample-note");
  if (!link || !list) return;
  link.addEventListener("click", async (event) => {
    event.preventDefault();
    const seed = new URL(link.href).searchParams.get("seed");
    const query = new URLSearchParams({ version: section.dataset.version, seed: seed });
    link.setAttribute("aria-busy", "true");
    try {
      const answer = await fetch(section.dataset.endpoint + "?" + query, {
        headers: { Accept: "application/json" },
      });
      const body = await answer.json();
      if (!answer.ok) throw new Error(body.detail || answer.statusText);
      list.replaceChildren(...body.values.map((value) => {
        const item = document.createElement("li");
        item.textContent = value;
        return item;
      }));
      seedLabel.textContent = String(body.seed);
      const generate = document.getElementById("generate-command");
      if (generate) {
        generate.textContent = generate.textContent.replace(/--seed \d+/, "--seed " + body.seed);
      }
      note.textContent = body.error || (body.complete ? note.textContent
        : "Only " + body.values.length + " values within the time budget.");
      const here = new URL(window.location.href);
      here.searchParams.set("version", section.dataset.version);
      here.searchParams.set("seed", String(body.seed));
      history.replaceState(null, "", here);
      const next = new URL(link.href);
      next.searchParams.set("seed", String(Math.floor(Math.random() * 1e9)));
      link.href = next.toString();
    } catch (error) {
      note.textContent = "Could not load new samples: " + error.message;
    } finally {
      link.removeAttribute("aria-busy");
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("button.copy[data-copy]").forEach(setupCopy);
  const samples = document.getElementById("samples");
  if (samples) setupSamples(samples);
});
