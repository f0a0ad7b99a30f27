// Platform: migration-signal lookups. The platform's selector keys are opened HERE — from its
// key-wrapping (encryption) private JWK, `eusn signal enc-key`'s file, checked against the
// coordinator-signed publish records — or loaded from `eusn signal keys`'s selector-key file.
// Account selectors typed in are normalised and pseudonymised (HMAC-SHA-256) in the page; only
// pseudonyms and public URLs are sent. Keys and raw selectors live in this page's memory only.
import {
  fromB64url,
  KeyClient,
  type NormaliseOptions,
  type OpenedKeys,
  openSelectorKeys,
  pseudonymiseForLookup,
  type SelectorKey,
} from "@eusn/client";
import type { SelectorKind, SignalLookupResponse, SignalPullPage, SignalView } from "@eusn/protocol";
import type { JWK } from "jose";
import { ApiProblem, get, postJson } from "../api.ts";
import { $, type Child, h, replace, table, when } from "../dom.ts";
import type { Session } from "../session.ts";

const KINDS: [SelectorKind, string, string][] = [
  ["handle", "Handles", "e.g. @name on the removed account"],
  ["email", "E-mail addresses", ""],
  ["phone", "Phone numbers", "international format, or set the country code below"],
  ["profile_url", "Profile URLs", "the account's profile page"],
];

type KeyFile = { current: number | null; lookupVersions: number[]; keys: { version: number; key: string }[] };

function signalRows(me: string, signals: SignalView[], asked?: Map<string, string[]>): Child[][] {
  return signals.map((s) => [
    h("code", {}, s.id),
    s.kind.replaceAll("_", " "),
    asked ? (asked.get(s.id) ?? []).join(", ") : "—",
    `TCO (${s.reason.tcoLimb})`,
    s.origin.displayName,
    s.targetPlatformId === me ? "you" : (s.targetHost ?? s.targetPlatformId ?? "—"),
    s.outLinks.length ? s.outLinks.join(" ") : "—",
    `${when(s.createdAt)} (${s.ageDays} d)`,
    when(s.expiresAt),
  ]);
}
const HEADERS = ["Signal", "Kind", "You asked", "Reason", "From", "Target", "Out-links", "Made", "Expires"];

