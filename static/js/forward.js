// Forwarding on the page: a row's forwarding badge, and the detail's Forwarded section (every attempt with the
// target's answer beside the request), its Replay button and the edit-and-replay dialog. The target's answer is
// another sender's bytes: it reaches the DOM as text only.

import { $, el, fmtAbsolute, fmtRelative, toast } from "./dom.js";
import { api } from "./api.js";

const BADGES = {
  pending: ["badge-muted", "forwarding…", "Waiting to be delivered to the endpoint's target"],
  ok: ["badge-ok", "forwarded ✓", "The target answered 2xx"],
  failed: ["badge-bad", "forward ✗", "The target did not answer 2xx: open the request to see why"],
};

/** The forwarding badge of a summary, or null when it was never forwarded. */
export function forwardBadge(s) {
  const known = BADGES[s.forward];
  if (!known) return null;
  const [kind, text, title] = known;
  return el("span", { class: `badge badge-forward ${kind}`, text, title, "data-forward": s.forward });
}

function attemptItem(attempt) {
  const outcome = attempt.status !== null ? `→ ${attempt.status}` : "no answer";
  const head = el(
    "p",
    { class: "attempt-head" },
    el("span", { class: `badge ${attempt.status !== null && attempt.status < 300 ? "badge-ok" : "badge-bad"}`, text: outcome }),
    el("span", { class: "attempt-kind", text: attempt.kind }),
    el("span", { class: "mono small attempt-url", text: attempt.url }),
    el("time", { class: "muted small", datetime: attempt.at, title: fmtAbsolute(attempt.at), text: fmtRelative(attempt.at) }),
    el("span", { class: "muted small", text: `${attempt.duration_ms} ms` }),
  );
  const parts = [head];
  if (attempt.error) parts.push(el("p", { class: "bad-text small attempt-error", text: attempt.error }));
  if (attempt.status !== null) {
    const body = attempt.body !== undefined ? attempt.body : `(${attempt.body_size} bytes, not text)`;
    parts.push(
      el(
        "details",
        { class: "attempt-answer" },
        el("summary", { text: `The target's answer: ${attempt.headers.length} headers, ${attempt.body_size} bytes` }),
        el("table", { class: "kv" }, el("tbody", null, attempt.headers.map(([name, value]) => el("tr", null, el("th", { text: name }), el("td", { text: value }))))),
        el("pre", { class: "attempt-body mono", text: body }),
      ),
    );
  }
  return el("li", { class: "attempt" }, ...parts);
}

let replaying = null;

async function replay(id, edits, reload) {
  try {
    const attempt = await api(`/_/api/requests/${Number(id)}/replay`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(edits),
    });
    toast(attempt.status !== null ? `Replayed: the target answered ${attempt.status}` : `Replayed: ${attempt.error}`, attempt.status === null || attempt.status >= 300);
    await reload();
    return true;
  } catch (error) {
    toast(`Replay refused: ${error.message}`, true);
    return false;
  }
}

/** The detail's Forwarded section: the attempts, oldest first, and the replay buttons. */
export function forwardSection(r, reload) {
  const attempts = r.forwards || [];
  const title = attempts.length ? `Forwarded · ${attempts.length} ${attempts.length === 1 ? "attempt" : "attempts"} · ${r.forward}` : "Forward and replay";
  const actions = el(
    "div",
    { class: "detail-actions" },
    el("button", { type: "button", class: "btn btn-small", id: "replay", text: "Replay", title: "Send it again to the endpoint's forward URL", onclick: () => replay(r.id, {}, reload) }),
    el("button", { type: "button", class: "btn btn-small", id: "edit-replay", text: "Edit and replay", onclick: () => openReplayDialog(r, reload) }),
  );
  const list = attempts.length ? el("ol", { class: "attempts", id: "attempts" }, attempts.map(attemptItem)) : el("p", { class: "muted small", text: "Not forwarded yet. Replay sends it to its endpoint's forward URL, or a URL you give." });
  return el("section", { class: "dsec", id: "forwarded" }, el("h3", { class: "dsec-title", text: title }), list, actions);
}

function openReplayDialog(r, reload) {
  const headersText = r.headers.map(([name, value]) => `${name}: ${value}`).join("\n");
  const bodyText = r.body !== undefined ? r.body : "";
  // What the dialog shows, as the textareas will read it back: only what the user changes is sent, so an
  // unedited replay is the captured bytes (header values that are not UTF-8, a body's CRLFs).
  replaying = { id: r.id, reload, text: r.body !== undefined, headersText, bodyText };
  $("replay-url").value = "";
  $("replay-headers").value = headersText;
  replaying.headersShown = $("replay-headers").value;
  $("replay-body").value = bodyText;
  replaying.bodyShown = $("replay-body").value;
  $("replay-body").disabled = r.body === undefined;
  $("replay-resign").checked = false;
  $("replay-error").hidden = true;
  $("replay-dialog").showModal();
}

async function submitReplay(event) {
  event.preventDefault();
  if (!replaying) return;
  const headers = [];
  for (const line of $("replay-headers").value.split("\n")) {
    if (!line.trim()) continue;
    const colon = line.indexOf(":");
    if (colon < 1) {
      $("replay-error").textContent = `Not a header: ${line}`;
      $("replay-error").hidden = false;
      return;
    }
    headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  const edits = { resign: $("replay-resign").checked };
  if ($("replay-headers").value !== replaying.headersShown) edits.headers = headers;
  if (replaying.text && $("replay-body").value !== replaying.bodyShown) edits.body = $("replay-body").value;
  const url = $("replay-url").value.trim();
  if (url) edits.url = url;
  if (await replay(replaying.id, edits, replaying.reload)) $("replay-dialog").close();
}

/** Wires the edit-and-replay dialog. */
export function wireReplay() {
  $("replay-form").addEventListener("submit", submitReplay);
  $("replay-close").addEventListener("click", () => $("replay-dialog").close());
}
