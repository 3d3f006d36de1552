// Refused requests: the counter in the top bar, kept current by a light poll of their counts, and the dialog that
// lists what hookscope turned away (413, 408, 431, 400), so a user can see why a provider's delivery failed.

import { $, clear, el, fmtAbsolute, fmtRelative, plural, toast } from "./dom.js";
import { api } from "./api.js";

/** Shows how many requests were refused since start; hidden while none were. */
export function renderRefusedCount(counts) {
  const total = Object.values(counts || {}).reduce((sum, n) => sum + n, 0);
  const button = $("refused");
  button.hidden = total === 0;
  button.textContent = `${total.toLocaleString()} refused`;
}

async function pollCounts() {
  try {
    const report = await api("/_/api/refused?limit=0");
    renderRefusedCount(report.counts);
  } catch (_) {
    /* tried again at the next tick */
  }
}

function renderRefusal(r) {
  const what = r.method ? `${r.method} ${r.path}` : "(the request line could not be read)";
  const headers = r.headers.map(([name, value]) => `${name}: ${value}`).join("\n");
  return el(
    "li",
    { class: "refused-item" },
    el(
      "div",
      { class: "refused-head" },
      el("strong", { text: `${r.status} ${r.reason.replaceAll("_", " ")}` }),
      el("span", { class: "refused-what", text: what }),
      el("time", { datetime: r.at, title: fmtAbsolute(r.at), text: fmtRelative(r.at) }),
      el("span", { class: "muted", text: `from ${r.sender}` }),
    ),
    el("p", { text: r.message }),
    headers ? el("pre", { class: "refused-headers", text: headers + (r.headers_truncated ? "\n…" : "") }) : null,
  );
}

async function openRefused() {
  let report;
  try {
    report = await api("/_/api/refused");
  } catch (error) {
    toast(`Could not load refused requests: ${error.message}`, true);
    return;
  }
  renderRefusedCount(report.counts);
  const counts = Object.entries(report.counts).map(([reason, n]) => `${n} ${reason.replaceAll("_", " ")}`);
  $("refused-counts").textContent = counts.length ? `Since start: ${counts.join(", ")}.` : "None since start.";
  const list = $("refused-list");
  clear(list);
  for (const r of report.refused) list.appendChild(renderRefusal(r));
  if (report.refused.length < Object.values(report.counts).reduce((sum, n) => sum + n, 0)) {
    list.appendChild(el("li", { class: "muted", text: `Only the newest ${plural(report.refused.length, "refusal")} are kept.` }));
  }
  $("refused-dialog").showModal();
}

/** Wires the counter and the dialog, and keeps the count current. */
export function wireRefused() {
  $("refused").addEventListener("click", openRefused);
  $("refused-close").addEventListener("click", () => $("refused-dialog").close());
  pollCounts();
  setInterval(pollCounts, 5000);
}
