// Helpers for the console e2e tests: wait until global setup has the node and Chromium ready,
// connect to that Chromium, open a
// page signed in as a demo participant (through the real sign-in form), drop files the way a
// person drags them from the desktop, run axe-core, watch for CSP violations, take screenshots.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, expect, inject } from "vitest";
import { AXE_ASSET } from "./global-setup.ts";

export const ARTIFACTS = path.resolve(import.meta.dirname, "../../test-artifacts/e2e");
export const FIXTURES = path.resolve(import.meta.dirname, "../fixtures/pdq");

export const skip = inject("e2eSkip");
export const base = skip ? "" : inject("e2eBaseUrl");
export const keysDir = skip ? "" : inject("e2eKeysDir");

/**
 * Global setup prepares the node and Chromium while other files run; a loaded CI machine is slow.
 * E2E_READY_TIMEOUT_S raises the wait on a machine shared with other heavy jobs.
 */
export const STEP_TIMEOUT = Number(process.env.E2E_STEP_TIMEOUT_S ?? 15) * 1000;
export const READY_TIMEOUT = Number(process.env.E2E_READY_TIMEOUT_S ?? 240) * 1000;

/**
 * Waits for the file global setup writes when the node is seeded and Chromium is up, and returns
 * Chromium's endpoint; throws setup's error if it failed. `largeReady()` waits for the large
 * network too (global-setup.ts, step 6).
 */
