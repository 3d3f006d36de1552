// The detail pane: opening a record (by click, key or the #/requests/{id} hash), loading and showing it
// (facts, findings, signature, forwarding, body, headers, query), its actions (copy as curl, copy body, download, link, delete),
// and what happens to the page when a request is deleted.

import { $, clear, copyText, dismissToast, el, fmtAbsolute, fmtRelative, fmtSize, plural, toast, verdict } from "./dom.js";
import { api } from "./api.js";
import { highlightPointer, renderBody } from "./body.js";
import { renderBoothRecent } from "./booth.js";
import { answeredText, removeRow, rowFor, syncCursor, updateEmpty, updateNotice } from "./list.js";
import { forwardBadge, forwardSection } from "./forward.js";
import { signatureBadge, signatureSection } from "./signature.js";
import { scheduleStats } from "./stats.js";
import { ORIGIN, state } from "./state.js";

export function openRecord(id) {
  const hash = `#/requests/${id}`;
  if (location.hash === hash) showDetail(id);
  else location.hash = hash;
}

export function closeDetail() {
  state.openId = null;
  $("detail").hidden = true;
  $("detail-placeholder").hidden = false;
  document.body.classList.remove("detail-open");
  syncCursor();
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
}

export function routeFromHash() {
  const match = /^#\/requests\/(\d+)$/.exec(location.hash);
  if (match) showDetail(Number(match[1]));
  else if (state.openId !== null) closeDetail();
}

/** Shows the open record again when it changed (a forwarding attempt landed). */
export function refreshDetail(id) {
  if (state.openId === id) showDetail(id);
}

async function showDetail(id) {
  if (state.openId !== id) dismissToast();
  state.openId = id;
  state.cursor = id;
  syncCursor();
  document.body.classList.add("detail-open");
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

export function markDetailGone() {
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
      signatureBadge(r),
      forwardBadge(r),
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
  fact("Profile", r.envelope === null ? "none" : r.envelope);
  fact("Event", r.event === null ? "none" : r.event);
  if (r.environment) fact("Environment", r.environment);
  fact("Idempotency key", r.idempotency_key === null ? "none" : r.idempotency_key);
  if (r.key_source) facts.appendChild(el("dd", { class: "muted small", id: "key-source", text: `from ${r.key_source}` }));
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

  const signature = signatureSection(r);
  if (signature) detail.appendChild(signature);

  if (r.response) {
    const why = {
      step: r.endpoint ? `step ${Number(r.response.step) + 1} of endpoint ${r.endpoint}` : "a step",
      chaos: `endpoint ${r.endpoint}'s chaos share`,
      inactive: `endpoint ${r.endpoint} is inactive`,
      unauthorized: `endpoint ${r.endpoint}'s required header was missing`,
      default: "no endpoint: --status",
      proxy: `endpoint ${r.endpoint} proxies: the target's answer`,
    }[r.response.reason] || r.response.reason;
    detail.appendChild(section("Answered", el("p", { class: "answered", text: `${answeredText(r.response)} (${why})` })));
  }
  detail.appendChild(forwardSection(r, () => showDetail(r.id)));
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

export function asCurl(r) {
  const skip = new Set(["host", "content-length", "connection", "transfer-encoding", "accept-encoding"]);
  const parts = ["curl", "-X", shellQuote(r.method), shellQuote(fullUrl(r))];
  for (const [name, value] of r.headers) {
    if (!skip.has(name.toLowerCase())) parts.push("-H", shellQuote(`${name}: ${value}`));
  }
  if (r.body !== undefined && r.body_size > 0) return [...parts, "--data-binary", shellQuote(r.body)].join(" ");
  if (r.body_base64 !== undefined) return `printf %s ${shellQuote(r.body_base64)} | base64 -d | ${parts.join(" ")} --data-binary @-`;
  return parts.join(" ");
}

/** Forgets deleted requests everywhere: the list, the paused buffer, the open detail, the counts and the
 * booth. It lives here because deleting from the detail pane needs it as much as the stream does. */
export function onDeleted(ids) {
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
