// Small DOM helpers for the console's browser module. Text always goes in as text nodes (never
// innerHTML), so nothing a record contains can become markup.

type Attr = string | number | boolean | undefined | null | ((ev: Event) => void);
export type Child = Node | string | number | null | undefined | false | Child[];

/** Creates an element: `on…` attributes become listeners, booleans toggle, the rest are attributes. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, Attr> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (v === true) el.setAttribute(k, "");
    else if (k === "class") el.className = String(v);
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]) {
  for (const c of children.flat(Infinity as 1) as Child[]) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el;
}

/** Replaces `el`'s children. (Typed structurally: @cloudflare/workers-types merges its own
 * HTMLRewriter `Element` into the DOM's, which makes some element types clash.) */
export function replace(el: { replaceChildren(...nodes: (Node | string)[]): void }, ...children: Child[]) {
  const nodes: (Node | string)[] = [];
  for (const c of children.flat(Infinity as 1) as Child[]) {
    if (c === null || c === undefined || c === false) continue;
    nodes.push(c instanceof Node ? c : String(c));
  }
  el.replaceChildren(...nodes);
}

/** A table with a caption, column headers and rows (cells are any child). */
export function table(
  caption: string,
  headers: string[],
  rows: Child[][],
  empty = "Nothing here.",
): HTMLElement {
  if (rows.length === 0) return h("p", { class: "empty" }, empty);
  return h(
    "table",
    {},
    h("caption", {}, caption),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        headers.map((x) => h("th", { scope: "col" }, x)),
      ),
    ),
    h(
      "tbody",
      {},
      rows.map((r) =>
        h(
          "tr",
          {},
          r.map((cell) => h("td", {}, cell)),
        ),
      ),
    ),
  );
}

/**
 * A hash shown compactly as prefix…suffix: the full value is the element's text and its tooltip,
 * the middle is hidden by the stylesheet (so its accessible name is what is seen: prefix…suffix,
 * WCAG 2.5.3). Activating it copies the full value. Short values are shown whole.
 */
export function hashCell(value: string): HTMLElement {
  if (value.length <= 20) return h("code", { class: "hash" }, value);
  const head = value.slice(0, 8);
  const tail = value.slice(-6);
  const el = h(
    "button",
    {
      type: "button",
      class: "hash compact",
      title: `${value} (activate to copy)`,
      "data-hash": value,
    },
    h("span", { class: "h-head" }, head),
    h("span", { class: "h-mid" }, value.slice(8, -6)),
    h("span", { class: "h-tail" }, tail),
  );
  el.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(value);
      flash(["Copied ", h("code", {}, `${head}…${tail}`), " to the clipboard."], "ok");
    } catch {
      flash("This browser did not allow copying; the full value is in the tooltip.", "error");
    }
  });
  return el;
}

export function link(href: string, text: string): HTMLAnchorElement {
  return h("a", { href }, text);
}

export function entryLink(id: string): HTMLAnchorElement {
  return link(`/console/entries/${encodeURIComponent(id)}`, id);
}

export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

export function pct(r: number | null | undefined): string {
  return r === null || r === undefined ? "—" : `${(r * 100).toFixed(0)} %`;
}

/** Page-level status line (a polite live region): the last thing that happened. */
export function flash(msg: Child, kind: "ok" | "error" | "info" = "info") {
  const el = $("flash");
  el.className = `flash ${kind}`;
  replace(el, msg);
}

export function button(label: string, onClick: () => void, attrs: Record<string, Attr> = {}) {
  return h("button", { type: "button", ...attrs, onclick: () => onClick() }, label);
}

/** Values of a form's named controls (checkbox groups come back as arrays). */
export function formValues(form: HTMLFormElement): Record<string, string | string[] | boolean> {
  const out: Record<string, string | string[] | boolean> = {};
  for (const el of Array.from(form.elements)) {
    if (
      !(
        el instanceof HTMLInputElement ||
        el instanceof HTMLSelectElement ||
        el instanceof HTMLTextAreaElement
      )
    )
      continue;
    if (!el.name) continue;
    if (el instanceof HTMLInputElement && el.type === "checkbox") {
      const group = form.querySelectorAll(`input[type=checkbox][name="${el.name}"]`);
      if (group.length > 1) {
        const arr = (out[el.name] as string[] | undefined) ?? [];
        if (el.checked) arr.push(el.value);
        out[el.name] = arr;
      } else out[el.name] = el.checked;
    } else if (el instanceof HTMLInputElement && el.type === "radio") {
      if (el.checked) out[el.name] = el.value;
    } else out[el.name] = el.value;
  }
  return out;
}
