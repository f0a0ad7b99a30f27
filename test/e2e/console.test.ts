// The web console end to end, in real headless Chromium against a real local node (wrangler dev,
// local D1): each role signs in by loading its key file and completes its main flows through the
// pages and the confirmation dialog. Screenshots go to test-artifacts/e2e/.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { EusnClient, generateParticipantKey } from "@eusn/client";
import { hammingDistance, type PdqHex } from "@eusn/pdq";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  base,
  confirmDialog,
  connect,
  credential,
  dropFiles,
  expectAccessible,
  FIXTURES,
  keyFile,
  keysDir,
  newPage,
  open,
  READY_TIMEOUT,
  shot,
  signIn,
  skip,
  type Watch,
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

const d = skip ? describe.skip : describe;
if (skip) it.skip(`console e2e skipped: ${skip}`, () => {});

d("the console", () => {
  let browser: Browser;
  const pages: { page: Page; watch: Watch }[] = [];
  const entry = { shapes: "", checker: "", md5: "" };
  const shapesHash = reference.get("shapes-1024x768.png")!.hash;

  const by: Record<string, { page: Page; watch: Watch }> = {};
  async function as(slug: Parameters<typeof signIn>[1]) {
    const p = await newPage(browser);
    pages.push(p);
    by[slug] = p;
    await signIn(p.page, slug);
    return p;
  }

  // Also waits for global setup, which starts the node and Chromium beside the other files' tests.
  beforeAll(async () => {
    browser = await connect();
  }, READY_TIMEOUT + 30_000);
  afterAll(async () => {
    await browser?.close();
  });

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
    await confirmDialog(page, { kind: "submission.create", screenshot: "02-authority-submit-confirm" });
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
    await expect.poll(() => page.locator("#awaiting-table tbody tr").count()).toBe(4);
    await page.getByRole("button", { name: `Concur with ${entry.shapes}` }).click();
    await confirmDialog(page, {
      kind: "assessment.create",
      fill: { reason: "Glorifies an attack; DE StGB § 91" },
      screenshot: "03-authority-assess-confirm",
    });
    // The queue reloads after each assessment: wait for it to drop the entry before clicking a
    // button in it again (a click on a row being replaced was lost once, on a loaded CI run).
    await expect.poll(() => page.locator("#awaiting-table tbody tr").count()).toBe(3);
    await page.getByRole("button", { name: `Concur with ${entry.checker}` }).click();
    await confirmDialog(page, { kind: "assessment.create", fill: { reason: "Recruitment poster (limb c)" } });
    await expect.poll(() => page.locator("#awaiting-table tbody tr").count()).toBe(2);
    await page.getByRole("button", { name: `Dissent from ${entry.md5}` }).click();
    await confirmDialog(page, {
      kind: "assessment.create",
      fill: { reason: "Not enough context to assess" },
    });
    await expect.poll(() => page.locator("#awaiting-table tbody tr").count()).toBe(1);
    await shot(page, "04-authority-assess");

    // FR works the dialog with the keyboard only; Escape cancels without sending anything.
    const fr = await as("fr");
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
    await fr.page.keyboard.press("Enter"); // "Close" has the focus
    await expect.poll(() => fr.page.getByRole("dialog").isVisible()).toBe(false);
    await expect.poll(() => fr.page.locator("#awaiting-table").textContent()).not.toContain(entry.shapes);
    await fr.page.getByRole("button", { name: `Concur with ${entry.checker}` }).click();
    await confirmDialog(fr.page, { kind: "assessment.create" });
  });

  it("coordinator: finds the entry eligible, checks its signed history, includes it", async () => {
    const { page } = await as("coordinator");
    const eligible = page.locator("#queue-eligible-table");
    await expect.poll(() => eligible.textContent()).toContain(entry.shapes);
    expect(await page.locator("#queue-disputed-table").textContent()).toContain("Nothing waiting.");
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
    await confirmDialog(page, {
      kind: "baseline.decide",
      fill: { reason: "NL, DE and FR assess it as terrorist content (limb a)" },
      screenshot: "06-coordinator-include-confirm",
    });
    await expect.poll(() => page.locator("[data-field=Status]").textContent()).toContain("included");
    await expect.poll(() => page.locator("#entry-history-table tbody tr").count()).toBe(4);
    await shot(page, "07-coordinator-entry");
    await expectAccessible(page);
    // The checkerboard too: it stays in the baseline to the end.
    await open(page, `/console/entries/${entry.checker}`);
    await page.getByRole("button", { name: "Include…" }).click();
    await confirmDialog(page, { kind: "baseline.decide", fill: { reason: "NL, DE and FR concur" } });
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
    const row = result.locator("tbody tr").first();
    const distance = Number((await row.locator("td").nth(1).textContent())?.split(" ")[0]);
    expect(distance).toBeLessThanOrEqual(31);
    expect(await row.textContent()).toContain("included");
    // The MD5 entry is not in the baseline (DE dissented): no match in the default scope.
    expect(await page.locator("section.result").nth(1).textContent()).toContain("No match.");
    expect(await page.locator("#match-results-body").textContent()).toContain("human review");
    await shot(page, "08-platform-match");
    await expectAccessible(page);
    await row.getByRole("button", { name: `Report outcome for ${entry.shapes}` }).click();
    await confirmDialog(page, {
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
    await confirmDialog(de.page, {
      kind: "assessment.create",
      fill: { reason: "Court found it is reporting" },
    });

    const coord = by.coordinator!;
    await open(coord.page, "/console/curation");
    await expect
      .poll(() => coord.page.locator("#queue-disputed-table").textContent())
      .toContain(entry.shapes);
    await coord.page.locator("#queue-disputed-table").getByRole("link", { name: entry.shapes }).click();
    await coord.page.waitForSelector("body[data-ready='1']");
    expect(await coord.page.locator("#entry-matches-table").textContent()).toContain("Demo Social");
    await coord.page.getByRole("button", { name: "Retire…" }).click();
    await confirmDialog(coord.page, {
      kind: "baseline.decide",
      fill: { reason: "Disputed by DE after a ruling" },
    });
    await expect.poll(() => coord.page.locator("[data-field=Status]").textContent()).toContain("retired");
    await coord.page.getByRole("button", { name: "Reverse…" }).click();
    await confirmDialog(coord.page, {
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

    // The second coordinator signs in and gives it its second signature.
    const second = await as("coordinator-2");
    await open(second.page, "/console/participants");
    await second.page.getByRole("button", { name: "Countersign the admission of Video Host" }).click();
    await confirmDialog(second.page, { kind: "participant.countersign" });
    await expect.poll(() => second.page.locator("#participants-table").textContent()).toContain("Video Host");
    await expect.poll(() => second.page.locator("#requests-table").textContent()).not.toContain("Video Host");

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
    const newcomer = await newPage(browser);
    pages.push(newcomer);
    await open(newcomer.page, "/console");
    await newcomer.page.setInputFiles("#key-file", file);
    await newcomer.page.getByRole("button", { name: "Sign in" }).click();
    await newcomer.page.waitForURL(/\/console\/match$/);
    await expect.poll(() => newcomer.page.textContent("#session-who")).toContain("Video Host");

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
    await open(page, "/console/audit");
    const rows = page.locator("#audit-table tbody tr");
    await expect.poll(() => rows.count()).toBeGreaterThan(15);
    await page.selectOption("#audit-kind", "baseline.decide");
    await expect.poll(() => rows.count()).toBe(3);
    await page.selectOption("#audit-kind", "assessment.create");
    await page.selectOption("#audit-actor", {
      label: `Bundeskriminalamt (DE) (${credential("de").participantId})`,
    });
    await expect.poll(() => rows.count()).toBe(4);
    // The subject box asks the node after a pause in typing: wait for that answer, so the row
    // opened below is not replaced by it.
    const filtered = page.waitForResponse((r) => r.url().includes("subject=asm_"));
    await page.fill("#audit-subject", "asm_");
    await filtered;
    await expect.poll(() => page.locator("#audit-count").textContent()).toContain("of 4 matching");
    await expect.poll(() => rows.count()).toBe(4);
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
    const other = await newPage(browser);
    pages.push(other);
    await open(other.page, "/console");
    await other.page.setInputFiles("#key-file", file);
    await other.page.getByRole("button", { name: "Sign in" }).click();
    await other.page.waitForURL(/\/console\/match$/);
  });

  it("statistics: public, aggregate figures and charts reflect what happened", async () => {
    const visitor = await newPage(browser);
    pages.push(visitor);
    by.visitor = visitor;
    const { page } = visitor;
    await open(page, "/console/stats");
    expect(await page.textContent("#session-who")).toBe("Not signed in");
    const text = (await page.textContent("main")) ?? "";
    expect(text).toContain("Baseline entries");
    expect(await page.locator("svg#chart-states").count()).toBe(1);
    const stats = (await (await fetch(`${base}/v1/stats`)).json()) as Record<string, Record<string, unknown>>;
    expect(stats.submissions).toMatchObject({ total: 4, byStatus: { live: 3, reversed: 1 } });
    expect(stats.decisions).toMatchObject({ include: 2, retire: 1 });
    expect(stats.baseline).toMatchObject({ total: 1, byMemberState: { NL: 1 }, byLimb: { a: 1, c: 1 } });
    expect(stats.disputes).toMatchObject({ raised: 1 });
    expect(stats.feedback).toMatchObject({ falsePositive: 1, falsePositiveRate: 1 });
    expect(stats.reversals).toMatchObject({ reversed: 1, byGround: { court_ruling: 1 } });
    for (const id of [entry.shapes, entry.md5, shapesHash]) expect(text).not.toContain(id);
    await shot(page, "13-public-statistics");
    await expectAccessible(page);
  });

  it("statistics: each reported entry's error rate says too few reports instead of a rate", async () => {
    const { page } = by.visitor!;
    const section = page.locator("#error-rates");
    expect(await section.getByRole("heading", { name: "Measured error rates" }).count()).toBe(1);
    // One report (a false positive on the entry since reversed): not 100 %, not 0 %.
    const rows = page.locator("#error-rates-entries tbody tr");
    expect(await rows.count()).toBe(1);
    const row = (await rows.first().textContent()) ?? "";
    // The entry's one state, worded as on every other page.
    expect(row).toContain("reversed (was retired)");
    expect(row).toContain("too few reports (1 of 3 needed)");
    expect(row).not.toContain("%");
    // The baseline now holds the checkerboard only, which nobody reported.
    expect(await page.locator("#error-rates-baseline").textContent()).toContain(
      "too few reports (0 of 3 needed)",
    );
    const stats = (await (await fetch(`${base}/v1/stats`)).json()) as {
      errorRates: { entries: { allTime: { falsePositive: number; falsePositiveRate: number | null } }[] };
    };
    expect(stats.errorRates.entries).toHaveLength(1);
    expect(stats.errorRates.entries[0]!.allTime).toMatchObject({
      falsePositive: 1,
      falsePositiveRate: null,
      interval: null,
    });
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
    const shown = async () =>
      Object.fromEntries(
        await table
          .locator("tbody tr")
          .evaluateAll((trs) =>
            trs.map((tr) => [
              tr.querySelector("th")?.textContent ?? "",
              Array.from(tr.querySelectorAll("td.num"), (td) => Number(td.textContent)),
            ]),
          ),
      ) as Record<string, number[]>;
    const inQuarter = (v: number) => [0, 1, 2, 3].map((i) => (i === q ? v : 0)).concat(v);
    const figures = await shown();
    // What NL did and what happened to its hashes in this run, figure by figure.
    expect(figures).toMatchObject({
      "Hashes submitted": inQuarter(4),
      "Assessments given": inQuarter(0),
      "Assessments received": inQuarter(6), // DE 3 + FR 2, then DE's dissent after inclusion
      "Included in the baseline": inQuarter(2),
      Disputed: inQuarter(1),
      Withdrawn: inQuarter(0),
      Reversed: inQuarter(1),
      "Reversed: court ruling": inQuarter(1),
      "Reversed: complaint upheld": inQuarter(0),
      "Match reports by platforms": inQuarter(1),
      "Reported false positives": inQuarter(1),
      "Reported true positives": inQuarter(0),
    });
    const chart = page.locator(".report-charts svg[role=img]");
    expect(await chart.locator("desc").textContent()).toContain(
      `Hashes submitted: ${["Q1", "Q2", "Q3", "Q4"].map((l, i) => `${l} ${i === q ? 4 : 0}`).join(", ")}`,
    );
    expect(await chart.locator("rect").count()).toBeGreaterThan(6);
    await shot(page, "14-authority-tco-report");
    await expectAccessible(page);

    // Every figure's records, as the page lists them, are the signed records it counts: the
    // authority fetches each and finds the kind the figure counts.
    const client = new EusnClient({ ...JSON.parse(readFileSync(keyFile("nl"), "utf8")), baseUrl: base });
    const kindsOf = async (label: string) => {
      const cell = table
        .locator("tbody tr")
        .filter({ has: page.getByRole("rowheader", { name: label, exact: true }) });
      await cell.locator("summary").click();
      const ids = await cell.locator("details code").allTextContents();
      const kinds: string[] = [];
      for (const id of ids) {
        const res = await client.get<string>(`/v1/records/${id}`);
        if (!res.ok) throw new Error(`${id}: ${res.status}`);
        kinds.push(JSON.parse(Buffer.from(res.data.split(".")[1]!, "base64url").toString()).kind);
      }
      return kinds.sort();
    };
    expect(await kindsOf("Hashes submitted")).toEqual(["submission.create"]); // four hashes, one record
    expect(await kindsOf("Included in the baseline")).toEqual(["baseline.decide", "baseline.decide"]);
    expect(await kindsOf("Disputed")).toEqual(["assessment.create"]);
    expect(await kindsOf("Reversed: court ruling")).toEqual(["submission.reverse"]);
    expect(await kindsOf("Reported false positives")).toEqual(["feedback.create"]);
    expect(await kindsOf("Assessments received")).toEqual(Array(6).fill("assessment.create"));

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
    expect(csv).toMatch(/^submitted,Hashes submitted,year,4,rec_\w+$/m);
    expect(csv).toMatch(/^reversedCourtRuling,Reversed: court ruling,year,1,rec_\w+$/m);

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
    const submitted = () =>
      page
        .locator("#report-table tbody tr")
        .filter({ has: page.getByRole("rowheader", { name: "Hashes submitted", exact: true }) })
        .locator("td.num")
        .last()
        .textContent();
    const given = () =>
      page
        .locator("#report-table tbody tr")
        .filter({ has: page.getByRole("rowheader", { name: "Assessments given", exact: true }) })
        .locator("td.num")
        .last()
        .textContent();
    // Every authority: NL's four hashes; DE's four and FR's two assessments.
    expect(await submitted()).toBe("4");
    expect(await given()).toBe("6");
    await page.selectOption("#report-state", "DE");
    await page.getByRole("button", { name: "Show" }).click();
    await expect
      .poll(() => page.locator("#report-body h2").textContent())
      .toContain("the competent authorities of DE");
    expect(await page.locator("#report-authorities").textContent()).toContain("Bundeskriminalamt");
    expect(await submitted()).toBe("0");
    expect(await given()).toBe("4");
    // Choosing an authority clears the member state: FR's report.
    await page.selectOption("#report-authority", credential("fr").participantId);
    expect(await page.locator("#report-state").inputValue()).toBe("");
    await page.getByRole("button", { name: "Show" }).click();
    await expect.poll(() => page.locator("#report-body h2").textContent()).toContain("(FR)");
    expect(await given()).toBe("2");
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
    const values = ["a", "b", "c"].map((c) => `${c}${"5a3c".repeat(15)}${c}2e`);
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
      for (const id of ids) await expect.poll(() => table.textContent()).toContain(id);
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
    for (const id of ids) await expect.poll(() => eligible.textContent()).toContain(id);
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

  it("no page reported a CSP violation or a script error along the way", () => {
    expect(pages.flatMap((p) => p.watch.problems)).toEqual([]);
  });
});
