// Key files made in the browser (admission, rotation) are handed to the user as a download: the
// private JWK exists only in this page's memory until then and is never sent anywhere.
import { h } from "./dom.ts";

export function keyFileLink(filename: string, content: unknown, label: string): HTMLAnchorElement {
  const blob = new Blob([`${JSON.stringify(content, null, 2)}\n`], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: filename, class: "button primary" }, label);
  // Revoke the object URL some time after the click so the key does not linger as a blob.
  a.addEventListener("click", () => setTimeout(() => URL.revokeObjectURL(url), 60_000));
  return a;
}

/** A download link for text made in the page (e.g. a CSV fetched with the session's token). */
export function textFileLink(filename: string, text: string, type: string, label: string): HTMLAnchorElement {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h("a", { href: url, download: filename, class: "button" }, label);
  a.addEventListener("click", () => setTimeout(() => URL.revokeObjectURL(url), 60_000));
  return a;
}
