// The live stream (/_/events): connecting and reconnecting from the last known id with the active filters,
// arrivals (shown, counted, or held while paused), updates, deletions, evictions, clears, skipped bursts and resyncs.

import { $ } from "./dom.js";
import { api, filterParams } from "./api.js";
import { boothArrival, renderBoothRecent } from "./booth.js";
import { markDetailGone, onDeleted, refreshDetail } from "./detail.js";
import { addKnownEvent, hasFilters } from "./filters.js";
import { clearList, insertRow, reloadList, replaceRow, updateEmpty, updateNotice } from "./list.js";
import { countArrival, refreshStats, scheduleStats } from "./stats.js";
import { state } from "./state.js";

export function setConn(kind, text) {
  const conn = $("conn");
  conn.className = `conn conn-${kind}`;
  $("conn-text").textContent = text;
  conn.title = kind === "live" ? "Connected: new requests appear as they arrive" : text;
}

export function connect() {
  clearTimeout(state.retryTimer);
  if (state.es) state.es.close();
  // With filters (and outside the booth, which shows everything) the server sends only the requests that match.
  state.streamFiltered = !state.booth && hasFilters();
  const params = state.streamFiltered ? filterParams() : new URLSearchParams();
  params.set("after", String(state.lastId));
  const es = new EventSource(`/_/events?${params}`);
  state.es = es;
  es.addEventListener("open", () => {
    if (state.es !== es) return;
    state.retryMs = 1000;
    setConn("live", "live");
    scheduleStats(300);
  });
  es.addEventListener("error", () => {
    if (state.es !== es) return;
    // We reconnect ourselves, from the last id we know, so nothing captured meanwhile is missed, even when
    // no request event (and so no Last-Event-ID) was received before the drop.
    es.close();
    state.es = null;
    setConn("reconnecting", "reconnecting…");
    state.retryTimer = setTimeout(connect, state.retryMs);
    state.retryMs = Math.min(state.retryMs * 2, 4000);
  });
  // An event of this stream (not of one replaced since), its data read as JSON; one that cannot be read is ignored.
  const on = (name, handle) =>
    es.addEventListener(name, (event) => {
      if (state.es !== es) return;
      let data;
      try {
        data = event.data ? JSON.parse(event.data) : null;
      } catch (_) {
        return;
      }
      handle(data);
    });
  on("request", onArrival);
  // A stored request changed (its forwarding landed): its row and, when open, its detail show it.
  on("updated", (s) => {
    state.buffered = state.buffered.map((b) => (b.id === s.id ? s : b));
    replaceRow(s);
    refreshDetail(s.id);
  });
  on("deleted", ({ id }) => onDeleted([id]));
  on("evicted", ({ through }) => {
    onDeleted([...state.rows.keys()].filter((id) => id <= through));
    state.buffered = state.buffered.filter((s) => s.id > through);
    if (state.openId !== null && state.openId <= through) markDetailGone();
  });
  on("cleared", () => {
    clearList();
    state.buffered = [];
    state.nextBefore = null;
    if (state.openId !== null) markDetailGone();
    refreshStats();
    updateNotice();
    updateEmpty();
    renderBoothRecent();
  });
  // Under heavy load the server sends only the newest requests, after one event that counts the rest.
  on("skipped", ({ through, count }) => {
    state.lastId = Math.max(state.lastId, through);
    state.skipped += count;
    scheduleStats();
    updateNotice();
  });
  on("resync", () => resync());
}

async function resync() {
  await learnHead();
  await Promise.all([reloadList(), refreshStats()]);
  renderBoothRecent();
}

/** Starts the stream again after the filters (or the booth, which shows everything) changed: from the newest
 * stored id, with whatever arrived meanwhile left to the list's reload, and the counts read again. */
export async function restartStream() {
  state.buffered = [];
  await learnHead();
  connect();
  // Counts bumped live only while the stream saw every request; read them afresh.
  refreshStats();
}

/** Learns the newest id in the store, so the stream can start right after it. */
export async function learnHead() {
  try {
    const page = await api("/_/api/requests?limit=1");
    if (page.requests.length) state.lastId = Math.max(state.lastId, page.requests[0].id);
  } catch (_) {
    /* the stream then replays from what we know */
  }
}

function onArrival(s) {
  state.lastId = Math.max(state.lastId, s.id);
  // A filtered stream does not see every request, so the counts of all of them are re-read instead.
  if (!state.streamFiltered && s.id > state.statsHead) countArrival(s);
  scheduleStats();
  boothArrival(s);
  if (state.paused) {
    if (!state.rows.has(s.id) && !state.buffered.some((b) => b.id === s.id)) state.buffered.push(s);
    updateNotice();
    return;
  }
  showArrival(s);
}

function showArrival(s) {
  if (insertRow(s, true)) {
    updateEmpty();
    addKnownEvent(s.event);
  }
}

// ---------------------------------------------------------------- pause

export function setPaused(paused) {
  state.paused = paused;
  if (!paused) {
    const waiting = state.buffered;
    state.buffered = [];
    for (const s of waiting) showArrival(s);
  }
  updateNotice();
}
