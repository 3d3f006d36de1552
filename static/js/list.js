// The list of requests: rows (newest first), paging with "Load older", the empty and no-match states, the
// notice above the list, the keyboard cursor, and the first-run samples. A click on a row is handled by the
// list's own listener (wired in app.js), so this module does not depend on the detail pane.

import { $, clear, el, fmtAbsolute, fmtRelative, fmtSize, plural, toast, verdict } from "./dom.js";
import { api, listQuery } from "./api.js";
import { hasFilters } from "./filters.js";
import { forwardBadge } from "./forward.js";
import { signatureBadge } from "./signature.js";
import { PAGE_SIZE, state } from "./state.js";

const list = $("list");

export function rowFor(id) {
  return list.querySelector(`li[data-id="${Number(id)}"]`);
}

/** What a request was answered, in a few characters: "→ 500", "→ 200 after 1500 ms". */
export function answeredText(response) {
  if (!response) return "";
  if (response.status === 0) return "→ waiting for the target";
  const delay = response.delay_ms > 0 ? ` after ${response.delay_ms} ms` : "";
  return `→ ${response.status}${delay}`;
}

function renderRow(s, fresh) {
  const [vclass, vlabel, vtitle] = verdict(s);
  const time = el("time", { class: "row-time", datetime: s.received_at, title: fmtAbsolute(s.received_at), text: fmtRelative(s.received_at) });
  const pathText = s.query ? `${s.path}?${s.query}` : s.path;
  const badges = el(
    "span",
    { class: "row-badges" },
    s.envelope ? el("span", { class: "badge badge-env", text: s.envelope, title: "envelope" }) : null,
    el("span", { class: `badge badge-${vclass}`, text: vlabel, title: vtitle }),
    signatureBadge(s),
    forwardBadge(s),
    s.duplicate_of !== null
      ? el("a", {
          class: "badge badge-dup",
          href: `#/requests/${Number(s.duplicate_of)}`,
          title: `Same idempotency key as request #${s.duplicate_of}`,
          text: `duplicate of #${s.duplicate_of}`,
          onclick: (event) => event.stopPropagation(),
        })
      : null,
    s.endpoint ? el("span", { class: "badge badge-endpoint", text: s.endpoint, title: "endpoint" }) : null,
    s.endpoint || (s.response && s.response.status >= 300)
      ? el("span", { class: `badge badge-answer${s.response.status >= 400 ? " badge-answer-bad" : ""}`, text: answeredText(s.response), title: "answered" })
      : null,
  );
  const row = el(
    "li",
    {
      class: "row",
      "data-id": s.id,
      tabindex: "-1",
      role: "button",
      "aria-label": `${s.method} ${s.path}`,
    },
    el("span", { class: `method method-${s.method.toLowerCase().replace(/[^a-z]/g, "")}`, text: s.method }),
    el(
      "span",
      { class: "row-main" },
      el("span", { class: "row-path", text: pathText, title: pathText }),
      el(
        "span",
        { class: "row-meta" },
        el("span", { class: "row-event", text: s.event || "no event" }),
        el("span", { class: "row-size", text: fmtSize(s.body_size) }),
        time,
        el("span", { class: "row-id", text: `#${s.id}` }),
      ),
    ),
    badges,
  );
  if (s.event === null) row.querySelector(".row-event").classList.add("muted");
  if (fresh) {
    row.classList.add("fresh");
    setTimeout(() => row.classList.remove("fresh"), 2000);
  }
  if (s.id === state.openId) row.classList.add("open");
  if (s.id === state.cursor) row.classList.add("cursor");
  return row;
}

/** Puts a summary into the list at its place by id (newest first); returns false if it was there already. */
export function insertRow(s, fresh) {
  if (state.rows.has(s.id)) return false;
  state.rows.set(s.id, s);
  const row = renderRow(s, fresh);
  let before = null;
  for (const child of list.children) {
    if (Number(child.dataset.id) < s.id) {
      before = child;
      break;
    }
  }
  list.insertBefore(row, before);
  return true;
}

/** Shows a stored request's changed summary (its forwarding landed) in its row, if the list has it. */
export function replaceRow(s) {
  if (!state.rows.has(s.id)) return;
  state.rows.set(s.id, s);
  const row = rowFor(s.id);
  if (row) row.replaceWith(renderRow(s, false));
}

export function removeRow(id) {
  state.rows.delete(id);
  const row = rowFor(id);
  if (row) row.remove();
  if (state.cursor === id) state.cursor = null;
}

export function updateEmpty() {
  const none = state.rows.size === 0;
  const total = state.stats ? state.stats.total : null;
  $("empty").hidden = !(none && !hasFilters() && total === 0 && state.buffered.length === 0);
  $("no-match").hidden = !(none && hasFilters());
  document.body.classList.toggle("first-run", !$("empty").hidden);
  $("more").hidden = state.nextBefore === null;
  $("list-end").hidden = !(state.nextBefore === null && state.rows.size > PAGE_SIZE);
}

