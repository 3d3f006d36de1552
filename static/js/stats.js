// The counts (the top bar's counter and the booth's tiles and bars): read from /_/api/stats, bumped at once
// for each live arrival, and re-read shortly after any change.

import { $, clear, el } from "./dom.js";
import { api } from "./api.js";
import { addKnownEvent } from "./filters.js";
import { renderRefusedCount } from "./refused.js";
import { updateEmpty } from "./list.js";
import { state } from "./state.js";

// Arrivals seen while a read of the counts is in flight, one list per read.
const statsReads = new Set();

export async function refreshStats() {
  const arrived = [];
  statsReads.add(arrived);
  let stats;
  try {
    stats = await api("/_/api/stats");
  } catch (_) {
    return;
  } finally {
    statsReads.delete(arrived);
  }
  // The counts include every request up to `through` and none after it, so arrivals above it, even those
  // that came while the counts were read, are added on top, and none is counted twice.
  state.stats = stats;
  state.statsHead = stats.through;
  for (const s of arrived) if (s.id > stats.through) tally(stats, s);
  renderStats();
  updateEmpty();
}

// Counts are bumped locally at once for each arrival, and re-read from the server shortly after any change,
// at most once per interval, so races between the first read and the stream cannot leave them wrong.
let statsTimer = null;
export function scheduleStats(delay = 1500) {
  if (statsTimer !== null) return;
  statsTimer = setTimeout(() => {
    statsTimer = null;
    refreshStats();
  }, delay);
}

export function countArrival(s) {
  for (const arrived of statsReads) arrived.push(s);
  if (!state.stats) return;
  tally(state.stats, s);
  renderStats();
}

function tally(st, s) {
  st.total += 1;
  const env = s.envelope || "none";
  st.by_envelope[env] = (st.by_envelope[env] || 0) + 1;
  if (s.valid === true) st.valid += 1;
  if (s.valid === false) st.invalid += 1;
  if (s.duplicate_of !== null) st.duplicates += 1;
  if (s.event) st.by_event[s.event] = (st.by_event[s.event] || 0) + 1;
}

function renderStats() {
  const st = state.stats;
  if (!st) return;
  $("total").textContent = st.total.toLocaleString();
  // With retention at work, say so: the store keeps the newest requests and has let older ones go.
  const evicted = st.evicted || 0;
  $("total-label").textContent = evicted > 0 ? "kept" : st.total === 1 ? "request" : "requests";
  $("evicted").hidden = evicted === 0;
  $("evicted").textContent = evicted > 0 ? `, ${evicted.toLocaleString()} evicted by --keep` : "";
  $("b-total").textContent = st.total.toLocaleString();
  $("b-valid").textContent = st.valid.toLocaleString();
  $("b-invalid").textContent = st.invalid.toLocaleString();
  $("b-duplicates").textContent = st.duplicates.toLocaleString();
  renderBars($("b-envelopes"), st.by_envelope, 3);
  renderBars($("b-events"), st.by_event, 6);
  for (const name of Object.keys(st.by_event)) addKnownEvent(name);
  renderRefusedCount(st.refused);
}

function renderBars(target, counts, max) {
  clear(target);
  const entries = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const top = entries.length ? entries[0][1] : 1;
  for (const [name, n] of entries.slice(0, max)) {
    const fill = el("span", { class: "bar-fill" });
    fill.style.width = `${Math.max(4, Math.round((n / top) * 100))}%`;
    target.appendChild(
      el(
        "li",
        { class: "bar", "data-name": name },
        el("span", { class: "bar-name", text: name }),
        el("span", { class: "bar-track" }, fill),
        el("span", { class: "bar-num", text: n.toLocaleString() }),
      ),
    );
  }
  if (!entries.length) target.appendChild(el("li", { class: "muted", text: "none yet" }));
}
