// The web console end to end, in real headless Chromium against a real local node (wrangler dev,
// local D1): each role signs in by loading its key file and completes its main flows through the
// pages and the confirmation dialog. Screenshots go to test-artifacts/e2e/.
//
// The e2e files SHARE ONE NODE and run side by side: this file counts only its own entries and
// records, and compares a page's totals with what the API answers at that moment, never with a
// fixed number another file could change. It rotates Demo Social's key midway (slug "platform"):
// another file signs in as another participant ("video") or admits its own.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { EusnClient, generateParticipantKey } from "@eusn/client";
import { hammingDistance, type PdqHex } from "@eusn/pdq";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import {
  axeChecked,
  base,
  confirmDialog,
  credential,
  dropFiles,
  expectAccessible,
  FIXTURES,
  keyFile,
  keysDir,
  open,
  queueIds,
  type Slug,
  searchQueue,
  shot,
  skip,
  type Tab,
  useBrowser,
} from "./browser.ts";
import { SIGNAL_HANDLE, SIGNAL_OUT_LINK } from "./global-setup.ts";

const synthetic = (f: string) => path.join(FIXTURES, "synthetic", f);
const reference = new Map(
  readFileSync(path.join(FIXTURES, "expected-synthetic.csv"), "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((l) => l.split(","))
    .map(([hash, quality, file]) => [file!, { hash: hash!, quality: Number(quality) }]),
);
const MD5 = "0123456789abcdef0123456789abcdef";
const CONSOLE_SRC = path.resolve(import.meta.dirname, "../../workers/console");

/** A participant's client for the API, signing with its key file (reads are signed too). */
const client = (slug: Parameters<typeof keyFile>[0]) =>
  new EusnClient({ ...JSON.parse(readFileSync(keyFile(slug), "utf8")), baseUrl: base });
async function must<T>(r: Promise<{ ok: true; data: T } | { ok: false; problem: unknown }>): Promise<T> {
  const res = await r;
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data;
}
/**
 * What a page shows against what the API answers, on a node other files write to meanwhile: the
 * API is read before and after the page; when both say the same (`expected` of each), the page
 * must show exactly that (otherwise all three are read again).
 */
async function settled<P, A>(readPage: () => Promise<P>, readApi: () => Promise<A>, expected: (a: A) => P) {
  for (let i = 0; ; i++) {
    const before = expected(await readApi());
    const shown = await readPage();
    const api = await readApi();
    const after = expected(api);
    if (JSON.stringify(before) === JSON.stringify(after) || i === 4) {
      expect(shown).toEqual(after);
      return api;
    }
  }
}

const d = skip ? describe.skip : describe;
if (skip) it.skip(`console e2e skipped: ${skip}`, () => {});

d("the console", () => {
  const b = useBrowser();
  const entry = { shapes: "", checker: "", md5: "" };
  /** The ids of the records this file signs, by what they did. */
  const rec = {
    submit: "",
    decisions: [] as string[],
    received: [] as string[],
    given: { de: [] as string[], fr: [] as string[] },
    reverse: "",
    feedback: "",
  };
  const shapesHash = reference.get("shapes-1024x768.png")!.hash;

  /** The tabs of the participants signed in so far (each signs in once: useBrowser), and the public's. */
  const by: Partial<Record<Slug | "visitor", Tab>> = {};
  async function as(slug: Slug) {
    const t = await b.as(slug);
    by[slug] = t;
    return t;
  }

  type Report = {
    figures: {
      key: string;
      label: string;
      quarters: { value: number; records: string[] }[];
      total: number;
    }[];
  };
  /** The report's figures as the page's table shows them: label → [Q1..Q4, year]. */
  const reportValues = (r: Report) =>
    Object.fromEntries(r.figures.map((f) => [f.label, [...f.quarters.map((c) => c.value), f.total]]));
  const reportApi = (slug: "nl" | "coordinator", q: Record<string, string>) =>
    must(
      client(slug).get<Report>(
        `/v1/reports/tco?${new URLSearchParams({ year: String(new Date().getUTCFullYear()), ...q })}`,
      ),
    );
  const reportShown = async (page: Page) =>
    Object.fromEntries(
      await page
        .locator("#report-table tbody tr")
        .evaluateAll((trs) =>
          trs.map((tr) => [
            tr.querySelector("th")?.textContent ?? "",
            Array.from(tr.querySelectorAll("td.num"), (td) => Number(td.textContent)),
          ]),
        ),
    ) as Record<string, number[]>;
  /** Asks the node again (the form's Show) and waits for the new report ("generated …" changes). */
  const reshowReport = async (page: Page) => {
    const generated = page.locator("#report-body p").first();
    const was = await generated.textContent();
    await page.getByRole("button", { name: "Show" }).click();
    await expect.poll(() => generated.textContent()).not.toBe(was);
    return reportShown(page);
  };

  /** A page nobody signed in on (the public's): a tab signed out of, if there is one (`signOut`). */
  async function visitorPage() {
    by.visitor = signedOut ?? (await b.tab());
    signedOut = undefined;
    return by.visitor;
  }

  /**
   * A tab a participant signed out of, at the sign-in page, for signing in with another key file,
   * or for the public's pages (a new browser context costs Chromium several page loads: one tab
   * serves the second coordinator, the admitted platform, the rotated key and the public).
   */
  let signedOut: Tab | undefined;
  async function signInWithFile(file: string, landing: RegExp) {
    const t = signedOut ?? (await b.tab());
    signedOut = undefined;
    if (!t.page.url().endsWith("/console")) await open(t.page, "/console");
    await t.page.setInputFiles("#key-file", file);
    await t.page.getByRole("button", { name: "Sign in" }).click();
    await t.page.waitForURL(landing);
    return t;
  }
  /** Signs out through the header's button and keeps the tab for `signInWithFile`. */
  async function signOut(t: Tab) {
    await t.page.getByRole("button", { name: "Sign out" }).click();
    await t.page.waitForURL(/\/console$/);
    await t.page.waitForSelector("body[data-ready='1']");
    await expect.poll(() => t.page.textContent("#session-who")).toBe("Not signed in");
    signedOut = t;
  }

  it("serves pages under a strict CSP, the module and stylesheet as static assets", async () => {
    const res = await fetch(`${base}/console`);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toMatch(/unsafe-(inline|eval)/);
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    const html = await res.text();
    expect(html).toContain('<script type="module" src="/console/assets/console.js"></script>');
    const js = await fetch(`${base}/console/assets/console.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toMatch(/javascript/);
    expect((await fetch(`${base}/console/assets/console.css`)).status).toBe(200);
  });

  it("authority: signs in with its key file; the key is non-extractable and never sent", async () => {
    const { page, watch } = await as("nl");
    expect(page.url()).toBe(`${base}/console/assess`);
    const key = await page.evaluate(
      () =>
        new Promise<{ extractable: boolean; type: string; usages: string[]; exportRefused: boolean }>(
          (resolve, reject) => {
            const req = indexedDB.open("eusn-console");
            req.onerror = () => reject(req.error);
            req.onsuccess = () => {
              const get = req.result.transaction("session").objectStore("session").get("current");
              get.onsuccess = async () => {
                const k = get.result.key as CryptoKey;
                const exportRefused = await crypto.subtle.exportKey("jwk", k).then(
                  () => false,
                  () => true,
                );
                resolve({ extractable: k.extractable, type: k.type, usages: k.usages, exportRefused });
              };
            };
          },
        ),
    );
    expect(key).toEqual({ extractable: false, type: "private", usages: ["sign"], exportRefused: true });
    const d = credential("nl").privateJwk.d;
    expect(watch.requests.length).toBeGreaterThan(2);
    for (const r of watch.requests) {
      expect(r.body).not.toContain(d);
      expect(r.headers).not.toContain(d);
      expect(r.url).not.toContain(d);
    }
    await expectAccessible(page);
  });

  it("authority: submits by dropping image files (hashed in the browser) and by pasting hex", async () => {
    const { page, watch } = by.nl!;
    await open(page, "/console/submit");
    const before = watch.requests.length;
    await dropFiles(page, "#submit-zone", [
      synthetic("shapes-1024x768.png"),
      synthetic("checker-512x512.png"),
      synthetic("noise-800x600.jpg"),
    ]);
    const rows = page.locator("#submit-items tbody tr");
    await expect.poll(() => rows.count()).toBe(3);
    // Hashing happened here: dropping the files sent nothing at all.
    expect(watch.requests.length).toBe(before);
    const cells = await rows.evaluateAll((trs) =>
      trs.map((tr) => Array.from(tr.querySelectorAll("td"), (td) => td.textContent ?? "")),
    );
    // PNG decodes to the same samples everywhere: bit-for-bit the reference hash and quality.
    for (const [i, f] of ["shapes-1024x768.png", "checker-512x512.png"].entries()) {
      expect(cells[i]![2]).toBe(reference.get(f)!.hash);
      expect(Number(cells[i]![3])).toBe(reference.get(f)!.quality);
    }
    // A JPEG goes through Chromium's decoder, not libjpeg-turbo's: a few bits may move.
    const jpegDistance = hammingDistance(
      cells[2]![2]! as PdqHex,
      reference.get("noise-800x600.jpg")!.hash as PdqHex,
    );
    process.stderr.write(`[e2e] noise-800x600.jpg: browser PDQ is ${jpegDistance} bits from the reference\n`);
    expect(jpegDistance).toBeLessThanOrEqual(8);

    await page.fill("#submit-paste-text", `md5:${MD5.toUpperCase()}\nnot-a-hash`);
    await page.click("#submit-paste-add");
    await expect.poll(() => page.textContent("#submit-items")).toContain("line 2: not a hash");
    await expect.poll(() => rows.count()).toBe(4);
    await page.getByLabel("National provision").fill("NL Sr. art. 421");
    // No limb is ticked for the authority: it chooses each one.
    expect(await page.locator("input[name=limbs]:checked").count()).toBe(0);
    await page.locator("input[name=limbs][value=a]").check();
    await page.locator("input[name=limbs][value=c]").check();
    await shot(page, "01-authority-submit");
    await expectAccessible(page);
    await page.getByRole("button", { name: "Review and submit…" }).click();
    rec.submit = await confirmDialog(page, {
      kind: "submission.create",
      screenshot: "02-authority-submit-confirm",
    });
    const results = page.locator("#submit-results-table tbody tr");
    await expect.poll(() => results.count()).toBe(4);
    expect(await page.locator("#submit-results-table").textContent()).not.toContain("existing");
    entry.shapes = (await results.filter({ hasText: shapesHash }).locator("a").first().textContent()) ?? "";
    entry.md5 = (await results.filter({ hasText: MD5 }).locator("a").first().textContent()) ?? "";
    const checkerHash = reference.get("checker-512x512.png")!.hash;
    entry.checker = (await results.filter({ hasText: checkerHash }).locator("a").first().textContent()) ?? "";
    expect(entry.shapes).toMatch(/^hsh_/);
    expect(entry.md5).toMatch(/^hsh_/);
  });

  it("authorities: concur and dissent from the queue awaiting their assessment", async () => {
    const { page } = await as("de");
    const awaiting = () => page.locator("#awaiting-table").textContent();
    // The queue holds the large network's thousand and more, oldest first: found by id.
    const find = (p: Page, id: string) => searchQueue(p, "awaiting-table", id);
    for (const id of [entry.shapes, entry.checker, entry.md5]) {
      await find(page, id);
      expect(await queueIds(page, "awaiting-table")).toEqual([id]);
    }
    await find(page, entry.shapes);
    await page.getByRole("button", { name: `Concur with ${entry.shapes}` }).click();
    const assessed = (id: string) => {
      rec.given.de.push(id);
      rec.received.push(id);
    };
    assessed(
      await confirmDialog(page, {
        kind: "assessment.create",
        fill: { reason: "Glorifies an attack; DE StGB § 91" },
        screenshot: "03-authority-assess-confirm",
      }),
    );
    // The queue reloads after each assessment: wait for it to drop the entry before clicking a
    // button in it again (a click on a row being replaced was lost once, on a loaded CI run).
    await expect.poll(awaiting).not.toContain(entry.shapes);
    await find(page, entry.checker);
    await page.getByRole("button", { name: `Concur with ${entry.checker}` }).click();
    assessed(
      await confirmDialog(page, {
        kind: "assessment.create",
        fill: { reason: "Recruitment poster (limb c)" },
      }),
    );
    await expect.poll(awaiting).not.toContain(entry.checker);
    await find(page, entry.md5);
    await page.getByRole("button", { name: `Dissent from ${entry.md5}` }).click();
    assessed(
      await confirmDialog(page, {
        kind: "assessment.create",
        fill: { reason: "Not enough context to assess" },
      }),
    );
    await expect.poll(awaiting).not.toContain(entry.md5);
    await shot(page, "04-authority-assess");

    // FR works the dialog with the keyboard only; Escape cancels without sending anything.
    const fr = await as("fr");
    await find(fr.page, entry.shapes);
    const concur = fr.page.getByRole("button", { name: `Concur with ${entry.shapes}` });
    await concur.focus();
    await fr.page.keyboard.press("Enter");
    await expect.poll(() => fr.page.getByRole("dialog").isVisible()).toBe(true);
    expect(await fr.page.evaluate(() => document.activeElement?.getAttribute("name"))).toBe("limb");
    const posts = fr.watch.requests.filter((r) => r.body).length;
    await fr.page.keyboard.press("Escape");
    await expect.poll(() => fr.page.getByRole("dialog").isVisible()).toBe(false);
    expect(fr.watch.requests.filter((r) => r.body).length).toBe(posts);
    await concur.focus();
    await fr.page.keyboard.press("Enter");
    await fr.page.keyboard.press("Tab");
    await fr.page.keyboard.type("Incitement, FR code pénal art. 421-2-5");
    while ((await fr.page.evaluate(() => document.activeElement?.id)) !== "confirm-ok")
      await fr.page.keyboard.press("Tab");
    await fr.page.keyboard.press("Enter");
    await fr.page.locator("#confirm-record-id").waitFor();
    const frConcur = (await fr.page.locator("#confirm-record-id").textContent()) ?? "";
    rec.given.fr.push(frConcur);
    rec.received.push(frConcur);
    await fr.page.keyboard.press("Enter"); // "Close" has the focus
    await expect.poll(() => fr.page.getByRole("dialog").isVisible()).toBe(false);
    await expect.poll(() => fr.page.locator("#awaiting-table").textContent()).not.toContain(entry.shapes);
    await find(fr.page, entry.checker);
    await fr.page.getByRole("button", { name: `Concur with ${entry.checker}` }).click();
    const frChecker = await confirmDialog(fr.page, { kind: "assessment.create" });
    rec.given.fr.push(frChecker);
    rec.received.push(frChecker);
  });

  it("coordinator: finds the entry eligible, checks its signed history, includes it", async () => {
    const { page } = await as("coordinator");
    const eligible = page.locator("#queue-eligible-table");
    // Found by id among the large network's eligible entries (oldest first).
    await searchQueue(page, "queue-eligible-table", entry.shapes);
    expect(await queueIds(page, "queue-eligible-table")).toEqual([entry.shapes]);
    // Not disputed: nobody dissented from it.
    await searchQueue(page, "queue-disputed-table", entry.shapes);
    expect(await queueIds(page, "queue-disputed-table")).toEqual([]);
    await shot(page, "05-coordinator-curation");
    await expectAccessible(page);
    await eligible.getByRole("link", { name: entry.shapes }).click();
    await page.waitForSelector("body[data-ready='1']");
    const history = page.locator("#entry-history-table tbody tr");
    await expect.poll(() => history.count()).toBe(3);
    expect(await history.filter({ hasText: "✓ signature verified" }).count()).toBe(3);
    expect(await page.locator("#entry-history-table").textContent()).toContain("Glorifies an attack");
    await page.getByRole("button", { name: "Include…" }).click();
    // Both live concurrences are cited by default.
    expect(await page.locator("#confirm-fields input[name=assessmentIds]:checked").count()).toBe(2);
    rec.decisions.push(
      await confirmDialog(page, {
        kind: "baseline.decide",
        fill: { reason: "NL, DE and FR assess it as terrorist content (limb a)" },
        screenshot: "06-coordinator-include-confirm",
      }),
    );
    await expect.poll(() => page.locator("[data-field=Status]").textContent()).toContain("included");
    await expect.poll(() => page.locator("#entry-history-table tbody tr").count()).toBe(4);
    await shot(page, "07-coordinator-entry");
    await expectAccessible(page);
    // The checkerboard too: it stays in the baseline to the end.
    await open(page, `/console/entries/${entry.checker}`);
    await page.getByRole("button", { name: "Include…" }).click();
    rec.decisions.push(
      await confirmDialog(page, { kind: "baseline.decide", fill: { reason: "NL, DE and FR concur" } }),
    );
    await expect.poll(() => page.locator("[data-field=Status]").textContent()).toContain("included");
  });

  it("platform: matches a dropped image, sees distance and baseline state, reports the outcome", async () => {
    const { page, watch } = await as("platform");
    const before = watch.requests.length;
    // The JPEG copy of the included PNG: a near-duplicate, as platforms see them.
    await dropFiles(page, "#match-zone", [synthetic("shapes-1024x768.jpg")]);
    await expect.poll(() => page.locator("#match-items tbody tr").count()).toBe(1);
    expect(watch.requests.length).toBe(before);
    await page.fill("#match-paste-text", `md5:${MD5}`);
    await page.click("#match-paste-add");
    await page.getByRole("button", { name: "Match", exact: true }).click();
    const result = page.locator("section.result").first();
    await expect.poll(() => result.textContent()).toContain(entry.shapes);
    const row = result.locator("tbody tr").filter({ hasText: entry.shapes });
    const distance = Number((await row.locator("td").nth(1).textContent())?.split(" ")[0]);
    expect(distance).toBeLessThanOrEqual(31);
    expect(await row.textContent()).toContain("included");
    // The MD5 entry is not in the baseline (DE dissented): no match in the default scope.
    expect(await page.locator("section.result").nth(1).textContent()).toContain("No match.");
    expect(await page.locator("#match-results-body").textContent()).toContain("human review");
    await shot(page, "08-platform-match");
    await expectAccessible(page);
    await row.getByRole("button", { name: `Report outcome for ${entry.shapes}` }).click();
    rec.feedback = await confirmDialog(page, {
      kind: "feedback.create",
      select: { outcome: "false_positive" },
      fill: { note: "a news report about the attack" },
    });
  });

  it("platform: opens its selector keys in the page and looks up a handle and a link (pseudonymised here)", async () => {
    const { page, watch } = by.platform!;
    await open(page, "/console/signals");
    await expect.poll(() => page.locator("#signals-targeted").textContent()).toContain("Demo Video");
    await page.setInputFiles("#signals-key-file", keyFile("platform-enc"));
    await page.getByRole("button", { name: "Open selector keys" }).click();
    await expect
      .poll(() => page.textContent("#signals-key-status"))
      .toContain("Selector keys open: version(s) 1");
    const before = watch.requests.length;
    await page.getByLabel("Handles, one per line").fill(`${SIGNAL_HANDLE.toUpperCase()}\n@someone_else`);
    await page
      .getByLabel("Public URLs seen in removed content (out-links), one per line")
      .fill(SIGNAL_OUT_LINK);
    await page.getByRole("button", { name: "Look up" }).click();
    await expect
      .poll(() => page.textContent("#signals-results"))
      .toContain("1 signal(s) for 2 pseudonym(s) and 1 URL(s)");
    const row = page.locator("#signals-results tbody tr");
    expect(await row.count()).toBe(1);
    expect(await row.textContent()).toContain(`handle ${SIGNAL_HANDLE.toUpperCase()}`);
    expect(await row.textContent()).toContain("Demo Video");
    expect(await page.textContent("#signals-results")).toContain("Lead for human review only");
    // The raw handles never left the page: only pseudonyms (v1:handle:…) and the public URL did.
    const sent = watch.requests.slice(before).filter((r) => r.body);
    expect(sent.length).toBe(1);
    expect(sent[0]!.body.toLowerCase()).not.toContain("attacker_01");
    expect(sent[0]!.body.toLowerCase()).not.toContain("someone_else");
    expect(sent[0]!.body).toMatch(/"v1:handle:[A-Za-z0-9_-]{43}"/);
    await shot(page, "09-platform-signal-lookup");
    await expectAccessible(page);
  });

  it("a dissent after inclusion disputes the entry; the coordinator retires, then reverses it", async () => {
    const de = by.de!;
    await open(de.page, `/console/entries/${entry.shapes}`);
    await de.page.getByRole("button", { name: "Dissent…" }).click();
    const dissent = await confirmDialog(de.page, {
      kind: "assessment.create",
      fill: { reason: "Court found it is reporting" },
    });
    rec.given.de.push(dissent);
    rec.received.push(dissent);

    const coord = by.coordinator!;
    await open(coord.page, "/console/curation");
    await searchQueue(coord.page, "queue-disputed-table", entry.shapes);
    expect(await queueIds(coord.page, "queue-disputed-table")).toEqual([entry.shapes]);
    await coord.page.locator("#queue-disputed-table").getByRole("link", { name: entry.shapes }).click();
    await coord.page.waitForSelector("body[data-ready='1']");
    expect(await coord.page.locator("#entry-matches-table").textContent()).toContain("Demo Social");
    await coord.page.getByRole("button", { name: "Retire…" }).click();
    rec.decisions.push(
      await confirmDialog(coord.page, {
        kind: "baseline.decide",
        fill: { reason: "Disputed by DE after a ruling" },
      }),
    );
    await expect.poll(() => coord.page.locator("[data-field=Status]").textContent()).toContain("retired");
    await coord.page.getByRole("button", { name: "Reverse…" }).click();
    rec.reverse = await confirmDialog(coord.page, {
      kind: "submission.reverse",
      select: { ground: "court_ruling" },
      fill: { reason: "Annulled by the court", reference: "LG Berlin 1/26" },
    });
    await expect.poll(() => coord.page.locator("[data-field=Status]").textContent()).toContain("reversed");
    await expect.poll(() => coord.page.getByRole("button", { name: "Reverse…" }).count()).toBe(0);

    const platform = by.platform!;
    await open(platform.page, "/console/match");
    await expect.poll(() => platform.page.locator("#reversals-table").textContent()).toContain(entry.shapes);
    expect(await platform.page.locator("#reversals-table").textContent()).toContain("court ruling");
  });

  it("coordinator: admits a platform with the public key it made itself; a second coordinator countersigns; it signs in; then revokes it", async () => {
    const { page } = by.coordinator!;
    await open(page, "/console/participants");
    // The participant makes its key pair on its own machine (as `eusn keygen` does); the
    // coordinator gets the public half only. A private key pasted by mistake is refused.
    const pair = await generateParticipantKey();
    await page.selectOption("#admit-role", "platform");
    expect(await page.locator("#admit-state").isDisabled()).toBe(true);
    await page.fill("#admit-name", "Video Host");
    await page.fill("#admit-jwk", JSON.stringify(pair.privateJwk));
    await page.getByRole("button", { name: "Review and admit…" }).click();
    await expect.poll(() => page.locator("#admit-download").textContent()).toContain("PRIVATE key");
    await page.fill("#admit-jwk", JSON.stringify({ kid: pair.kid, jwk: pair.publicJwk }));
    await expect.poll(() => page.locator("#admit-kid").textContent()).toContain(pair.kid);
    await page.getByRole("button", { name: "Review and admit…" }).click();
    await confirmDialog(page, { kind: "participant.admit" });
    // One coordinator's admission is a request: it waits for another coordinator.
    await expect.poll(() => page.locator("#admit-download").textContent()).toMatch(/Requested par_\w+/);
    const id = /Requested (par_\w+)/.exec((await page.locator("#admit-download").textContent()) ?? "")![1]!;
    const request = page.locator("#requests-table tbody tr").filter({ hasText: "Video Host" });
    await expect.poll(() => request.textContent()).toContain("waiting for another coordinator");
    expect(await request.getByRole("button", { name: /Countersign/ }).count()).toBe(0);
    expect(await page.locator("#participants-table").textContent()).not.toContain("Video Host");

    // The second coordinator signs in and gives it its second signature, then signs out.
    const second = await signInWithFile(keyFile("coordinator-2"), /\/console\/curation$/);
    await expect.poll(() => second.page.textContent("#session-who")).toContain("(second signature)");
    await open(second.page, "/console/participants");
    await second.page.getByRole("button", { name: "Countersign the admission of Video Host" }).click();
    await confirmDialog(second.page, { kind: "participant.countersign" });
    await expect.poll(() => second.page.locator("#participants-table").textContent()).toContain("Video Host");
    await expect.poll(() => second.page.locator("#requests-table").textContent()).not.toContain("Video Host");
    await signOut(second);

    const file = path.join(keysDir, "video-host.json");
    const { nodeId } = JSON.parse(readFileSync(keyFile("platform"), "utf8")) as { nodeId: string };
    writeFileSync(
      file,
      JSON.stringify({
        participantId: id,
        role: "platform",
        displayName: "Video Host",
        nodeId,
        baseUrl: base,
        privateJwk: pair.privateJwk,
      }),
      { mode: 0o600 },
    );
    const newcomer = await signInWithFile(file, /\/console\/match$/);
    await expect.poll(() => newcomer.page.textContent("#session-who")).toContain("Video Host");
    await signOut(newcomer);

    await open(page, "/console/participants");
    await expect.poll(() => page.locator("#participants-table").textContent()).toContain("Video Host");
    // A platform's revocation removes access and grants none: one signature.
    await page.getByRole("button", { name: "Revoke Video Host" }).click();
    await confirmDialog(page, { kind: "participant.revoke", fill: { reason: "Test admission, withdrawn" } });
    const row = page.locator("#participants-table tbody tr").filter({ hasText: "Video Host" });
    await expect.poll(() => row.textContent()).toContain("revoked");
    await shot(page, "10-coordinator-participants");
    await expectAccessible(page);
  });

  it("authority: sees an admission for its member state waiting for a second signature and countersigns it in the console", async () => {
    const { page } = by.coordinator!;
    await open(page, "/console/participants");
    const pair = await generateParticipantKey();
    await page.selectOption("#admit-role", "authority");
    await page.selectOption("#admit-state", "NL");
    await page.fill("#admit-name", "Politie (NL national police)");
    await page.fill("#admit-jwk", JSON.stringify({ kid: pair.kid, jwk: pair.publicJwk }));
    await expect.poll(() => page.locator("#admit-kid").textContent()).toContain(pair.kid);
    await page.getByRole("button", { name: "Review and admit…" }).click();
    await confirmDialog(page, { kind: "participant.admit" });
    await expect
      .poll(() => page.locator("#admit-download").textContent())
      .toMatch(/Requested par_\w+: it takes effect when another coordinator, or an authority of NL/);

    // The DE authority sees the request but is not offered a signature that would not count.
    const de = await as("de");
    await open(de.page, "/console/participants");
    const deRow = de.page.locator("#requests-table tbody tr").filter({ hasText: "Politie" });
    await expect.poll(() => deRow.textContent()).toContain("for another coordinator, or an authority of NL");
    expect(await deRow.getByRole("button").count()).toBe(0);
    expect(await de.page.locator("#admit").isHidden()).toBe(true);

    // NL's authority countersigns it in its own browser.
    const nl = by.nl!;
    await open(nl.page, "/console/participants");
    expect(await nl.page.locator("#admit").isHidden()).toBe(true);
    expect(await nl.page.getByRole("button", { name: /^Revoke / }).count()).toBe(0);
    await nl.page
      .getByRole("button", { name: "Countersign the admission of Politie (NL national police)" })
      .click();
    await confirmDialog(nl.page, { kind: "participant.countersign" });
    await expect.poll(() => nl.page.locator("#requests-table").textContent()).not.toContain("Politie");
    const admitted = nl.page.locator("#participants-table tbody tr").filter({ hasText: "Politie" });
    await expect.poll(() => admitted.textContent()).toContain("active");
    await shot(nl.page, "10b-authority-countersigns");
    await expectAccessible(nl.page);
  });

  it("coordinator: withdraws its own request while it waits; nobody can countersign it then", async () => {
    const { page } = by.coordinator!;
    await open(page, "/console/participants");
    const pair = await generateParticipantKey();
    await page.selectOption("#admit-role", "platform");
    await page.fill("#admit-name", "Mistaken Host");
    await page.fill("#admit-jwk", JSON.stringify({ kid: pair.kid, jwk: pair.publicJwk }));
    await expect.poll(() => page.locator("#admit-kid").textContent()).toContain(pair.kid);
    await page.getByRole("button", { name: "Review and admit…" }).click();
    await confirmDialog(page, { kind: "participant.admit" });
    await expect.poll(() => page.locator("#admit-download").textContent()).toMatch(/Requested par_\w+/);
    await page.getByRole("button", { name: "Withdraw the admission of Mistaken Host" }).click();
    await confirmDialog(page, { kind: "participant.request.withdraw", fill: { reason: "wrong key sent" } });
    await expect.poll(() => page.locator("#requests-table").textContent()).not.toContain("Mistaken Host");
    const listed = (await (await fetch(`${base}/v1/registry/requests?status=withdrawn`)).json()) as {
      requests: { displayName: string; status: string }[];
    };
    expect(listed.requests.find((q) => q.displayName === "Mistaken Host")?.status).toBe("withdrawn");
  });

  it("coordinator: filters the audit trail by kind and actor and opens a signed record", async () => {
    const { page } = by.coordinator!;
    const coordinator = client("coordinator");
    const apiTotal = async (q: Record<string, string>) =>
      (
        await must(
          coordinator.get<{ total?: number }>(
            `/v1/audit?${new URLSearchParams({ order: "desc", limit: "1", count: "true", ...q })}`,
          ),
        )
      ).total!;
    await open(page, "/console/audit");
    const rows = page.locator("#audit-table tbody tr");
    await expect.poll(() => rows.count()).toBeGreaterThan(15);
    const shownTotal = async () =>
      Number(
        /of ([\d,]+) matching/
          .exec((await page.locator("#audit-count").textContent()) ?? "")?.[1]
          ?.replaceAll(",", ""),
      );
    /**
     * Sets a filter and waits until the page shows the node's answer: its total lies between the
     * API's totals read before and after (other files may add records meanwhile), every row is of
     * the filtered kind (and actor), and this file's own records are among them.
     */
    const filter = async (q: Record<string, string>, set: () => Promise<unknown>, own: string[]) => {
      const before = Math.max(await apiTotal(q), own.length);
      const answered = page.waitForResponse(
        (r) => r.url().includes("/v1/audit?") && new URL(r.url()).searchParams.get("count") === "true",
      );
      // The table shown now is marked: the answer's rendering replaces it.
      await page.evaluate(() => document.querySelector("#audit-table table")?.setAttribute("data-stale", ""));
      await set();
      await answered;
      const state = async () => {
        const shown = await shownTotal();
        const cells = await rows.evaluateAll((trs) =>
          trs.map((tr) => [tr.children[2]?.textContent ?? "", tr.children[3]?.textContent ?? ""]),
        );
        const text = (await page.locator("#audit-table").textContent()) ?? "";
        return {
          rendered: (await page.locator("#audit-table table[data-stale]").count()) === 0,
          totalAsTheApi: shown >= before && shown <= (await apiTotal(q)),
          kinds: [...new Set(cells.map(([k]) => k))],
          otherActors: q.actor ? cells.filter(([, a]) => !a!.includes(q.actor!)).length : 0,
          missing: own.filter((id) => !text.includes(id)),
        };
      };
      await expect
        .poll(state)
        .toEqual({ rendered: true, totalAsTheApi: true, kinds: [q.kind], otherActors: 0, missing: [] });
    };
    await filter(
      { kind: "baseline.decide" },
      () => page.selectOption("#audit-kind", "baseline.decide"),
      rec.decisions,
    );
    const de = credential("de").participantId;
    await filter({ kind: "assessment.create" }, () => page.selectOption("#audit-kind", "assessment.create"), [
      ...rec.given.de,
      ...rec.given.fr,
    ]);
    await filter(
      { kind: "assessment.create", actor: de },
      () => page.selectOption("#audit-actor", { label: `Bundeskriminalamt (DE) (${de})` }),
      rec.given.de,
    );
    // The subject box asks the node after a pause in typing: wait for that answer, so the row
    // opened below is not replaced by it.
    await filter(
      { kind: "assessment.create", actor: de, subject: "asm_" },
      () => page.fill("#audit-subject", "asm_"),
      rec.given.de,
    );
    await rows.first().locator("summary").click();
    const record = rows.first().locator("pre");
    await record.waitFor();
    expect(await record.textContent()).toContain('"kind": "assessment.create"');
    await shot(page, "11-coordinator-audit");
    await expectAccessible(page);
  });

  it("platform: rotates its own key in the browser and keeps working with the new one", async () => {
    const { page } = by.platform!;
    const oldKid = (await page.evaluate(() => document.querySelector("#session-who")?.textContent)) ?? "";
    expect(oldKid).toContain("Demo Social");
    await open(page, "/console/key");
    await page.getByRole("button", { name: "Rotate my key…" }).click();
    await confirmDialog(page, { kind: "participant.key.add" });
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("link", { name: "Download the new key file" }).click(),
    ]);
    const file = path.join(keysDir, "downloaded-rotated-platform.json");
    await download.saveAs(file);
    await page.getByRole("button", { name: "Retire the old key…" }).click();
    await confirmDialog(page, { kind: "participant.key.retire", fill: { reason: "scheduled rotation" } });
    const keys = page.locator("#key-table tbody tr");
    await expect.poll(() => keys.filter({ hasText: "retired" }).count()).toBe(1);
    expect(await keys.filter({ hasText: "(this browser)" }).textContent()).toContain("active");
    await shot(page, "12-platform-key-rotated");
    await expectAccessible(page);
    // Signed reads work with the new key.
    await open(page, "/console/match");
    await expect.poll(() => page.locator("#reversals-table").textContent()).toContain(entry.shapes);
    // The old key file no longer signs in; the new one does.
    const other = await signInWithFile(file, /\/console\/match$/);
    await expect.poll(() => other.page.textContent("#session-who")).toContain("Demo Social");
    // Its tab serves the public next (statistics).
    await signOut(other);
  });

  it("statistics: public, aggregate figures and charts reflect what happened", async () => {
    const { page } = await visitorPage();
    type Stats = {
      submissions: { total: number; byStatus: Record<string, number> };
      baseline: { total: number; included: number; disputed: number };
      assessments: { concur: number; dissent: number };
      disputes: { open: number; raised: number };
      reversals: { withdrawn: number; reversed: number; byGround: Record<string, number> };
      decisions: Record<string, number>;
      feedback: { falsePositive: number };
      byMemberState: Record<string, string | number>[];
    };
    // The key figures and the per-member-state table are the API's figures at that moment.
    const stats = await settled(
      async () => {
        await open(page, "/console/stats");
        return {
          figures: await page
            .locator("dl.figures .figure")
            .evaluateAll((fs) =>
              fs
                .slice(0, 5)
                .map((f) =>
                  [".big", ".detail"].map((c) => f.querySelector(c)?.textContent ?? "").join(" | "),
                ),
            ),
          states: await page
            .locator("#stats-states tbody tr")
            .evaluateAll((trs) =>
              trs.map((tr) => Array.from(tr.children, (c) => c.textContent ?? "").slice(0, 9)),
            ),
        };
      },
      async () => (await (await fetch(`${base}/v1/stats`)).json()) as Stats,
      (s) => ({
        figures: [
          `${s.baseline.total} | ${s.baseline.included} included, ${s.baseline.disputed} disputed`,
          `${s.submissions.total} | ${s.submissions.byStatus.live ?? 0} live`,
          `${s.assessments.concur + s.assessments.dissent} | ${s.assessments.concur} concur, ${s.assessments.dissent} dissent`,
          `${s.disputes.open} | open now; ${s.disputes.raised} raised in all`,
          `${s.reversals.withdrawn + s.reversals.reversed} | ${s.reversals.withdrawn} withdrawn, ${s.reversals.reversed} reversed`,
        ],
        states: s.byMemberState.map((m) =>
          [
            m.memberState,
            m.submissions,
            m.baselineEntries,
            m.withdrawn,
            m.reversed,
            m.concurrences,
            m.dissents,
            m.truePositive,
            m.falsePositive,
          ].map(String),
        ),
      }),
    );
    // The page `settled` loaded last: public, with its charts.
    expect(await page.textContent("#session-who")).toBe("Not signed in");
    expect(await page.locator("svg#chart-states").count()).toBe(1);
    // What this file did is counted (other files add theirs to the same node).
    expect(stats.submissions.total).toBeGreaterThanOrEqual(4);
    expect(stats.submissions.byStatus.reversed).toBeGreaterThanOrEqual(1);
    expect(stats.decisions.include).toBeGreaterThanOrEqual(2);
    expect(stats.decisions.retire).toBeGreaterThanOrEqual(1);
    expect(stats.disputes.raised).toBeGreaterThanOrEqual(1);
    expect(stats.feedback.falsePositive).toBeGreaterThanOrEqual(1);
    expect(stats.reversals.byGround.court_ruling).toBeGreaterThanOrEqual(1);
    const text = (await page.textContent("main")) ?? "";
    for (const id of [entry.shapes, entry.md5, shapesHash]) expect(text).not.toContain(id);
    await shot(page, "13-public-statistics");
    await expectAccessible(page);
  });

  it("statistics: each reported entry's error rate says too few reports instead of a rate", async () => {
    const { page } = by.visitor!;
    const section = page.locator("#error-rates");
    expect(await section.getByRole("heading", { name: "Measured error rates" }).count()).toBe(1);
    type Rate = { reports: number; truePositive: number; falsePositive: number; summary: string };
    type Rates = {
      baseline: { allTime: Rate; last90Days: Rate };
      entries: { label: string; allTime: Rate & { falsePositiveRate: number | null }; last90Days: Rate }[];
    };
    const cells = (r: Rate) => [r.reports, r.truePositive, r.falsePositive, r.summary].map(String);
    // Every row is the API's, in its order.
    const rates = await settled(
      async () => {
        await open(page, "/console/stats");
        const rows = (sel: string) =>
          page
            .locator(`${sel} tbody tr`)
            .evaluateAll((trs) => trs.map((tr) => Array.from(tr.children, (c) => c.textContent ?? "")));
        return { baseline: await rows("#error-rates-baseline"), entries: await rows("#error-rates-entries") };
      },
      async () => ((await (await fetch(`${base}/v1/stats`)).json()) as { errorRates: Rates }).errorRates,
      (r) => ({
        baseline: [
          ["All time", ...cells(r.baseline.allTime)],
          ["Last 90 days", ...cells(r.baseline.last90Days)],
        ],
        entries:
          r.entries.length === 0
            ? [["No reports yet."]]
            : r.entries.map((e, i) => [String(i + 1), e.label, ...cells(e.allTime), e.last90Days.summary]),
      }),
    );
    // This file's one report (a false positive on the entry since reversed): not 100 %, not 0 %,
    // and the entry's one state worded as on every other page.
    const ours = page
      .locator("#error-rates-entries tbody tr")
      .filter({ hasText: "reversed (was retired)" })
      .filter({ hasText: "too few reports (1 of 3 needed)" });
    expect(await ours.count()).toBeGreaterThanOrEqual(1);
    expect(await ours.first().textContent()).not.toContain("%");
    const api = rates.entries.find((e) => e.label === "reversed (was retired)" && e.allTime.reports === 1);
    expect(api?.allTime).toMatchObject({ falsePositive: 1, falsePositiveRate: null, interval: null });
  });

  it("authority: its TCO Art. 8 report, figures per quarter traceable to signed records, as CSV and on paper", async () => {
    const { page } = by.nl!;
    await open(page, "/console/reports");
    const table = page.locator("#report-table");
    await table.waitFor();
    // An authority has no choice of whose report: its own.
    expect(await page.locator("#report-authority-label").isHidden()).toBe(true);
    expect(await page.locator("#report-state-label").isHidden()).toBe(true);
    expect(await page.locator("#report-body h2").textContent()).toContain("(NL)");
    const year = new Date().getUTCFullYear();
    const q = Math.floor(new Date().getUTCMonth() / 3);
    /** label → [Q1..Q4, year] as shown. */
    const shown = () => reportShown(page);
    // The figures are the API's at that moment; everything of this run is of this quarter.
    const report = await settled(
      () => reshowReport(page),
      () => reportApi("nl", {}),
      reportValues,
    );
    for (const [label, values] of Object.entries(reportValues(report)))
      expect(
        values.slice(0, 4).filter((_, i) => i !== q),
        label,
      ).toEqual([0, 0, 0]);
    const records = (key: string) => report.figures.find((f) => f.key === key)!.quarters[q]!.records;
    // What NL did and what happened to its hashes in this run, figure by figure (other files add theirs).
    expect(records("submitted")).toContain(rec.submit);
    for (const id of rec.received) expect(records("assessedByOthers")).toContain(id); // DE 3 + FR 2, then DE's dissent
    for (const id of rec.decisions.slice(0, 2)) expect(records("included")).toContain(id);
    expect(records("disputed")).toContain(rec.given.de.at(-1));
    expect(records("reversedCourtRuling")).toContain(rec.reverse);
    expect(records("falsePositive")).toContain(rec.feedback);
    expect(records("matchesReported")).toContain(rec.feedback);
    const chart = page.locator(".report-charts svg[role=img]");
    const submittedFigure = report.figures.find((f) => f.key === "submitted")!;
    expect(await chart.locator("desc").textContent()).toContain(
      `Hashes submitted: ${["Q1", "Q2", "Q3", "Q4"].map((l, i) => `${l} ${submittedFigure.quarters[i]!.value}`).join(", ")}`,
    );
    expect(await chart.locator("rect").count()).toBeGreaterThan(6);
    await shot(page, "14-authority-tco-report");
    await expectAccessible(page);

    // Every figure's records, as the page lists them, are the signed records it counts: the
    // authority fetches each and finds the kind the figure counts.
    const client = new EusnClient({ ...JSON.parse(readFileSync(keyFile("nl"), "utf8")), baseUrl: base });
    const kindsOf = async (label: string, own: string[]) => {
      const cell = table
        .locator("tbody tr")
        .filter({ has: page.getByRole("rowheader", { name: label, exact: true }) });
      await cell.locator("summary").click();
      const ids = [...new Set(await cell.locator("details code").allTextContents())];
      for (const id of own) expect(ids, label).toContain(id);
      const kinds = new Set<string>();
      for (const id of ids) {
        const res = await client.get<string>(`/v1/records/${id}`);
        if (!res.ok) throw new Error(`${id}: ${res.status}`);
        kinds.add(JSON.parse(Buffer.from(res.data.split(".")[1]!, "base64url").toString()).kind);
      }
      return [...kinds].sort();
    };
    // (A selection decided with one signature is one batch record: the large network's.)
    expect(await kindsOf("Hashes submitted", [rec.submit])).toEqual(["submission.create"]);
    expect(["baseline.decide", "baseline.decide.batch"]).toEqual(
      expect.arrayContaining(await kindsOf("Included in the baseline", rec.decisions.slice(0, 2))),
    );
    expect(["assessment.batch", "assessment.create"]).toEqual(
      expect.arrayContaining(await kindsOf("Disputed", [rec.given.de.at(-1)!])),
    );
    expect(await kindsOf("Reversed: court ruling", [rec.reverse])).toEqual(["submission.reverse"]);
    expect(await kindsOf("Reported false positives", [rec.feedback])).toEqual(["feedback.create"]);
    expect(["assessment.batch", "assessment.create"]).toEqual(
      expect.arrayContaining(await kindsOf("Assessments received", rec.received)),
    );

    // The CSV download is the same report.
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Download CSV" }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`tco-report-${year}.csv`);
    const saved = path.join(keysDir, "downloaded-tco-report.csv");
    await download.saveAs(saved);
    const csv = readFileSync(saved, "utf8");
    expect(csv.split("\n")[0]).toBe("figure,label,quarter,value,records");
    const csvRow = (key: string) =>
      csv.split("\n").find((l) => l.startsWith(`${key},`) && l.includes(",year,"));
    // The figures when it was made (another file may have added to them since the table).
    expect(Number(csvRow("submitted")!.split(",")[3])).toBeGreaterThanOrEqual(submittedFigure.total);
    expect(csvRow("submitted")).toContain(rec.submit);
    expect(csvRow("reversedCourtRuling")).toContain(rec.reverse);

    // On paper: the form, navigation and record lists go; the chart and the figures stay.
    await page.emulateMedia({ media: "print" });
    expect(await page.locator("#report-form").isHidden()).toBe(true);
    expect(await page.locator("header.top").isHidden()).toBe(true);
    expect(await page.locator("details.records").first().isHidden()).toBe(true);
    expect(await table.isVisible()).toBe(true);
    expect(await chart.isVisible()).toBe(true);
    const pdf = await page.pdf({ format: "A4" });
    expect(pdf.subarray(0, 5).toString()).toBe("%PDF-");
    await shot(page, "15-authority-tco-report-print");
    await page.emulateMedia({ media: "screen" });

    // A part of the year: up to the start of today, none of this run's records count.
    const today = new Date().toISOString().slice(0, 10);
    if (today !== `${year}-01-01`) {
      await page.fill("#report-to", today);
      await page.getByRole("button", { name: "Show" }).click();
      await expect
        .poll(() => page.locator("#report-body h2").textContent())
        .toContain(`${year}-01-01 to ${today} (exclusive)`);
      expect((await shown())["Hashes submitted"]).toEqual([0, 0, 0, 0, 0]);
      expect(await table.locator("thead").textContent()).toContain("Period");
      await page.fill("#report-to", "");
    }
  });

  it("coordinator: a member state's report and one authority's; a platform has none", async () => {
    const { page } = by.coordinator!;
    await open(page, "/console/reports");
    await page.locator("#report-table").waitFor();
    expect(await page.locator("#report-body h2").textContent()).toContain("every authority on this node");
    const given = (r: Report) =>
      r.figures.find((f) => f.key === "assessed")!.quarters.flatMap((c) => c.records);
    const submitted = (r: Report) =>
      r.figures.find((f) => f.key === "submitted")!.quarters.flatMap((c) => c.records);
    // Every authority: NL's hashes; DE's and FR's assessments, as the API counts them now.
    const all = await settled(
      () => reshowReport(page),
      () => reportApi("coordinator", {}),
      reportValues,
    );
    expect(submitted(all)).toContain(rec.submit);
    for (const id of [...rec.given.de, ...rec.given.fr]) expect(given(all)).toContain(id);
    await page.selectOption("#report-state", "DE");
    const de = await settled(
      () => reshowReport(page),
      () => reportApi("coordinator", { memberState: "DE" }),
      reportValues,
    );
    expect(await page.locator("#report-body h2").textContent()).toContain("the competent authorities of DE");
    expect(await page.locator("#report-authorities").textContent()).toContain("Bundeskriminalamt");
    expect(submitted(de)).not.toContain(rec.submit);
    for (const id of rec.given.de) expect(given(de)).toContain(id);
    for (const id of rec.given.fr) expect(given(de)).not.toContain(id);
    // Choosing an authority clears the member state: FR's report.
    await page.selectOption("#report-authority", credential("fr").participantId);
    expect(await page.locator("#report-state").inputValue()).toBe("");
    const fr = await settled(
      () => reshowReport(page),
      () => reportApi("coordinator", { authority: credential("fr").participantId }),
      reportValues,
    );
    expect(await page.locator("#report-body h2").textContent()).toContain("(FR)");
    for (const id of rec.given.fr) expect(given(fr)).toContain(id);
    for (const id of rec.given.de) expect(given(fr)).not.toContain(id);
    await shot(page, "16-coordinator-tco-report");
    await expectAccessible(page);

    const platform = by.platform!;
    await open(platform.page, "/console/reports");
    expect(await platform.page.locator("#gate").textContent()).toContain("authority");
  });

  it("bulk: authorities concur on a selection with one signature; the coordinator includes the selection with one", async () => {
    // Three fresh entries by NL through the API (the flows above made theirs in the browser).
    const cred = JSON.parse(readFileSync(keyFile("nl"), "utf8"));
    const nl = new EusnClient({ ...cred, baseUrl: base });
    // One hash prefix for the three, to find them by among thousands.
    const prefix = "e2eb5a3c";
    const values = ["a", "b", "c"].map((c) => `${prefix}${"5a3c".repeat(13)}${c}${c}2e`);
    const sub = await nl.write<{ submissions: { id: string }[] }>("/v1/submissions", "submission.create", {
      items: values.map((value) => ({
        signalType: "pdq",
        value,
        quality: 90,
        limbs: ["a"],
        contentType: "image",
        nationalProvision: "NL Sr. art. 421",
      })),
    });
    if (!sub.ok) throw new Error(JSON.stringify(sub.problem));
    const ids = sub.data.submissions.map((x) => x.id);

    for (const slug of ["de", "fr"] as const) {
      const { page } = by[slug]!;
      await open(page, "/console/assess");
      const table = page.locator("#awaiting-table");
      await searchQueue(page, "awaiting-table", prefix);
      expect((await queueIds(page, "awaiting-table")).sort()).toEqual([...ids].sort());
      const status = page.locator("#awaiting-table-selected");
      const rows = await table.locator("tbody tr").count();
      // Select all on this page, then none, then exactly the three.
      await page.getByLabel("Select all on this page").check();
      await expect.poll(() => status.textContent()).toBe(`${rows} selected`);
      await page.getByLabel("Select all on this page").uncheck();
      await expect.poll(() => status.textContent()).toBe("none selected");
      for (const id of ids) await page.getByLabel(`Select ${id}`, { exact: true }).check();
      await expect.poll(() => status.textContent()).toBe("3 selected");
      if (slug === "de") {
        await shot(page, "17-authority-bulk-selection");
        await expectAccessible(page);
      }
      await page.getByRole("button", { name: "Concur with selected (3)…" }).click();
      // The dialog lists exactly the selection and shows the one record that will be signed.
      await expect.poll(() => page.getByRole("dialog").isVisible()).toBe(true);
      await expect.poll(() => page.textContent("#confirm-preview")).toContain('"items"');
      const listed = await page
        .locator("[data-bulk-list] li")
        .evaluateAll((lis) => lis.map((li) => li.getAttribute("data-entry")));
      // In the queue's order (entries made in the same millisecond sort by their random part).
      expect([...listed].sort()).toEqual([...ids].sort());
      const record = JSON.parse((await page.textContent("#confirm-preview")) ?? "{}") as {
        items: { submissionId: string; verdict: string; limb: string }[];
      };
      // The record carries the selection in the dialog's order, each with the verdict and limb.
      expect(record.items.map((i) => i.submissionId)).toEqual(listed);
      for (const i of record.items) expect(i).toMatchObject({ verdict: "concur", limb: "a" });
      await confirmDialog(page, {
        kind: "assessment.batch",
        fill: { reason: `${slug.toUpperCase()} concurs: limb (a)` },
        ...(slug === "de" ? { screenshot: "18-authority-bulk-confirm" } : {}),
      });
      for (const id of ids) await expect.poll(() => table.textContent()).not.toContain(id);
    }

    const { page } = by.coordinator!;
    await open(page, "/console/curation");
    const eligible = page.locator("#queue-eligible-table");
    await searchQueue(page, "queue-eligible-table", prefix);
    expect((await queueIds(page, "queue-eligible-table")).sort()).toEqual([...ids].sort());
    for (const id of ids) await eligible.getByLabel(`Select ${id}`, { exact: true }).check();
    await eligible.getByRole("button", { name: "Include selected (3)…" }).click();
    // The inclusion's citations are fetched first: the dialog opens when they are in.
    await expect.poll(() => page.textContent("#confirm-preview")).toContain('"assessmentIds"');
    const record = JSON.parse((await page.textContent("#confirm-preview")) ?? "{}") as {
      decision: string;
      items: { submissionId: string; assessmentIds: string[] }[];
    };
    expect(record.decision).toBe("include");
    expect(record.items.map((i) => i.submissionId).sort()).toEqual([...ids].sort());
    // Each entry cites its own two live concurrences (DE's and FR's).
    for (const i of record.items) expect(i.assessmentIds).toHaveLength(2);
    await confirmDialog(page, {
      kind: "baseline.decide.batch",
      fill: { reason: "NL, DE and FR concur (limb a)" },
      screenshot: "19-coordinator-bulk-include-confirm",
    });
    for (const id of ids) await expect.poll(() => eligible.textContent()).not.toContain(id);
    await open(page, `/console/entries/${ids[2]}`);
    await expect.poll(() => page.locator("[data-field=Status]").textContent()).toContain("included");
  });

  it("pages for another role or without a key say so instead of loading", async () => {
    const { page } = by.visitor!;
    await open(page, "/console/curation");
    expect(await page.locator("#gate").textContent()).toContain("Sign in");
    expect(await page.locator("#page-body").isHidden()).toBe(true);
    const platform = by.platform!;
    await open(platform.page, "/console/audit");
    expect(await platform.page.locator("#gate").textContent()).toContain("for the coordinator role");
  });

  it("axe finds no violation on any console page: every page each role's navigation offers, an entry, the 404 page", {
    // About 35 page loads, each with axe's full run.
    timeout: 300_000,
  }, async () => {
    // Every page the console serves (workers/console/*.tsx), as its route.
    const routes = new Set<string>();
    for (const f of readdirSync(CONSOLE_SRC).filter((f) => f.endsWith(".tsx")))
      for (const m of readFileSync(path.join(CONSOLE_SRC, f), "utf8").matchAll(
        /app\.get\("(\/console[^"]*)"/g,
      ))
        routes.add(m[1]!);
    const routeOf = (href: string) =>
      routes.has(href)
        ? href
        : /^\/console\/entries\/[^/]+$/.test(href)
          ? "/console/entries/:id"
          : "/console/*";
    const checked = new Map<string, string[]>();
    const check = async (slug: string, page: Page, href: string) => {
      const r = routeOf(href);
      // Checked already in this role's tab by the flows above (with what they left on the page).
      if (!axeChecked.get(page)?.has(href)) {
        await open(page, href).catch(async (e: Error) => {
          await shot(page, `axe-failed-${slug}-${href.replaceAll("/", "_")}`);
          throw new Error(`${slug} opening ${href}: ${e.message}`);
        });
        await expectAccessible(page);
      }
      checked.set(r, [...(checked.get(r) ?? []), slug]);
    };
    const someEntry =
      entry.shapes ||
      (
        await must(
          client("coordinator").get<{ submissions: { id: string }[] }>("/v1/submissions?scope=all&limit=1"),
        )
      ).submissions[0]?.id;
    // One authority (DE's pages are NL's with other rows; the flows above check DE's queue).
    for (const slug of ["visitor", "coordinator", "nl", "platform"] as const) {
      const { page } = by[slug] ?? (slug === "visitor" ? await visitorPage() : await as(slug));
      // The navigation is the same on every console page: read where the tab is (the flows above
      // left each on one), else on the sign-in page.
      if (!page.url().startsWith(`${base}/console`)) await open(page, "/console");
      const hrefs = await page
        .locator("header.top nav li:not([hidden]) a")
        .evaluateAll((as) => as.map((a) => a.getAttribute("href") ?? ""));
      expect(hrefs.length, slug).toBeGreaterThan(1);
      for (const href of hrefs) await check(slug, page, href);
      if (slug === "coordinator" || slug === "nl") await check(slug, page, `/console/entries/${someEntry}`);
      // A page for another role answers its gate, in the same frame.
      if (slug === "platform") await check(slug, page, "/console/curation");
    }
    const visitor = by.visitor!;
    const reported = visitor.watch.problems.length;
    await check("visitor", visitor.page, "/console/no-such-page");
    expect(await visitor.page.locator("h1").textContent()).toContain("Page not found");
    // Chromium logs the page's own 404 status as an error: expected here, and only that.
    expect(visitor.watch.problems.splice(reported)).toEqual([
      expect.stringMatching(/status of 404 \(Not Found\) \(.*\/console\/no-such-page\)$/),
    ]);
    // The check can fail: an unlabelled field on the page is a violation.
    await visitor.page.evaluate(() =>
      document.querySelector("main")?.insertAdjacentHTML("beforeend", "<input>"),
    );
    await expect(expectAccessible(visitor.page)).rejects.toThrow(/"id": "label"/);
    // Every route was checked at least once (a new page: add it to a role's navigation or above).
    expect([...routes].filter((r) => !checked.has(r))).toEqual([]);
    process.stderr.write(
      `[e2e] axe: ${[...checked.values()].flat().length} pages of ${checked.size} routes by role, no violation\n`,
    );
  });

  it("no page reported a CSP violation or a script error along the way", () => {
    expect(b.problems()).toEqual([]);
  });
});