export async function reloadList() {
  const generation = ++state.generation;
  state.skipped = 0;
  updateNotice();
  let page;
  try {
    page = await api(listQuery(null));
  } catch (error) {
    toast(`Could not load requests: ${error.message}`, true);
    return;
  }
  if (generation !== state.generation) return;
  clearList();
  for (const s of page.requests) insertRow(s, false);
  state.nextBefore = page.next_before;
  if (page.requests.length && !hasFilters()) state.lastId = Math.max(state.lastId, page.requests[0].id);
  updateEmpty();
  syncCursor();
}

export async function loadMore() {
  if (state.loadingMore || state.nextBefore === null) return;
  state.loadingMore = true;
  const generation = state.generation;
  try {
    const page = await api(listQuery(state.nextBefore));
    if (generation !== state.generation) return;
    for (const s of page.requests) insertRow(s, false);
    state.nextBefore = page.next_before;
    updateEmpty();
  } catch (error) {
    toast(`Could not load older requests: ${error.message}`, true);
  } finally {
    state.loadingMore = false;
  }
}

export function refreshTimes() {
  for (const node of document.querySelectorAll("time[datetime]")) {
    node.textContent = fmtRelative(node.getAttribute("datetime"));
  }
}

/** Empties the list. */
export function clearList() {
  state.rows.clear();
  clear(list);
}

// ---------------------------------------------------------------- notice (paused / search hint)

export function updateNotice() {
  const notice = $("notice");
  const text = $("notice-text");
  const action = $("notice-action");
  if (state.paused && state.buffered.length) {
    text.textContent = `${plural(state.buffered.length, "new request")} while paused`;
    action.textContent = "Show them";
    action.dataset.action = "resume";
    notice.hidden = false;
  } else if (state.skipped) {
    text.textContent = `${plural(state.skipped, "more request")} arrived faster than the list shows them`;
    action.textContent = "Refresh";
    action.dataset.action = "refresh";
    notice.hidden = false;
  } else {
    notice.hidden = true;
  }
  const pause = $("pause");
  pause.setAttribute("aria-pressed", String(state.paused));
  pause.textContent = state.paused ? (state.buffered.length ? `Resume (${state.buffered.length})` : "Resume") : "Pause";
  pause.classList.toggle("btn-active", state.paused);
}

// ---------------------------------------------------------------- keyboard cursor

export function syncCursor() {
  for (const row of list.querySelectorAll(".row.cursor, .row.open")) row.classList.remove("cursor", "open");
  if (state.cursor !== null) {
    const row = rowFor(state.cursor);
    if (row) row.classList.add("cursor");
  }
  if (state.openId !== null) {
    const row = rowFor(state.openId);
    if (row) row.classList.add("open");
  }
}

export function moveCursor(step) {
  const rows = [...list.children];
  if (!rows.length) return;
  let index = rows.findIndex((row) => Number(row.dataset.id) === (state.cursor ?? state.openId));
  index = index < 0 ? (step > 0 ? 0 : rows.length - 1) : Math.min(rows.length - 1, Math.max(0, index + step));
  const row = rows[index];
  state.cursor = Number(row.dataset.id);
  syncCursor();
  row.focus({ preventScroll: true });
  row.scrollIntoView({ block: "nearest" });
  if (index >= rows.length - 3) loadMore();
}

// ---------------------------------------------------------------- first run

const SAMPLES = [
  [
    "/samples/entity_action",
    '{"entity_id": 1, "entity_type": "user", "action_type": "new", "result": {"id": 1, "external_id": "1815", "code": "CODE", "name_first": "Guan", "name_last": "the Man", "company_name": "Let\'s Get Digital", "custom_fields": [], "companies": [5]}}',
  ],
  ["/samples/entity_action", '{"entity_id": "1", "entity_type": "robot", "action_type": "new", "colour": "blue"}'],
  [
    "/samples/channel_event",
    '{"event": "business_loans.deleted", "message": "Business_Loan deleted successfully.", "idempotency_key": "26053e97-f78a-4d25-a519-4eed22ba5c41", "environment": "staging", "data": {"id": 1, "tag": "adasd"}}',
  ],
  [
    "/samples/channel_event",
    '{"event": "invoices.exploded", "message": 42, "idempotency_key": "26053e97-f78a-4d25-a519-4eed22ba5c41", "environment": "dev", "data": {"id": 1}}',
  ],
];

export async function sendSamples() {
  const button = $("send-samples");
  const status = $("samples-status");
  button.disabled = true;
  status.textContent = "Sending…";
  try {
    for (const [path, json] of SAMPLES) {
      const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json", "X-Hookscope-Sample": "1" }, body: json });
      if (!response.ok) throw new Error(`${path} answered ${response.status}`);
    }
    status.textContent = "Sent 4 samples: open one to see its envelope check.";
  } catch (error) {
    status.textContent = `Could not send the samples: ${error.message}`;
  } finally {
    button.disabled = false;
  }
}
