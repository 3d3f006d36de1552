// Small DOM and formatting helpers shared by every other module: el() builds all markup, toast() and
// copyText() report to the user. Imports nothing.
// Captured data is untrusted: it only ever reaches the DOM through createElement, textContent and
// setAttribute. See docs/page.md.

export const $ = (id) => document.getElementById(id);

/** Builds an element: el("span", {class: "x", title: t}, child, "text", ...). */
export function el(tag, attrs, ...children) {
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

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

// ---------------------------------------------------------------- formatting

export function fmtSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10240 ? 1 : 0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function fmtRelative(iso) {
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

export function fmtAbsolute(iso) {
  const then = new Date(iso);
  if (Number.isNaN(then.getTime())) return iso;
  return `${then.toLocaleString()} (${iso})`;
}

export function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** The verdict of a summary: [css class, label, longer explanation]. */
export function verdict(s) {
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
  if (s.body_kind === "empty") return ["muted", "empty", "empty body"];
  return ["muted", "not JSON", `${s.body_kind} body`];
}

// ---------------------------------------------------------------- toast and clipboard

let toastTimer = null;
export function toast(message, bad) {
  const node = $("toast");
  node.textContent = message;
  node.classList.toggle("toast-bad", Boolean(bad));
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    node.hidden = true;
  }, 2600);
}

/** Closes the toast at once: what it said was about the record no longer shown. */
export function dismissToast() {
  clearTimeout(toastTimer);
  $("toast").hidden = true;
}

export async function copyText(text, what) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
    } else {
      const area = el("textarea", { class: "offscreen", readonly: true });
      area.value = text;
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    toast(`Copied ${what}`);
  } catch (error) {
    toast(`Could not copy: ${error.message}`, true);
  }
}
