// The filters: their state and form, their mirror in the page URL's query (setUrlParam serves the booth
// and theme toggles too), and the event filter's suggestions. The server applies them, to the list and to the
// live stream alike; the page never matches a request itself.

import { $, el } from "./dom.js";
import { state } from "./state.js";

export const FILTER_KEYS = [
  "q", "method", "envelope", "valid", "signature", "forward", "duplicate", "event", "environment", "header", "endpoint",
  "status", "key", "since", "until",
];

export function hasFilters() {
  return FILTER_KEYS.some((key) => state.filters[key]);
}

// ---------------------------------------------------------------- URL state

export function setUrlParam(name, value) {
  const url = new URL(location.href);
  if (value === null || value === "") url.searchParams.delete(name);
  else url.searchParams.set(name, value);
  history.replaceState(null, "", url.pathname + url.search + url.hash);
}

export function readFiltersFromUrl() {
  const params = new URLSearchParams(location.search);
  for (const key of FILTER_KEYS) {
    const value = params.get(key) || "";
    state.filters[key] = value;
    const input = $(`f-${key}`);
    if (input) input.value = value;
  }
  updateDownloads();
}

/** Points the download links at an export of what the filters match. */
export function updateDownloads() {
  for (const format of ["ndjson", "har"]) {
    const params = new URLSearchParams({ format });
    for (const key of FILTER_KEYS) if (state.filters[key]) params.set(key, state.filters[key]);
    $(`download-${format}`).setAttribute("href", `/_/api/export?${params}`);
  }
}

function applyFilters(reload) {
  for (const key of FILTER_KEYS) {
    const value = $(`f-${key}`).value.trim();
    state.filters[key] = value;
    setUrlParam(key, value || null);
  }
  $("f-reset").hidden = !hasFilters();
  updateDownloads();
  reload();
}

/** Wires the filter form: every change is applied to the state and the page URL, then `reload` runs. */
export function wireFilters(reload) {
  const apply = () => applyFilters(reload);
  const form = $("filters");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    apply();
  });
  form.addEventListener("change", apply);
  let searchTimer = null;
  $("f-q").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(apply, 300);
  });
  $("f-reset").addEventListener("click", () => {
    for (const key of FILTER_KEYS) $(`f-${key}`).value = "";
    apply();
  });
}

/** Adds the custom profiles (made through the API or the file since the page was served) to the profile filter. */
export async function loadProfiles(api) {
  let answer;
  try {
    answer = await api("/_/api/profiles");
  } catch (_) {
    return;
  }
  const select = $("f-envelope");
  const known = new Set([...select.options].map((option) => option.value));
  const none = [...select.options].find((option) => option.value === "none") || null;
  for (const profile of answer.profiles) {
    if (known.has(profile.name)) continue;
    select.insertBefore(el("option", { value: profile.name, text: profile.name }), none);
  }
  if (state.filters.envelope) select.value = state.filters.envelope;
}

// Event names seen so far, offered as suggestions by the event filter.
const knownEvents = new Set();
export function addKnownEvent(name) {
  if (!name || knownEvents.has(name) || knownEvents.size > 200) return;
  knownEvents.add(name);
  $("known-events").appendChild(el("option", { value: name }));
}
