// The JSON API: a fetch wrapper that turns problems into errors, and the list query for the filters.

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

export function listQuery(before) {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) if (state.filters[key]) params.set(key, state.filters[key]);
  params.set("limit", String(PAGE_SIZE));
  if (before) params.set("before", String(before));
  return `/_/api/requests?${params}`;
}
