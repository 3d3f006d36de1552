// A request body in the detail pane: the Pretty / Raw / Hex / Base64 views, the small JSON parser that keeps
// numbers' text and repeated keys, the JSON tree with a JSON Pointer on every value, and highlighting the
// place a finding points at.

import { $, clear, el, fmtSize, toast } from "./dom.js";

const PRETTY_LIMIT = 1024 * 1024; // bodies larger than this are shown raw, not as a DOM tree
const HEX_LIMIT = 64 * 1024;

export function renderBody(r) {
  const wrap = el("div", { class: "body-wrap" });
  if (r.body_size === 0) {
    wrap.appendChild(el("p", { class: "muted", text: "No body." }));
    return wrap;
  }
  const views = [];
  // As people read it first: the fields of a form, or the body decompressed; the bytes as sent stay a tab away.
  if (r.form) views.push(["Fields", () => renderForm(r.form)]);
  if (r.decoded && !r.decoded.error) views.push([`Decoded (${r.decoded.encoding})`, () => renderDecoded(r.decoded)]);
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
  if (r.decoded) {
    const note = r.decoded.error
      ? r.decoded.error
      : `Sent ${r.decoded.encoding}-compressed: ${fmtSize(r.body_size)}, ${fmtSize(r.decoded.size)} decompressed.`;
    wrap.appendChild(el("p", { class: "muted small", text: note }));
  }
  if (r.body_kind === "json" && r.body !== undefined && r.body.length > PRETTY_LIMIT) {
    wrap.appendChild(el("p", { class: "muted small", text: "Large body: shown raw." }));
  }
  wrap.appendChild(pane);
  select(0);
  return wrap;
}

/** A form's fields as a table of names and values, each as text. */
function renderForm(fields) {
  const table = el("table", { class: "kv form-fields" });
  for (const [name, value] of fields) {
    table.appendChild(el("tr", {}, el("th", { text: name }), el("td", {}, el("pre", { class: "code raw wrap", text: value }))));
  }
  if (!fields.length) return el("p", { class: "muted", text: "An empty form." });
  return table;
}

/** A decompressed body: as a JSON tree when it parses, else as text, or in base64 when it is not text. */
function renderDecoded(decoded) {
  if (decoded.body === undefined) return el("pre", { class: "code raw wrap", text: decoded.body_base64 || "" });
  if (decoded.body.length <= PRETTY_LIMIT) {
    try {
      return renderJsonTree(parseJson(decoded.body));
    } catch (_) {
      /* not JSON: shown as text */
    }
  }
  return el("pre", { class: "code raw", text: decoded.body });
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

export function highlightPointer(pointer) {
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
