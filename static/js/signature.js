// A capture's signature on the page: the badge a row and the detail carry, and the detail's section with the
// verdict, the explanation (computed by the server when the detail is read) and the start of the signed content.
// Every string here came from a sender or was built from what one sent: all of it reaches the DOM as text.

import { el } from "./dom.js";

const BADGES = {
  valid: ["badge-ok", "signed ✓", "Signature valid"],
  invalid: ["badge-bad", "signature ✗", "Signature invalid: open the request to see why"],
  unchecked: ["badge-muted", "signed", "Signed, but no secret is configured for this path"],
};

/** The signature badge of a summary, or null when it is unsigned. */
export function signatureBadge(s) {
  const known = BADGES[s.signature];
  if (!known) return null;
  const [kind, text, title] = known;
  return el("span", { class: `badge badge-sig ${kind}`, text, title, "data-signature": s.signature });
}

/** The detail's signature section, or null when the request is unsigned. */
export function signatureSection(r) {
  const check = r.signature_check;
  if (!check) return null;
  const verdictText = { valid: "valid", invalid: "invalid", unchecked: "not checked" }[r.signature] || r.signature;
  const title = `Signature · ${check.scheme || "unknown scheme"} · ${verdictText}`;
  const parts = [];
  if (check.reason) parts.push(el("p", { class: check.valid === false ? "sig-reason bad-text" : "sig-reason", text: check.reason }));
  if (check.secret) parts.push(el("p", { class: "muted small", text: `Matched ${check.secret}` }));
  const explanation = check.explanation;
  if (explanation && explanation.sentences.length) {
    parts.push(el("ul", { class: "sig-explanation", id: "signature-explanation" }, explanation.sentences.map((sentence) => el("li", { text: sentence }))));
  }
  if (explanation && explanation.signed_content) {
    const content = explanation.signed_content;
    parts.push(
      el("p", { class: "muted small", text: `Signed content: ${content.length} bytes, starting` }),
      el("pre", { class: "sig-content mono", text: content.start }),
    );
  }
  return el("section", { class: "dsec", id: "signature" }, el("h3", { class: "dsec-title", text: title }), ...parts);
}