export async function ready(file = inject("e2eReadyFile")): Promise<{ wsEndpoint: string }> {
  const deadline = Date.now() + READY_TIMEOUT;
  while (!existsSync(file)) {
    if (Date.now() > deadline)
      throw new Error(`e2e global setup was not ready after ${READY_TIMEOUT / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const state = JSON.parse(readFileSync(file, "utf8")) as { wsEndpoint: string } | { error: string };
  if ("error" in state) throw new Error(`e2e global setup failed: ${state.error}`);
  return state;
}

/** `ready()`, and the large network seeded (only large.test.ts needs it). */
export function largeReady(): Promise<{ wsEndpoint: string }> {
  return ready(inject("e2eLargeReadyFile"));
}

export type Slug = "coordinator" | "coordinator-2" | "nl" | "de" | "fr" | "platform" | "video";

/** A key file written by global setup: a participant's (`Slug`) or e.g. "platform-enc". */
export function keyFile(slug: Slug | "platform-enc"): string {
  return path.join(keysDir, `${slug}.json`);
}

export function credential(slug: Slug): { participantId: string; privateJwk: { d: string } } {
  return JSON.parse(readFileSync(keyFile(slug), "utf8"));
}

/** Waits for global setup (`ready`, or `largeReady`), then connects to its Chromium. */
export async function connect(opts: { largeNetwork?: boolean } = {}): Promise<Browser> {
  return chromium.connect((await (opts.largeNetwork ? largeReady() : ready())).wsEndpoint);
}

/** Everything a page reported that the tests treat as a failure: CSP violations, script errors. */
export type Watch = { problems: string[]; requests: { url: string; body: string; headers: string }[] };

export async function newPage(browser: Browser): Promise<Tab> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, acceptDownloads: true });
  // Fail a stuck step with Playwright's own message well inside the test's timeout
  // (E2E_STEP_TIMEOUT_S, default 15, raises it on a machine shared with other heavy jobs).
  context.setDefaultTimeout(STEP_TIMEOUT);
  context.setDefaultNavigationTimeout(2 * STEP_TIMEOUT);
  const page = await context.newPage();
  const watch: Watch = { problems: [], requests: [] };
  page.on("console", (m) => {
    if (m.type() === "error") watch.problems.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on("pageerror", (e) => watch.problems.push(`pageerror: ${e.message}`));
  page.on("request", (r) =>
    watch.requests.push({ url: r.url(), body: r.postData() ?? "", headers: JSON.stringify(r.headers()) }),
  );
  return { context, page, watch };
}

/** A tab of its own (a browser context: its own storage, so its own session). */
export type Tab = { context: BrowserContext; page: Page; watch: Watch };

/**
 * One e2e file's browser, the preamble every file shares: connects to global setup's Chromium
 * before the file's first test (waiting for setup to be ready) and disconnects after its last;
 * `as(slug)` gives the participant's signed-in tab, signing in through the form the first time
 * only (a flow that acts as the same participant again continues in the same tab, as a person
 * does); `tab()` a new tab nobody signed in on; `problems()` what any of them reported.
 * `largeNetwork` waits for the large network (global-setup.ts, step 6) as well.
 * Call it in a `describe` callback.
 */
export function useBrowser(opts: { largeNetwork?: boolean } = {}) {
  let browser: Browser | undefined;
  const tabs: Tab[] = [];
  const signedIn = new Map<Slug, Promise<Tab>>();
  beforeAll(async () => {
    browser = await connect(opts);
  }, READY_TIMEOUT + 30_000);
  afterAll(async () => {
    await browser?.close();
  });
  const tab = async (): Promise<Tab> => {
    if (!browser) throw new Error("useBrowser: not connected (call it in a describe callback)");
    const t = await newPage(browser);
    tabs.push(t);
    return t;
  };
  return {
    get browser(): Browser {
      if (!browser) throw new Error("useBrowser: not connected");
      return browser;
    },
    tab,
    /** The participant's tab, signed in through the form (once per file). */
    as(slug: Slug): Promise<Tab> {
      let t = signedIn.get(slug);
      if (!t) {
        t = tab().then(async (t) => {
          await signIn(t.page, slug);
          return t;
        });
        signedIn.set(slug, t);
      }
      return t;
    },
    /** The CSP violations and script errors every tab of the file reported so far. */
    problems: () => tabs.flatMap((t) => t.watch.problems),
  };
}

/** Navigates and waits until the browser module finished the page's first load. */
export async function open(page: Page, pathname: string) {
  await page.goto(`${base}${pathname}`);
  await page.waitForSelector("body[data-ready='1']");
}

/**
 * `open`, unless the tab shows that page already, loaded: e.g. the role's home page, where signing
 * in lands. A page load costs Chromium more CPU than most steps of a flow.
 */
export async function openUnlessThere(page: Page, pathname: string) {
  const there =
    new URL(page.url()).pathname === pathname && (await page.locator("body[data-ready='1']").count()) === 1;
  if (!there) await open(page, pathname);
}

/** Signs in through the form by loading the participant's key file, as a person would. */
export async function signIn(page: Page, slug: Slug) {
  await open(page, "/console");
  await page.setInputFiles("#key-file", keyFile(slug));
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/console\/(curation|assess|match)$/);
  await page.waitForSelector("body[data-ready='1']");
  await expect.poll(() => page.textContent("#session-who")).toContain("Signed in");
}

/** Dispatches dragover + drop with real File objects, as a drag from the file manager does. */
export async function dropFiles(page: Page, selector: string, files: string[]) {
  const payload = files.map((f) => ({
    name: path.basename(f),
    type: f.endsWith(".png") ? "image/png" : f.endsWith(".jpg") ? "image/jpeg" : "application/octet-stream",
    b64: readFileSync(f).toString("base64"),
  }));
  const dt = await page.evaluateHandle((list) => {
    const dt = new DataTransfer();
    for (const f of list) {
      const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
      dt.items.add(new File([bytes], f.name, { type: f.type }));
    }
    return dt;
  }, payload);
  await page.dispatchEvent(selector, "dragover", { dataTransfer: dt });
  await page.dispatchEvent(selector, "drop", { dataTransfer: dt });
}

export async function shot(page: Page, name: string) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** The paths axe checked on each page (tab) so far, passed or not. */
export const axeChecked = new WeakMap<Page, Set<string>>();

/** axe-core (WCAG 2.0, 2.1 and 2.2 A and AA rules) on the current page; any violation fails. */
export async function expectAccessible(page: Page) {
  const checked = axeChecked.get(page) ?? new Set<string>();
  axeChecked.set(page, checked);
  checked.add(new URL(page.url()).pathname);
  // Loaded as a script of the page, once per document (global-setup.ts, AXE_ASSET); its tag is
  // removed again, so axe checks the page as it was.
  if (!(await page.evaluate(() => "axe" in globalThis)))
    await (await page.addScriptTag({ url: AXE_ASSET })).evaluate((tag) => (tag as Element).remove());
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: {
          run: (
            ctx: unknown,
            opts: unknown,
          ) => Promise<{
            violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[];
          }>;
        };
      }
    ).axe;
    const r = await axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] },
      // Every rule still runs on every node; only the violations are then collected with their
      // selectors (passes and the like, never read here, are the slow part of axe's report).
      resultTypes: ["violations"],
    });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
    }));
  });
  if (violations.length > 0)
    throw new Error(`axe-core on ${page.url()}:\n${JSON.stringify(violations, null, 2)}`);
}

/**
 * Clicks through the confirmation dialog: fills the given fields, checks that the preview shows
 * the record kind, signs, and returns the record id the node answered with.
 */
export async function confirmDialog(
  page: Page,
  opts: { kind: string; fill?: Record<string, string>; select?: Record<string, string>; screenshot?: string },
): Promise<string> {
  const dialog = page.getByRole("dialog");
  await expect.poll(() => dialog.isVisible()).toBe(true);
  expect(await page.textContent("#confirm-kind")).toBe(opts.kind);
  for (const [name, value] of Object.entries(opts.select ?? {}))
    await dialog.locator(`[name="${name}"]`).selectOption(value);
  for (const [name, value] of Object.entries(opts.fill ?? {}))
    await dialog.locator(`[name="${name}"]`).fill(value);
  if (opts.screenshot) await shot(page, opts.screenshot);
  await dialog.getByRole("button", { name: "Sign and send" }).click();
  const id = dialog.locator("#confirm-record-id");
  await id.waitFor({ timeout: 15_000 }).catch(async () => {
    throw new Error(`no record id; dialog says: ${await page.textContent("#confirm-error")}`);
  });
  const recordId = (await id.textContent()) ?? "";
  expect(recordId).toMatch(/^rec_[0-9a-z]+$/);
  await dialog.getByRole("button", { name: "Close" }).click();
  await expect.poll(() => dialog.isVisible()).toBe(false);
  // The page keeps showing the record id after the dialog closed.
  await expect.poll(() => page.textContent("#flash")).toContain(recordId);
  return recordId;
}

/**
 * Does `act` on a work queue of the page (workers/console/web/queue.ts: `#<host>` holds its
 * filters, status line, table and pager) and waits until the node's answer is shown: the table
 * shown before is marked, and the answer's rendering replaces it.
 */
export async function queueLoad(page: Page, host: string, act: () => Promise<unknown>) {
  await page.evaluate(
    (h) => document.querySelector(`#${h} > .table > *`)?.setAttribute("data-stale", ""),
    host,
  );
  await act();
  await page.locator(`#${host} > .table > :not([data-stale])`).waitFor();
  await expect.poll(() => page.locator(`#${host} [aria-busy]`).count()).toBe(0);
}

/** The entry ids a queue shows, in its order. */
export async function queueIds(page: Page, host: string): Promise<string[]> {
  return page
    .locator(`#${host} tbody tr`)
    .evaluateAll((trs) => trs.map((tr) => /hsh_[0-9a-z]+/.exec(tr.textContent ?? "")?.[0] ?? ""));
}

/** The queue's total as the node answered it (the count line says the same, formatted). */
export async function queueTotal(page: Page, host: string): Promise<number> {
  return Number(await page.locator(`#${host}`).getAttribute("data-total"));
}

/** Opens a queue's "Filter, sort, search" box if it is folded. */
export async function openFilters(page: Page, host: string) {
  const box = page.locator(`#${host} > details.filters-box`);
  if ((await box.getAttribute("open")) === null) await box.locator("summary").click();
}

/** Searches a queue by an entry id or a hash prefix and waits for the answer. */
export async function searchQueue(page: Page, host: string, q: string) {
  await openFilters(page, host);
  await queueLoad(page, host, () => page.locator(`#${host} input[name=q]`).fill(q));
}

/** Chooses an option of one of a queue's filters (or its sort) and waits for the answer. */
export async function chooseInQueue(page: Page, host: string, name: string, value: string) {
  await openFilters(page, host);
  await queueLoad(page, host, () => page.locator(`#${host} select[name=${name}]`).selectOption(value));
}
