// The JSON API: a fetch wrapper that turns problems into errors, and the filters as query parameters for the
// list and the live stream.

import { FILTER_KEYS } from "./filters.js";
import { PAGE_SIZE, state } from "./state.js";

export async function api(path, options) {
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

/** The active filters as query parameters: the list and the live stream take the same ones. */
export function filterParams() {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) if (state.filters[key]) params.set(key, state.filters[key]);
  return params;
}

export function listQuery(before) {
  const params = filterParams();
  params.set("limit", String(PAGE_SIZE));
  if (before) params.set("before", String(before));
  return `/_/api/requests?${params}`;
}
