// Booth mode, for a projector: the latest webhook in large type, the recent ones, and the hook URL with its
// QR code. The booth's counts are drawn by stats.js.

import { $, clear, el, fmtRelative, verdict } from "./dom.js";
import { api } from "./api.js";
import { setUrlParam } from "./filters.js";
import { ORIGIN, state } from "./state.js";

function boothHookUrl() {
  return `${ORIGIN}/hooks/demo`;
}

export function setBooth(on, remember) {
  state.booth = on;
  document.body.classList.toggle("booth-mode", on);
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

export function boothArrival(s) {
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
export async function renderBoothRecent(arrived) {
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
