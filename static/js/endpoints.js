// Endpoints: the dialog that lists them with what each received, and the form that creates and edits the API's
// (name, path, steps in the --respond shorthand, comment, active). The file's and --respond's are shown read-only.
// Every name and path reaches the DOM as text.

import { $, clear, el, plural, toast } from "./dom.js";
import { api } from "./api.js";

let showRequests = () => {};
/** The steps text of the endpoint being edited, so that saving other fields keeps its steps' headers and bodies. */
let editedStepsText = null;

/** Steps in the shorthand, `500x2,200@1500ms`, as the API's list; throws a sentence when one cannot be read. */
export function parseSteps(text) {
  const steps = [];
  for (const part of text.split(",").map((step) => step.trim()).filter(Boolean)) {
    const match = /^(\d{3})(?:[xX](\d+))?(?:@(\d+)(?:ms)?)?$/.exec(part);
    if (!match) throw new Error(`"${part}" is not a step: write STATUS, STATUSxTIMES or STATUS@DELAYms`);
    const step = { status: Number(match[1]) };
    if (match[2]) step.times = Number(match[2]);
    if (match[3]) step.delay_ms = Number(match[3]);
    steps.push(step);
  }
  return steps;
}

/** An endpoint's steps in the shorthand (what headers or bodies a step has are kept, but not shown here). */
function stepsText(respond) {
  return (respond || [])
    .map((step) => `${step.status}${step.times > 1 ? `x${step.times}` : ""}${step.delay_ms > 0 ? `@${step.delay_ms}ms` : ""}`)
    .join(",");
}

function statsText(stats) {
  const counts = Object.entries(stats.by_status).map(([status, n]) => `${n}× ${status}`);
  return `${plural(stats.received, "request")}${counts.length ? `: ${counts.join(", ")}` : ""}`;
}

function renderEndpoint(endpoint) {
  const editable = endpoint.source === "api";
  const toggle = el("button", {
    type: "button",
    class: "btn btn-small endpoint-toggle",
    text: endpoint.active ? "Deactivate" : "Activate",
    title: endpoint.active ? "Answer 410 Gone from now on" : "Answer its steps again",
    onclick: () => save(endpoint.id, { active: !endpoint.active }),
  });
  return el(
    "li",
    { class: "refused-item endpoint-item", "data-name": endpoint.name },
    el(
      "div",
      { class: "refused-head" },
      el("strong", { text: endpoint.name }),
      el("span", { class: "refused-what", text: endpoint.path }),
      el("span", { class: "badge", text: endpoint.active ? stepsText(endpoint.respond) : "inactive: 410" }),
      el("span", { class: "muted", text: editable ? "made here" : endpoint.source === "file" ? "from the file" : "from --respond" }),
    ),
    el("p", { class: "muted small", text: statsText(endpoint.stats) }),
    endpoint.verify
      ? el("p", { class: "muted small endpoint-verify", text: `Checks ${endpoint.verify.scheme} signatures with ${endpoint.verify.secrets.join(", ")}` })
      : null,
    el(
      "div",
      { class: "endpoint-actions" },
      editable ? toggle : null,
      editable ? el("button", { type: "button", class: "btn btn-small endpoint-edit", text: "Edit", onclick: () => fill(endpoint) }) : null,
      el("button", {
        type: "button",
        class: "btn btn-small btn-quiet",
        text: "Show its requests",
        onclick: () => {
          $("endpoints-dialog").close();
          showRequests(endpoint.name);
        },
      }),
    ),
  );
}

async function refresh() {
  let answer;
  try {
    answer = await api("/_/api/endpoints");
  } catch (error) {
    toast(`Could not load endpoints: ${error.message}`, true);
    return;
  }
  const list = $("endpoints-list");
  clear(list);
  for (const endpoint of answer.endpoints) list.appendChild(renderEndpoint(endpoint));
  if (!answer.endpoints.length) list.appendChild(el("li", { class: "muted", text: "None yet: every request is answered --status." }));
}

function fill(endpoint) {
  $("endpoint-form-title").textContent = endpoint ? `Edit ${endpoint.name}` : "New endpoint";
  $("endpoint-id").value = endpoint ? String(endpoint.id) : "";
  $("endpoint-name").value = endpoint ? endpoint.name : "";
  $("endpoint-path").value = endpoint ? endpoint.path : "";
  editedStepsText = endpoint ? stepsText(endpoint.respond) : null;
  $("endpoint-steps").value = editedStepsText ?? "";
  $("endpoint-comment").value = endpoint ? endpoint.comment : "";
  $("endpoint-active").checked = endpoint ? endpoint.active : true;
  $("endpoint-error").hidden = true;
}

/** Creates an endpoint (no id) or changes one by a merge patch; shows the API's sentence when it refuses. */
async function save(id, fields) {
  try {
    await api(id ? `/_/api/endpoints/${Number(id)}` : "/_/api/endpoints", {
      method: id ? "PATCH" : "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(fields),
    });
  } catch (error) {
    $("endpoint-error").textContent = error.message;
    $("endpoint-error").hidden = false;
    return false;
  }
  await refresh();
  return true;
}

async function submit(event) {
  event.preventDefault();
  let respond;
  try {
    respond = parseSteps($("endpoint-steps").value);
  } catch (error) {
    $("endpoint-error").textContent = error.message;
    $("endpoint-error").hidden = false;
    return;
  }
  const fields = {
    name: $("endpoint-name").value.trim(),
    path: $("endpoint-path").value.trim(),
    comment: $("endpoint-comment").value,
    active: $("endpoint-active").checked,
  };
  // The shorthand does not show headers or bodies: steps left as they were are not sent, so they stay whole.
  if ($("endpoint-steps").value.trim() !== editedStepsText) fields.respond = respond;
  if (await save($("endpoint-id").value, fields)) fill(null);
}

/** Wires the dialog; `onShowRequests(name)` filters the request list to one endpoint. */
export function wireEndpoints(onShowRequests) {
  showRequests = onShowRequests;
  $("endpoints-open").addEventListener("click", async () => {
    fill(null);
    await refresh();
    $("endpoints-dialog").showModal();
  });
  $("endpoints-close").addEventListener("click", () => $("endpoints-dialog").close());
  $("endpoint-new").addEventListener("click", () => fill(null));
  $("endpoint-form").addEventListener("submit", submit);
}
