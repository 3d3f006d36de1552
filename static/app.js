"use strict"; // hookscope inspector
// Captured data is untrusted: it only ever reaches the DOM through createElement, textContent and
// setAttribute. See docs/page.md.
(() => {
  const body = document.body;
  const ORIGIN = body.dataset.origin || location.origin;
  const CURL = body.dataset.curl || "";
  const PAGE_SIZE = 50;
  const PRETTY_LIMIT = 1024 * 1024; // bodies larger than this are shown raw, not as a DOM tree
  const HEX_LIMIT = 64 * 1024;

  const $ = (id) => document.getElementById(id);

  /** Builds an element: el("span", {class: "x", title: t}, child, "text", ...). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [name, value] of Object.entries(attrs)) {
        if (value === null || value === undefined || value === false) continue;
        if (name === "text") node.textContent = String(value);
        else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
        else node.setAttribute(name, value === true ? "" : String(value));
      }
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) append(node, child);
      else node.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
    }
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  // ---------------------------------------------------------------- state

  const state = {
    rows: new Map(), // id -> summary, for everything shown in the list
    nextBefore: null,
    loadingMore: false,
    lastId: 0, // the highest request id known to exist, for resuming the stream
    cursor: null, // id under the keyboard cursor
    openId: null, // id shown in the detail pane
    paused: false,
    buffered: [],
    stats: null,
    statsHead: 0, // the newest id known to be included in stats
    filters: {},
    staleSearch: 0, // live arrivals not shown because a text search is active
    skipped: 0, // requests the server left out of the live stream because they came too fast to show
    es: null,
    retryMs: 1000,
    retryTimer: null,
    generation: 0, // bumped on every list reload, so stale responses are dropped
    booth: false,
    theme: "auto",
  };

  const FILTER_KEYS = ["q", "method", "envelope", "valid", "duplicate", "event"];

  // ---------------------------------------------------------------- formatting

  function fmtSize(bytes) {
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10240 ? 1 : 0)} KB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  }

  function fmtRelative(iso) {
    const then = Date.parse(iso);
    if (Number.isNaN(then)) return iso;
    const secs = Math.round((Date.now() - then) / 1000);
    if (secs < 5) return "just now";
    if (secs < 60) return `${secs}s ago`;
    const mins = Math.floor(secs / 60);
    if (mins < 60) return `${mins}m ago`;
    const hours = Math.floor(mins / 60);
    if (hours < 24) return `${hours}h ago`;
    const days = Math.floor(hours / 24);
    return days < 30 ? `${days}d ago` : new Date(then).toLocaleDateString();
  }

  function fmtAbsolute(iso) {
    const then = new Date(iso);
    if (Number.isNaN(then.getTime())) return iso;
    return `${then.toLocaleString()} (${iso})`;
  }

  function plural(n, word) {
    return `${n} ${word}${n === 1 ? "" : "s"}`;
  }

  /** The verdict of a summary: [css class, label, longer explanation]. */
  function verdict(s) {
    if (s.valid === true) {
      return s.warning_count > 0
        ? ["ok", "valid", `valid ${s.envelope}, ${plural(s.warning_count, "warning")}`]
        : ["ok", "valid", `valid ${s.envelope}`];
    }
    if (s.valid === false) {
      const label = plural(s.error_count, "error");
      return ["bad", label, s.envelope ? `${s.envelope}: ${label}` : `declared JSON but ${label}`];
    }
    if (s.body_kind === "json") return ["unknown", "unrecognized", "JSON that matches no known envelope"];
    return ["muted", "not JSON", s.body_kind === "empty" ? "empty body" : `${s.body_kind} body`];
  }

  // ---------------------------------------------------------------- API

  async function api(path, options) {
    const response = await fetch(path, Object.assign({ headers: { Accept: "application/json" } }, options));
    if (!response.ok) {
      let message = `${response.status} ${response.statusText}`;
      try {
        const problem = await response.json();
        if (problem && problem.error) message = problem.error;
      } catch (_) {
        /* not JSON */
      }
      const error = new Error(message);
      error.status = response.status;
      throw error;
    }
    return response.status === 204 ? null : response.json();
  }

  function listQuery(before) {
    const params = new URLSearchParams();
    for (const key of FILTER_KEYS) if (state.filters[key]) params.set(key, state.filters[key]);
    params.set("limit", String(PAGE_SIZE));
    if (before) params.set("before", String(before));
    return `/_/api/requests?${params}`;
  }

  function hasFilters() {
    return FILTER_KEYS.some((key) => state.filters[key]);
  }

  /** Whether a live summary belongs in the list under the active filters (`q` is checked by the caller). */
  function matches(s) {
    const f = state.filters;
    if (f.method && s.method.toUpperCase() !== f.method.toUpperCase()) return false;
    if (f.envelope && (s.envelope || "none") !== f.envelope) return false;
    if (f.valid && String(s.valid) !== f.valid) return false;
    if (f.duplicate === "true" && s.duplicate_of === null) return false;
    if (f.duplicate === "false" && s.duplicate_of !== null) return false;
    if (f.event && s.event !== f.event) return false;
    return true;
  }

  // ---------------------------------------------------------------- toast

  let toastTimer = null;
  function toast(message, bad) {
    const node = $("toast");
    node.textContent = message;
    node.classList.toggle("toast-bad", Boolean(bad));
    node.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => {
      node.hidden = true;
    }, 2600);
  }

  async function copyText(text, what) {
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
      } else {
        const area = el("textarea", { class: "offscreen", readonly: true });
        area.value = text;
        body.appendChild(area);
        area.select();
        document.execCommand("copy");
        area.remove();
      }
      toast(`Copied ${what}`);
    } catch (error) {
      toast(`Could not copy: ${error.message}`, true);
    }
  }

  // ---------------------------------------------------------------- list

  const list = $("list");

  function rowFor(id) {
    return list.querySelector(`li[data-id="${Number(id)}"]`);
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
      s.duplicate_of !== null
        ? el("a", {
            class: "badge badge-dup",
            href: `#/requests/${Number(s.duplicate_of)}`,
            title: `Same idempotency key as request #${s.duplicate_of}`,
            text: `duplicate of #${s.duplicate_of}`,
            onclick: (event) => event.stopPropagation(),
          })
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
        onclick: () => openRecord(s.id),
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
  function insertRow(s, fresh) {
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

  function removeRow(id) {
    state.rows.delete(id);
    const row = rowFor(id);
    if (row) row.remove();
    if (state.cursor === id) state.cursor = null;
  }

  function updateEmpty() {
    const none = state.rows.size === 0;
    const total = state.stats ? state.stats.total : null;
    $("empty").hidden = !(none && !hasFilters() && total === 0 && state.buffered.length === 0);
    $("no-match").hidden = !(none && hasFilters());
    body.classList.toggle("first-run", !$("empty").hidden);
    $("more").hidden = state.nextBefore === null;
    $("list-end").hidden = !(state.nextBefore === null && state.rows.size > PAGE_SIZE);
  }

  async function reloadList() {
    const generation = ++state.generation;
    state.staleSearch = 0;
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
    state.rows.clear();
    clear(list);
    for (const s of page.requests) insertRow(s, false);
    state.nextBefore = page.next_before;
    if (page.requests.length && !hasFilters()) state.lastId = Math.max(state.lastId, page.requests[0].id);
    updateEmpty();
    syncCursor();
  }

  async function loadMore() {
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

  function refreshTimes() {
    for (const node of document.querySelectorAll("time[datetime]")) {
      node.textContent = fmtRelative(node.getAttribute("datetime"));
    }
  }

  // ---------------------------------------------------------------- notice (paused / search hint)

  function updateNotice() {
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
    } else if (state.staleSearch) {
      text.textContent = `${plural(state.staleSearch, "new request")} — the search may match them`;
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

  function setPaused(paused) {
    state.paused = paused;
    if (!paused) {
      const waiting = state.buffered;
      state.buffered = [];
      for (const s of waiting) showArrival(s);
    }
    updateNotice();
  }

  // ---------------------------------------------------------------- live stream

  function setConn(kind, text) {
    const conn = $("conn");
    conn.className = `conn conn-${kind}`;
    $("conn-text").textContent = text;
    conn.title = kind === "live" ? "Connected: new requests appear as they arrive" : text;
  }

  function connect() {
    clearTimeout(state.retryTimer);
    if (state.es) state.es.close();
    const es = new EventSource(`/_/events?after=${state.lastId}`);
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
    es.addEventListener("request", (event) => {
      if (state.es !== es) return;
      let s;
      try {
        s = JSON.parse(event.data);
      } catch (_) {
        return;
      }
      onArrival(s);
    });
    es.addEventListener("deleted", (event) => {
      const { id } = JSON.parse(event.data);
      onDeleted([id]);
    });
    es.addEventListener("evicted", (event) => {
      const { through } = JSON.parse(event.data);
      onDeleted([...state.rows.keys()].filter((id) => id <= through));
      state.buffered = state.buffered.filter((s) => s.id > through);
      if (state.openId !== null && state.openId <= through) markDetailGone();
    });
    es.addEventListener("cleared", () => {
      state.rows.clear();
      clear(list);
      state.buffered = [];
      state.nextBefore = null;
      if (state.openId !== null) markDetailGone();
      refreshStats();
      updateNotice();
      updateEmpty();
      renderBoothRecent();
    });
    // Under heavy load the server sends only the newest requests, after one event that counts the rest.
    es.addEventListener("skipped", (event) => {
      if (state.es !== es) return;
      let info;
      try {
        info = JSON.parse(event.data);
      } catch (_) {
        return;
      }
      state.lastId = Math.max(state.lastId, info.through);
      state.skipped += info.count;
      scheduleStats();
      updateNotice();
    });
    es.addEventListener("resync", () => resync());
  }

  async function resync() {
    await learnHead();
    await Promise.all([reloadList(), refreshStats()]);
    renderBoothRecent();
  }

  /** Learns the newest id in the store, so the stream can start right after it. */
  async function learnHead() {
    try {
      const page = await api("/_/api/requests?limit=1");
      if (page.requests.length) state.lastId = Math.max(state.lastId, page.requests[0].id);
    } catch (_) {
      /* the stream then replays from what we know */
    }
  }

  function onArrival(s) {
    state.lastId = Math.max(state.lastId, s.id);
    if (s.id > state.statsHead) countArrival(s);
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
    if (!matches(s)) return;
    if (state.filters.q) {
      if (!state.rows.has(s.id)) state.staleSearch += 1;
      updateNotice();
      return;
    }
    if (insertRow(s, true)) {
      updateEmpty();
      addKnownEvent(s.event);
    }
  }

  function onDeleted(ids) {
    for (const id of ids) {
      removeRow(id);
      if (id === state.openId) markDetailGone();
    }
    state.buffered = state.buffered.filter((s) => !ids.includes(s.id));
    scheduleStats(300);
    updateNotice();
    updateEmpty();
    renderBoothRecent();
  }

  // ---------------------------------------------------------------- stats (counter and booth)

  // Arrivals seen while a read of the counts is in flight, one list per read.
  const statsReads = new Set();

  async function refreshStats() {
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
  function scheduleStats(delay = 1500) {
    if (statsTimer !== null) return;
    statsTimer = setTimeout(() => {
      statsTimer = null;
      refreshStats();
    }, delay);
  }

  function countArrival(s) {
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
    $("total-label").textContent = st.total === 1 ? "request" : "requests";
    $("b-total").textContent = st.total.toLocaleString();
    $("b-valid").textContent = st.valid.toLocaleString();
    $("b-invalid").textContent = st.invalid.toLocaleString();
    $("b-duplicates").textContent = st.duplicates.toLocaleString();
    renderBars($("b-envelopes"), st.by_envelope, 3);
    renderBars($("b-events"), st.by_event, 6);
    for (const name of Object.keys(st.by_event)) addKnownEvent(name);
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

  const knownEvents = new Set();
  function addKnownEvent(name) {
    if (!name || knownEvents.has(name) || knownEvents.size > 200) return;
    knownEvents.add(name);
    $("known-events").appendChild(el("option", { value: name }));
  }

  // ---------------------------------------------------------------- keyboard cursor and selection

  function syncCursor() {
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

  function moveCursor(step) {
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

  function openRecord(id) {
    const hash = `#/requests/${id}`;
    if (location.hash === hash) showDetail(id);
    else location.hash = hash;
  }

  function closeDetail() {
    state.openId = null;
    $("detail").hidden = true;
    $("detail-placeholder").hidden = false;
    body.classList.remove("detail-open");
    syncCursor();
    if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  }

  function routeFromHash() {
    const match = /^#\/requests\/(\d+)$/.exec(location.hash);
    if (match) showDetail(Number(match[1]));
    else if (state.openId !== null) closeDetail();
  }

  // ---------------------------------------------------------------- detail

  async function showDetail(id) {
    state.openId = id;
    state.cursor = id;
    syncCursor();
    body.classList.add("detail-open");
    const detail = $("detail");
    $("detail-placeholder").hidden = true;
    detail.hidden = false;
    clear(detail);
    detail.dataset.id = String(id);
    detail.appendChild(el("p", { class: "muted", text: `Loading request #${id}…` }));
    let record;
    try {
      record = await api(`/_/api/requests/${id}`);
    } catch (error) {
      if (state.openId !== id) return;
      clear(detail);
      detail.appendChild(
        el(
          "div",
          { class: "gone" },
          el("h2", { text: error.status === 404 ? `Request #${id} does not exist (any more)` : `Could not load request #${id}` }),
          el("p", { class: "muted", text: error.message }),
        ),
      );
      return;
    }
    if (state.openId !== id) return;
    clear(detail);
    renderDetail(detail, record);
    detail.scrollTop = 0;
    const row = rowFor(id);
    if (row) row.scrollIntoView({ block: "nearest" });
  }

  function markDetailGone() {
    const detail = $("detail");
    if (detail.hidden || detail.querySelector(".gone-banner")) return;
    detail.insertBefore(el("p", { class: "gone-banner", text: "This request was deleted." }), detail.firstChild);
  }

  function fullUrl(r) {
    return `${ORIGIN}${r.path}${r.query ? `?${r.query}` : ""}`;
  }

  function section(title, ...content) {
    return el("section", { class: "dsec" }, el("h3", { class: "dsec-title", text: title }), ...content);
  }

  function renderDetail(detail, r) {
    const [vclass, vlabel, vtitle] = verdict(r);
    const url = fullUrl(r);
    const head = el(
      "header",
      { class: "detail-head" },
      el(
        "div",
        { class: "detail-title" },
        el("span", { class: `method method-${r.method.toLowerCase().replace(/[^a-z]/g, "")}`, text: r.method }),
        el("span", { class: "detail-url", text: url }),
      ),
      el(
        "div",
        { class: "detail-badges" },
        el("span", { class: "badge badge-plain", text: `#${r.id}` }),
        r.envelope ? el("span", { class: "badge badge-env", text: r.envelope }) : null,
        el("span", { class: `badge badge-${vclass}`, text: vlabel, title: vtitle }),
        r.warning_count ? el("span", { class: "badge badge-warn", text: plural(r.warning_count, "warning") }) : null,
        r.duplicate_of !== null
          ? el("a", { class: "badge badge-dup", href: `#/requests/${Number(r.duplicate_of)}`, text: `duplicate of #${r.duplicate_of}` })
          : null,
      ),
      el(
        "div",
        { class: "detail-actions" },
        el("button", { type: "button", class: "btn btn-small", id: "copy-curl", text: "Copy as curl", onclick: () => copyText(asCurl(r), "curl command") }),
        el("button", {
          type: "button",
          class: "btn btn-small",
          id: "copy-body",
          text: "Copy body",
          disabled: r.body_size === 0,
          onclick: () => copyText(r.body !== undefined ? r.body : r.body_base64 || "", r.body !== undefined ? "body" : "body (base64)"),
        }),
        el("a", { class: "btn btn-small", id: "download-body", href: `/_/api/requests/${r.id}/body`, download: `request-${r.id}.bin`, text: "Download body" }),
        el("button", { type: "button", class: "btn btn-small", id: "permalink", text: "Copy link", onclick: () => copyText(`${location.origin}/#/requests/${r.id}`, "link") }),
        el("button", { type: "button", class: "btn btn-small btn-danger", id: "delete", text: "Delete", onclick: () => deleteRecord(r.id) }),
        el("button", { type: "button", class: "btn btn-small btn-quiet close-detail", text: "Close", title: "Close (Esc)", onclick: closeDetail }),
      ),
    );
    detail.appendChild(head);

    const facts = el("dl", { class: "facts" });
    const fact = (name, value, extra) => {
      facts.appendChild(el("dt", { text: name }));
      facts.appendChild(el("dd", extra || null, value));
    };
    fact("Received", el("time", { datetime: r.received_at, title: fmtAbsolute(r.received_at), text: fmtRelative(r.received_at) }));
    facts.appendChild(el("dd", { class: "muted small", text: r.received_at }));
    fact("From", r.remote_addr);
    fact("Content type", r.content_type === null ? "none" : r.content_type);
    fact("Body", `${fmtSize(r.body_size)} · ${r.body_kind}`);
    fact("Event", r.event === null ? "none" : r.event);
    fact("Idempotency key", r.idempotency_key === null ? "none" : r.idempotency_key);
    detail.appendChild(facts);

    // Findings first: this is what a QA engineer opens the record for.
    const findings = [...(r.errors || []).map((f) => ["error", f]), ...(r.warnings || []).map((f) => ["warning", f])];
    if (findings.length) {
      const ul = el("ul", { class: "findings", id: "findings" });
      for (const [kind, f] of findings) {
        ul.appendChild(
          el(
            "li",
            { class: `finding finding-${kind}` },
            el(
              "button",
              {
                type: "button",
                class: "finding-btn",
                "data-pointer": f.path,
                title: "Show this place in the body",
                onclick: () => highlightPointer(f.path),
              },
              el("span", { class: `finding-kind`, text: kind }),
              el("code", { class: "finding-path", text: f.path === "" ? "(whole body)" : f.path }),
              el("span", { class: "finding-msg", text: f.message }),
            ),
          ),
        );
      }
      detail.appendChild(section(`Envelope check · ${plural(r.error_count, "error")}, ${plural(r.warning_count, "warning")}`, ul));
    } else if (r.valid === true) {
      detail.appendChild(section("Envelope check", el("p", { class: "ok-text", text: `A valid ${r.envelope}, no warnings.` })));
    }

    detail.appendChild(section("Body", renderBody(r)));

    const headers = el("table", { class: "kv", id: "headers" }, el("tbody", null, r.headers.map(([name, value]) => el("tr", null, el("th", { text: name }), el("td", { text: value })))));
    detail.appendChild(section(`Headers · ${r.headers.length}`, headers));

    if (r.query) {
      const params = [...new URLSearchParams(r.query)];
      const table = el("table", { class: "kv", id: "query" }, el("tbody", null, params.map(([name, value]) => el("tr", null, el("th", { text: name }), el("td", { text: value })))));
      detail.appendChild(section(`Query · ${params.length}`, table, el("p", { class: "muted small mono", text: `?${r.query}` })));
    }
  }

  async function deleteRecord(id) {
    try {
      await api(`/_/api/requests/${id}`, { method: "DELETE" });
    } catch (error) {
      toast(`Could not delete: ${error.message}`, true);
      return;
    }
    onDeleted([id]);
    closeDetail();
    toast(`Deleted request #${id}`);
  }

  function shellQuote(text) {
    return `'${text.replace(/'/g, `'\\''`)}'`;
  }

  function asCurl(r) {
    const skip = new Set(["host", "content-length", "connection", "transfer-encoding", "accept-encoding"]);
    const parts = ["curl", "-X", r.method, shellQuote(fullUrl(r))];
    for (const [name, value] of r.headers) {
      if (!skip.has(name.toLowerCase())) parts.push("-H", shellQuote(`${name}: ${value}`));
    }
    if (r.body !== undefined && r.body_size > 0) return [...parts, "--data-binary", shellQuote(r.body)].join(" ");
    if (r.body_base64 !== undefined) return `printf %s ${shellQuote(r.body_base64)} | base64 -d | ${parts.join(" ")} --data-binary @-`;
    return parts.join(" ");
  }

  // ---------------------------------------------------------------- body views

  function renderBody(r) {
    const wrap = el("div", { class: "body-wrap" });
    if (r.body_size === 0) {
      wrap.appendChild(el("p", { class: "muted", text: "No body." }));
      return wrap;
    }
    const views = [];
    if (r.body !== undefined) {
      let tree = null;
      if (r.body_kind === "json" && r.body.length <= PRETTY_LIMIT) {
        try {
          tree = parseJson(r.body);
        } catch (_) {
          tree = null;
        }
      }
      if (tree) views.push(["Pretty", () => renderJsonTree(tree)]);
      views.push(["Raw", () => el("pre", { class: "code raw", id: "body-raw", text: r.body })]);
    } else {
      const bytes = decodeBase64(r.body_base64 || "");
      views.push(["Hex", () => renderHex(bytes)]);
      views.push(["Base64", () => el("pre", { class: "code raw wrap", text: r.body_base64 })]);
    }
    const tabs = el("div", { class: "tabs", role: "tablist" });
    const pane = el("div", { class: "body-pane" });
    const select = (index) => {
      [...tabs.children].forEach((tab, i) => tab.setAttribute("aria-selected", String(i === index)));
      clear(pane);
      pane.appendChild(views[index][1]());
    };
    views.forEach(([name], index) => tabs.appendChild(el("button", { type: "button", class: "tab", role: "tab", "data-view": name.toLowerCase(), text: name, onclick: () => select(index) })));
    wrap.appendChild(tabs);
    if (r.body_kind === "json" && r.body !== undefined && r.body.length > PRETTY_LIMIT) {
      wrap.appendChild(el("p", { class: "muted small", text: "Large body: shown raw." }));
    }
    wrap.appendChild(pane);
    select(0);
    return wrap;
  }

  function decodeBase64(text) {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  function renderHex(bytes) {
    const lines = [];
    const shown = Math.min(bytes.length, HEX_LIMIT);
    for (let offset = 0; offset < shown; offset += 16) {
      const chunk = bytes.subarray(offset, Math.min(offset + 16, shown));
      const hex = [...chunk].map((b) => b.toString(16).padStart(2, "0")).join(" ");
      const ascii = [...chunk].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
      lines.push(`${offset.toString(16).padStart(8, "0")}  ${hex.padEnd(47, " ")}  ${ascii}`);
    }
    if (bytes.length > shown) lines.push(`… ${fmtSize(bytes.length - shown)} more; download the body to see it all`);
    return el("pre", { class: "code hex", id: "body-hex", text: lines.join("\n") });
  }

  // A small JSON parser that keeps what JSON.parse loses: number text exactly as sent, and repeated keys.
  function parseJson(text) {
    let i = 0;
    const ws = () => {
      while (i < text.length && (text[i] === " " || text[i] === "\n" || text[i] === "\r" || text[i] === "\t")) i += 1;
    };
    const fail = () => {
      throw new Error(`bad JSON at ${i}`);
    };
    const string = () => {
      const start = i;
      i += 1;
      while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
      if (i >= text.length) fail();
      i += 1;
      return JSON.parse(text.slice(start, i));
    };
    const value = (depth) => {
      if (depth > 200) fail();
      ws();
      const c = text[i];
      if (c === "{") {
        i += 1;
        const entries = [];
        ws();
        if (text[i] === "}") {
          i += 1;
          return { t: "object", entries };
        }
        for (;;) {
          ws();
          if (text[i] !== '"') fail();
          const key = string();
          ws();
          if (text[i] !== ":") fail();
          i += 1;
          entries.push([key, value(depth + 1)]);
          ws();
          if (text[i] === ",") i += 1;
          else if (text[i] === "}") {
            i += 1;
            return { t: "object", entries };
          } else fail();
        }
      }
      if (c === "[") {
        i += 1;
        const items = [];
        ws();
        if (text[i] === "]") {
          i += 1;
          return { t: "array", items };
        }
        for (;;) {
          items.push(value(depth + 1));
          ws();
          if (text[i] === ",") i += 1;
          else if (text[i] === "]") {
            i += 1;
            return { t: "array", items };
          } else fail();
        }
      }
      if (c === '"') return { t: "string", v: string() };
      const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
      if (!m) fail();
      i += m[0].length;
      const raw = m[0];
      return { t: raw === "true" || raw === "false" ? "bool" : raw === "null" ? "null" : "number", v: raw };
    };
    const root = value(0);
    ws();
    if (i !== text.length) fail();
    return root;
  }

  const escapePointer = (key) => key.replace(/~/g, "~0").replace(/\//g, "~1");

  /** Pretty-prints a parsed tree; every value node carries its JSON Pointer in data-pointer. */
  function renderJsonTree(root) {
    const pre = el("pre", { class: "code json", id: "body-json" });
    const indent = (depth) => "  ".repeat(depth);
    const render = (node, pointer, depth) => {
      const span = el("span", { class: `j-node j-${node.t}`, "data-pointer": pointer });
      if (node.t === "object" || node.t === "array") {
        const open = node.t === "object" ? "{" : "[";
        const close = node.t === "object" ? "}" : "]";
        const children = node.t === "object" ? node.entries : node.items.map((item, index) => [String(index), item]);
        if (!children.length) {
          span.appendChild(el("span", { class: "j-punct", text: open + close }));
          return span;
        }
        span.appendChild(el("span", { class: "j-punct", text: open }));
        span.appendChild(document.createTextNode("\n"));
        children.forEach(([key, child], index) => {
          const childPointer = `${pointer}/${escapePointer(key)}`;
          const line = el("span", { class: "j-line", "data-pointer": childPointer });
          line.appendChild(document.createTextNode(indent(depth + 1)));
          if (node.t === "object") {
            line.appendChild(el("span", { class: "j-key", text: JSON.stringify(key) }));
            line.appendChild(el("span", { class: "j-punct", text: ": " }));
          }
          line.appendChild(render(child, childPointer, depth + 1));
          if (index < children.length - 1) line.appendChild(el("span", { class: "j-punct", text: "," }));
          span.appendChild(line);
          span.appendChild(document.createTextNode("\n"));
        });
        span.appendChild(document.createTextNode(indent(depth)));
        span.appendChild(el("span", { class: "j-punct", text: close }));
        return span;
      }
      span.textContent = node.t === "string" ? JSON.stringify(node.v) : node.v;
      return span;
    };
    pre.appendChild(render(root, "", 0));
    return pre;
  }

  function highlightPointer(pointer) {
    const detail = $("detail");
    for (const node of detail.querySelectorAll(".hl")) node.classList.remove("hl");
    for (const button of detail.querySelectorAll(".finding-btn")) button.classList.toggle("active", button.dataset.pointer === pointer);
    const pretty = detail.querySelector('.tab[data-view="pretty"]');
    if (pretty && pretty.getAttribute("aria-selected") !== "true") pretty.click();
    const nodes = [...detail.querySelectorAll(".j-line[data-pointer], #body-json > .j-node")].filter((node) => node.dataset.pointer === pointer);
    let target = nodes[0];
    if (!target) {
      // The pointer names a member that is missing: highlight the closest existing parent.
      let parent = pointer;
      while (!target && parent !== "") {
        parent = parent.slice(0, parent.lastIndexOf("/"));
        target = [...detail.querySelectorAll(".j-line[data-pointer], #body-json > .j-node")].find((node) => node.dataset.pointer === parent);
      }
      if (target) toast(`${pointer} is missing; showing its parent ${parent || "(the whole body)"}`);
    }
    if (!target) target = detail.querySelector(".body-pane pre");
    if (!target) return;
    for (const node of nodes.length ? nodes : [target]) node.classList.add("hl");
    target.scrollIntoView({ block: "center", behavior: "smooth" });
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

  async function sendSamples() {
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

  // ---------------------------------------------------------------- booth mode

  function boothHookUrl() {
    return `${ORIGIN}/hooks/demo`;
  }

  function setBooth(on, remember) {
    state.booth = on;
    body.classList.toggle("booth-mode", on);
    $("booth").hidden = !on;
    $("booth-toggle").setAttribute("aria-pressed", String(on));
    $("booth-toggle").classList.toggle("btn-active", on);
    if (on) {
      const img = $("booth-qr");
      const src = `/_/qr.svg?data=${encodeURIComponent(boothHookUrl())}`;
      if (img.getAttribute("src") !== src) img.setAttribute("src", src);
      $("booth-url").textContent = boothHookUrl();
      renderBoothRecent();
    }
    if (remember) setUrlParam("booth", on ? "1" : null);
  }

  function boothArrival(s) {
    if (!state.booth) return;
    renderBoothLatest(s);
    renderBoothRecent(s);
  }

  function renderBoothLatest(s) {
    const box = $("booth-latest");
    clear(box);
    box.appendChild(el("p", { class: "booth-kicker", text: "Latest webhook" }));
    if (!s) {
      box.appendChild(el("p", { class: "booth-waiting", id: "booth-waiting", text: "Waiting for the first webhook…" }));
      return;
    }
    const [vclass, vlabel] = verdict(s);
    box.appendChild(el("p", { class: "booth-event", id: "booth-event", text: s.event || `${s.method} ${s.path}` }));
    box.appendChild(
      el(
        "p",
        { class: "booth-line" },
        el("span", { class: `method method-${s.method.toLowerCase().replace(/[^a-z]/g, "")}`, text: s.method }),
        el("span", { class: "booth-path", text: s.path }),
      ),
    );
    box.appendChild(
      el(
        "p",
        { class: "booth-line" },
        s.envelope ? el("span", { class: "badge badge-env", text: s.envelope }) : null,
        el("span", { class: `badge badge-${vclass}`, text: vlabel }),
        s.duplicate_of !== null ? el("span", { class: "badge badge-dup", text: `duplicate of #${s.duplicate_of}` }) : null,
      ),
    );
    box.classList.remove("flash");
    void box.offsetWidth; // restart the animation
    box.classList.add("flash");
  }

  let boothRecent = [];
  async function renderBoothRecent(arrived) {
    if (!state.booth) return;
    if (arrived) {
      boothRecent = [arrived, ...boothRecent.filter((s) => s.id !== arrived.id)].slice(0, 8);
    } else {
      try {
        boothRecent = (await api("/_/api/requests?limit=8")).requests;
      } catch (_) {
        return;
      }
      renderBoothLatest(boothRecent[0]);
    }
    const target = $("booth-recent");
    clear(target);
    for (const s of boothRecent.slice(1)) {
      const [vclass, vlabel] = verdict(s);
      target.appendChild(
        el(
          "li",
          { class: "booth-row" },
          el("span", { class: `method method-${s.method.toLowerCase().replace(/[^a-z]/g, "")}`, text: s.method }),
          el("span", { class: "booth-row-event", text: s.event || s.path }),
          el("span", { class: `badge badge-${vclass}`, text: vlabel }),
          el("time", { datetime: s.received_at, text: fmtRelative(s.received_at) }),
        ),
      );
    }
  }

  // ---------------------------------------------------------------- theme

  const THEMES = ["auto", "light", "dark"];
  function setTheme(theme, remember) {
    state.theme = THEMES.includes(theme) ? theme : "auto";
    if (state.theme === "auto") document.documentElement.removeAttribute("data-theme");
    else document.documentElement.setAttribute("data-theme", state.theme);
    $("theme-toggle").textContent = `Theme: ${state.theme}`;
    if (remember) setUrlParam("theme", state.theme === "auto" ? null : state.theme);
  }

  // ---------------------------------------------------------------- URL state

  function setUrlParam(name, value) {
    const url = new URL(location.href);
    if (value === null || value === "") url.searchParams.delete(name);
    else url.searchParams.set(name, value);
    history.replaceState(null, "", url.pathname + url.search + url.hash);
  }

  function readFiltersFromUrl() {
    const params = new URLSearchParams(location.search);
    for (const key of FILTER_KEYS) {
      const value = params.get(key) || "";
      state.filters[key] = value;
      const input = $(`f-${key}`);
      if (input) input.value = value;
    }
  }

  function applyFilters() {
    for (const key of FILTER_KEYS) {
      const value = $(`f-${key}`).value.trim();
      state.filters[key] = value;
      setUrlParam(key, value || null);
    }
    $("f-reset").hidden = !hasFilters();
    reloadList();
  }

  // ---------------------------------------------------------------- wiring

  function isTyping(target) {
    return target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName));
  }

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    switch (event.key) {
      case "j":
      case "ArrowDown":
        moveCursor(1);
        break;
      case "k":
      case "ArrowUp":
        moveCursor(-1);
        break;
      case "Enter":
        if (state.cursor === null || event.target instanceof HTMLButtonElement || event.target instanceof HTMLAnchorElement) return;
        openRecord(state.cursor);
        break;
      case "Escape":
        if (state.openId !== null) closeDetail();
        break;
      case "/":
        $("f-q").focus();
        break;
      case "p":
        setPaused(!state.paused);
        break;
      case "b":
        setBooth(!state.booth, true);
        break;
      default:
        return;
    }
    event.preventDefault();
  }

  function wire() {
    document.addEventListener("keydown", onKey);
    window.addEventListener("hashchange", routeFromHash);
    $("pause").addEventListener("click", () => setPaused(!state.paused));
    $("booth-toggle").addEventListener("click", () => setBooth(!state.booth, true));
    $("theme-toggle").addEventListener("click", () => setTheme(THEMES[(THEMES.indexOf(state.theme) + 1) % THEMES.length], true));
    $("notice-action").addEventListener("click", (event) => {
      if (event.currentTarget.dataset.action === "resume") setPaused(false);
      else reloadList();
    });
    $("more").addEventListener("click", loadMore);
    $("send-samples").addEventListener("click", sendSamples);
    $("copy-first-curl").addEventListener("click", () => copyText(CURL, "curl command"));
    const form = $("filters");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      applyFilters();
    });
    form.addEventListener("change", applyFilters);
    let searchTimer = null;
    $("f-q").addEventListener("input", () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(applyFilters, 300);
    });
    $("f-reset").addEventListener("click", () => {
      for (const key of FILTER_KEYS) $(`f-${key}`).value = "";
      applyFilters();
    });
    if ("IntersectionObserver" in window) {
      const observer = new IntersectionObserver((entries) => {
        if (entries.some((entry) => entry.isIntersecting)) loadMore();
      });
      observer.observe($("more"));
    }
    setInterval(refreshTimes, 15000);
  }

  async function start() {
    const params = new URLSearchParams(location.search);
    setTheme(params.get("theme") || "auto", false);
    readFiltersFromUrl();
    $("f-reset").hidden = !hasFilters();
    setBooth(params.get("booth") === "1", false);
    wire();
    setConn("connecting", "connecting");
    // The stream starts right after the newest stored id, so nothing captured while the list loads is lost;
    // arrivals already in the list are recognised by id.
    await learnHead();
    connect();
    await Promise.all([reloadList(), refreshStats()]);
    routeFromHash();
    body.classList.add("ready");
  }

  start();
})();