export default async function signals(s: Session | null) {
  if (!s) return;
  let keys: SelectorKey[] = [];
  let lookupVersions: number[] = [];
  const body = $("signals-body");
  const keyStatus = h("p", { id: "signals-key-status", role: "status" }, "No selector keys loaded yet.");
  const keyError = h("p", { class: "error", role: "alert" });
  const fileInput = h("input", { type: "file", id: "signals-key-file", accept: ".json,application/json" });
  const keyText = h("textarea", {
    id: "signals-key-text",
    rows: 3,
    spellcheck: "false",
    autocomplete: "off",
  });
  const loadBtn = h("button", { type: "submit", class: "primary" }, "Open selector keys");
  const keyForm = h(
    "form",
    { id: "signals-key-form", novalidate: true },
    h(
      "p",
      {},
      "Selectors are pseudonymised with the network's selector key, which the coordinator wrapped for your encryption key. Load your encryption private JWK (",
      h("code", {}, "eusn signal enc-key"),
      ") or your selector-key file (",
      h("code", {}, "eusn signal keys"),
      "). It stays in this page and is forgotten when you leave it.",
    ),
    h("label", { for: "signals-key-file" }, "Key file (JSON)"),
    fileInput,
    h("label", { for: "signals-key-text" }, "…or paste it"),
    keyText,
    h("p", {}, loadBtn),
    keyError,
    keyStatus,
  );

  const fields = KINDS.map(([kind, label, hint]) => {
    const id = `lookup-${kind}`;
    return {
      kind,
      el: h("textarea", {
        id,
        name: kind,
        rows: 2,
        spellcheck: "false",
        "aria-describedby": hint ? `${id}-hint` : undefined,
      }),
      label: h("label", { for: id }, `${label}, one per line`),
      hint: hint ? h("span", { class: "hint", id: `${id}-hint` }, ` ${hint}`) : null,
    };
  });
  const urls = h("textarea", { id: "lookup-urls", rows: 2, spellcheck: "false" });
  const country = h("input", {
    id: "lookup-country",
    maxlength: 3,
    inputmode: "numeric",
    placeholder: "e.g. 31",
  });
  const lookupBtn = h("button", { type: "submit", class: "primary", disabled: true }, "Look up");
  const lookupForm = h(
    "form",
    { id: "signals-lookup-form", novalidate: true },
    h(
      "div",
      { class: "grid" },
      fields.map((f) => h("div", {}, f.label, f.hint, f.el)),
    ),
    h("label", { for: "lookup-urls" }, "Public URLs seen in removed content (out-links), one per line"),
    urls,
    h("label", { for: "lookup-country" }, "Country calling code for phone numbers without one (optional)"),
    country,
    h("p", {}, lookupBtn),
  );
  const results = h("div", { id: "signals-results", class: "table" });
  const targeted = h("div", { class: "table", id: "signals-targeted" });
  replace(
    body,
    h("section", { "aria-labelledby": "sk-h" }, h("h2", { id: "sk-h" }, "1. Your selector keys"), keyForm),
    h(
      "section",
      { "aria-labelledby": "lk-h" },
      h("h2", { id: "lk-h" }, "2. Look up account selectors and links"),
      h(
        "p",
        { class: "advisory", role: "note" },
        "Signals are leads for human review only, never grounds for automatic action.",
      ),
      lookupForm,
      results,
    ),
    h(
      "section",
      { "aria-labelledby": "tg-h" },
      h("h2", { id: "tg-h" }, "Signals naming you as the target platform"),
      targeted,
    ),
  );

  let fileText: string | null = null;
  fileInput.addEventListener("change", async () => {
    fileText = (await fileInput.files?.[0]?.text()) ?? null;
  });
  keyForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    replace(keyError);
    const text = fileText ?? keyText.value.trim();
    try {
      const parsed = JSON.parse(text) as JWK | KeyFile;
      let opened: OpenedKeys;
      if ("keys" in parsed && Array.isArray(parsed.keys)) {
        const kf = parsed as KeyFile;
        opened = {
          current: kf.current,
          keys: kf.keys.map((k) => ({ version: k.version, key: fromB64url(k.key) })),
          lookupVersions: kf.lookupVersions,
        };
      } else {
        const client = new KeyClient({
          baseUrl: location.origin,
          nodeId: s.nodeId,
          participantId: s.participantId,
          key: s.key,
          kid: s.kid,
          alg: s.alg,
        });
        opened = await openSelectorKeys(client, parsed as JWK);
      }
      keys = opened.keys.filter((k) => opened.lookupVersions.includes(k.version));
      lookupVersions = opened.lookupVersions;
      if (keys.length === 0)
        throw new Error("no selector-key version that accepts lookups was wrapped for you");
      replace(
        keyStatus,
        `Selector keys open: version(s) ${lookupVersions.join(", ")} (current ${opened.current ?? "—"}). Lookups are pseudonymised under each.`,
      );
      lookupBtn.disabled = false;
    } catch (err) {
      replace(
        keyError,
        `Could not open the keys: ${err instanceof ApiProblem ? err.describe() : (err as Error).message}`,
      );
    } finally {
      fileText = null;
      keyText.value = "";
      fileInput.value = "";
    }
  });

  lookupForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const notes: string[] = [];
    const byPseudonym = new Map<string, string>();
    const opts: NormaliseOptions = country.value.trim() ? { defaultCallingCode: country.value.trim() } : {};
    for (const f of fields) {
      for (const raw of f.el.value
        .split(/\r?\n/)
        .map((x) => x.trim())
        .filter(Boolean)) {
        const r = await pseudonymiseForLookup(keys, f.kind, raw, opts);
        if (!r.ok) notes.push(`${f.kind} "${raw}": ${r.reason}`);
        else for (const p of r.pseudonyms) byPseudonym.set(p, `${f.kind} ${raw}`);
      }
    }
    const urlList = urls.value
      .split(/\r?\n/)
      .map((x) => x.trim())
      .filter(Boolean);
    if (byPseudonym.size + urlList.length === 0) notes.push("Enter at least one selector or URL.");
    if (notes.length) {
      replace(
        results,
        h(
          "ul",
          { class: "error" },
          notes.map((n) => h("li", {}, n)),
        ),
      );
      return;
    }
    replace(results, h("p", { role: "status" }, "Looking up…"));
    try {
      const answer = await postJson<SignalLookupResponse>(s, "/v1/signals/lookup", {
        selectors: [...byPseudonym.keys()],
        urls: urlList,
      });
      const asked = new Map<string, string[]>();
      for (const hit of answer.hits) {
        const label =
          hit.matchedAs === "selector" ? (byPseudonym.get(hit.matched) ?? hit.matched) : hit.matched;
        asked.set(hit.signalId, [...(asked.get(hit.signalId) ?? []), label]);
      }
      replace(
        results,
        h("p", { class: "advisory", role: "note" }, answer.advisory),
        h(
          "p",
          { id: "signals-summary" },
          `${answer.signals.length} signal(s) for ${byPseudonym.size} pseudonym(s) and ${urlList.length} URL(s), as of ${when(answer.asOf)}.`,
        ),
        table(
          "Signals that name what you asked about",
          HEADERS,
          signalRows(s.participantId, answer.signals, asked),
          "No live signal names any of these.",
        ),
      );
    } catch (err) {
      replace(
        results,
        h("p", { class: "error", role: "alert" }, err instanceof ApiProblem ? err.describe() : String(err)),
      );
    }
  });

  const page = await get<SignalPullPage>(s, "/v1/signals/targeted?limit=100");
  replace(
    targeted,
    table(
      "Live signals naming you as target",
      HEADERS,
      signalRows(s.participantId, page.signals),
      "No live signal names you as target.",
    ),
  );
}
