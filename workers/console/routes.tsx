/** @jsxImportSource hono/jsx */
// /console/*: the web console's pages, rendered on the server. They are shells: everything that
// needs the participant's key (reads with a bearer token, signed writes) is done by the browser
// module calling the same JSON API as the CLI. No page reads or changes anything on the caller's
// behalf, so the console adds no way around the API's rules. The statistics page is the
// exception: it is public and rendered here from the same aggregates as GET /v1/stats.
import {
  CONTENT_TYPES,
  EU_MEMBER_STATES,
  MAX_WEEKS,
  SubmissionId,
  TCO_LIMBS,
  TLP_LEVELS,
  WeeklyStatsQuery,
} from "@eusn/protocol";
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../api/lib/hono.ts";
import { router } from "../api/lib/hono.ts";
import { computeStats } from "../api/store/stats.ts";
import { weeklyStats } from "../api/store/stats-weekly.ts";
import { consoleEvidence } from "./evidence-page.tsx";
import { consoleIncidents } from "./incidents-page.tsx";
import { DropZone, Layout, Section } from "./layout.tsx";
import { consoleReports } from "./reports-page.tsx";
import { StatsBody } from "./stats-page.tsx";
import { WeeklySection } from "./stats-weekly.tsx";

const app = router();

/**
 * Strict CSP for every console page: scripts only from this origin (the one module; no inline
 * script, no eval), styles only from the stylesheet, fetches only to this node, no framing.
 * `img-src data:` is for nothing but the browser's own form controls; images dropped for hashing
 * are decoded from memory and never displayed. `media-src blob:` lets the case-file viewer play a
 * video it decrypted in the page (an object URL the page made itself; nothing is fetched).
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "media-src blob:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

const securityHeaders: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  c.res.headers.set("content-security-policy", CONSOLE_CSP);
  c.res.headers.set("referrer-policy", "no-referrer");
  c.res.headers.set("x-frame-options", "DENY");
  c.res.headers.set("cross-origin-opener-policy", "same-origin");
  c.res.headers.set("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=()");
  if (!c.res.headers.has("cache-control")) c.res.headers.set("cache-control", "no-cache");
};
app.use("/console", securityHeaders);
app.use("/console/*", securityHeaders);

const LegalBasisFields = () => (
  <fieldset>
    <legend>Legal basis (applies to every hash in this batch)</legend>
    <fieldset class="inline">
      <legend>TCO Art 2(7) limbs (choose each that applies; none is chosen for you)</legend>
      {TCO_LIMBS.map((l) => (
        <label class="check">
          <input type="checkbox" name="limbs" value={l} /> ({l})
        </label>
      ))}
    </fieldset>
    <p class="hint">
      (a) incites, (b) solicits to commit or contribute, (c) solicits participation in a group's activities,
      (d) instructs on weapons or methods, (e) threatens to commit a terrorist offence.
    </p>
    <div class="grid">
      <label>
        National provision <input name="nationalProvision" required minlength={2} maxlength={300} />
      </label>
      <label>
        Content type{" "}
        <select name="contentType">
          {CONTENT_TYPES.map((t) => (
            <option value={t}>{t}</option>
          ))}
        </select>
      </label>
      <label>
        TLP marking{" "}
        <select name="tlp">
          <option value="">none</option>
          {TLP_LEVELS.map((t) => (
            <option value={t}>TLP:{t.toUpperCase()}</option>
          ))}
        </select>
      </label>
      <label>
        Expires (optional) <input type="date" name="expiresOn" />
      </label>
    </div>
    <label>
      Note (optional) <textarea name="note" rows={2} maxlength={1000} />
    </label>
    <label class="check">
      <input type="checkbox" name="force" /> Submit PDQ hashes below quality 50 anyway (they are flagged
      low-quality)
    </label>
  </fieldset>
);

const HashPaste = ({ id, help }: { id: string; help: string }) => (
  <div class="paste">
    <label for={`${id}-text`}>…or paste hashes, one per line</label>
    <p class="hint" id={`${id}-help`}>
      {help}
    </p>
    <textarea id={`${id}-text`} rows={4} spellcheck={false} aria-describedby={`${id}-help`} />
    <button type="button" id={`${id}-add`}>
      Add pasted hashes
    </button>
  </div>
);

export function consoleSignIn(c: Context<AppEnv>) {
  return c.html(
    <Layout title="Sign in" page="signin" path="/console">
      <section aria-labelledby="signin-h" id="signin">
        <h2 id="signin-h">Load your key</h2>
        <p>
          Sign in by loading your participant key file (as written by <code>npm start</code> or handed over
          when you were admitted) or by pasting your private JWK. The key is imported into this browser as a{" "}
          <strong>non-extractable</strong> WebCrypto key and kept in this browser's storage until you sign
          out; it is never sent to the node. Every request is signed here.
        </p>
        <form id="signin-form" novalidate>
          <div class="drop" data-drop-target="key">
            <label for="key-file">Key file (JSON)</label>{" "}
            <input type="file" id="key-file" accept=".json,application/json" />
            <p class="hint">You can also drop the key file here.</p>
          </div>
          <label for="key-text">…or paste the key file or private JWK</label>
          <textarea id="key-text" rows={5} spellcheck={false} autocomplete="off" />
          <p>
            <button type="submit" class="primary" id="signin-submit">
              Sign in
            </button>
          </p>
          <p id="signin-error" class="error" role="alert" />
        </form>
      </section>
      <section aria-labelledby="whoami-h" id="whoami" hidden>
        <h2 id="whoami-h">Signed in</h2>
        <dl id="whoami-list" class="kv" />
        <p id="whoami-links" />
      </section>
    </Layout>,
  );
}
app.get("/console", consoleSignIn);

/**
 * The period of the "Over time" section: `weeks=N` (the last N weeks) or `from`/`to` (UTC days),
 * checked by the API's own query schema; anything else shows the last 12 weeks and says why.
 */
function weeklyPeriod(c: Context<AppEnv>): { from: string; to: string; error?: string } {
  const today = new Date().toISOString().slice(0, 10);
  const back = (weeks: number, to: string) =>
    new Date(Date.parse(`${to}T00:00:00Z`) - (weeks - 1) * 7 * 86_400_000).toISOString().slice(0, 10);
  const weeks = c.req.query("weeks");
  if (weeks !== undefined) {
    const n = Number(weeks);
    if (Number.isInteger(n) && n >= 1 && n <= MAX_WEEKS) return { from: back(n, today), to: today };
    return {
      from: back(12, today),
      to: today,
      error: `weeks must be 1 to ${MAX_WEEKS}: showing the last 12`,
    };
  }
  const q = WeeklyStatsQuery.safeParse({
    from: c.req.query("from") || undefined,
    to: c.req.query("to") || undefined,
  });
  if (!q.success)
    return {
      from: back(12, today),
      to: today,
      error: "the period needs two days (YYYY-MM-DD): showing the last 12 weeks",
    };
  const to = q.data.to ?? today;
  const from = q.data.from ?? back(12, to);
  if (from > to)
    return {
      from: back(12, today),
      to: today,
      error: "the period starts after it ends: showing the last 12 weeks",
    };
  if (Date.parse(to) - Date.parse(from) > (MAX_WEEKS - 1) * 7 * 86_400_000)
    return {
      from: back(MAX_WEEKS, to),
      to,
      error: `at most ${MAX_WEEKS} weeks: showing the last ${MAX_WEEKS} up to ${to}`,
    };
  return { from, to };
}

export async function consoleStats(c: Context<AppEnv>) {
  const period = weeklyPeriod(c);
  const [stats, weekly] = await Promise.all([
    computeStats(c.var.db, c.env),
    weeklyStats(c.var.db, period.from, period.to),
  ]);
  return c.html(
    <Layout title="Statistics" page="stats" path="/console/stats">
      <StatsBody stats={stats} />
      <WeeklySection stats={weekly} error={period.error} from={period.from} to={period.to} />
    </Layout>,
  );
}
app.get("/console/stats", consoleStats);

export function consoleCuration(c: Context<AppEnv>) {
  return c.html(
    <Layout title="Curation queue" page="curation" path="/console/curation" roles={["coordinator"]}>
      <p>
        Entries waiting for a coordinator. Open an entry to see its signed history and decide. The node only
        accepts an inclusion when the entry is eligible and the decision cites concurrences that reach the
        quorum.
      </p>
      <Section id="queue-eligible" title="Eligible for the baseline">
        <div class="table" id="queue-eligible-table" />
      </Section>
      <Section id="queue-disputed" title="Disputed (a dissent after inclusion)">
        <div class="table" id="queue-disputed-table" />
      </Section>
      <Section id="queue-flagged" title="Flagged by platform feedback">
        <div class="table" id="queue-flagged-table" />
      </Section>
    </Layout>,
  );
}
app.get("/console/curation", consoleCuration);

export function consoleEntries(c: Context<AppEnv>) {
  return c.html(
    <Layout title="Entries" page="entries" path="/console/entries" roles={["coordinator", "authority"]}>
      <p>
        Every entry on this node, a page at a time: filter by state, flag, member state, TCO limb, TLP,
        submitter or day, sort, or search by an entry id or the start of a hash.
      </p>
      <div id="entries-table" />
    </Layout>,
  );
}
app.get("/console/entries", consoleEntries);

/**
 * An entry's case files (docs/evidence.md): those wrapped for the reader, and for the submitter of
 * a live entry the form that encrypts the material in the page and attaches it
 * (web/evidence-attach.ts). The file never leaves the browser in clear.
 */
const EntryCaseFiles = () => (
  <Section id="entry-evidence" title="Case files">
    <div class="table" id="entry-evidence-list" />
    <form id="evidence-attach-form" novalidate hidden>
      <p class="hint">
        Attach the material behind your entry, with its context, for the assessors of other member states. It
        is encrypted in this page with a fresh key, which is wrapped for each recipient's key-wrapping key:
        the node stores only ciphertext (25 MB per image, 500 MB per video).
      </p>
      <label>
        Image or video (MP4) file{" "}
        <input type="file" id="evidence-attach-file" name="file" accept="image/*,video/mp4,.mp4" />
      </label>
      <label>
        Where it was found <input type="text" name="foundOn" maxlength={100} />
      </label>
      <label>
        When it was found <input type="text" name="foundAt" maxlength={2000} />
      </label>
      <label>
        Language <input type="text" name="language" maxlength={35} />
      </label>
      <label>
        Description or translation <textarea name="description" rows={3} maxlength={20000} />
      </label>
      <label>
        National case reference <input type="text" name="caseReference" maxlength={200} />
      </label>
      <fieldset>
        <legend>Who may open it</legend>
        <label class="check">
          <input type="radio" name="audience" value="all" checked /> Every active authority with a
          key-wrapping key
        </label>
        <label class="check">
          <input type="radio" name="audience" value="states" /> Only the authorities of my member state and
          of:
        </label>
        <div id="evidence-attach-states" class="inline" />
      </fieldset>
      <button type="submit" class="primary" id="evidence-attach-submit">
        Encrypt and attach…
      </button>
      <p id="evidence-attach-status" role="status" />
    </form>
  </Section>
);

export function consoleEntry(c: Context<AppEnv, "/console/entries/:id">) {
  const id = c.req.param("id");
  const ok = SubmissionId.safeParse(id).success;
  return c.html(
    <Layout
      title={`Entry ${ok ? id : "(invalid id)"}`}
      page="entry"
      path="/console/entries"
      roles={["coordinator", "authority"]}
      data={{ entry: ok ? id : "" }}
    >
      <div id="entry-summary" />
      <Section id="entry-actions" title="Actions">
        <div id="entry-action-buttons" class="buttons" />
      </Section>
      <Section id="entry-matches" title="Matches">
        <div class="table" id="entry-matches-table" />
      </Section>
      <EntryCaseFiles />
      <Section id="entry-history" title="Signed history">
        <p class="hint">
          Every record about this entry, exactly as signed. Signatures are checked in this browser against the
          issuer's published keys.
        </p>
        <div class="table" id="entry-history-table" />
      </Section>
    </Layout>,
    ok ? 200 : 404,
  );
}
app.get("/console/entries/:id", consoleEntry);

export function consoleParticipants(c: Context<AppEnv>) {
  return c.html(
    <Layout
      title="Participants"
      page="participants"
      path="/console/participants"
      roles={["coordinator", "authority"]}
    >
      <Section id="participants-list" title="Registry">
        <div class="table" id="participants-table" />
      </Section>
      <Section id="registry-requests" title="Waiting for a second signature">
        <p class="hint">
          No coordinator admits anyone, or revokes an authority or a coordinator, alone: the request takes
          effect only with a second signature — another coordinator's; for an authority also an active
          authority's of the same member state; for a coordinator's revocation also an active authority's.
        </p>
        <div class="table" id="requests-table" />
      </Section>
      <Section id="admit" title="Admit a participant">
        <form id="admit-form" novalidate>
          <div class="grid">
            <label>
              Role{" "}
              <select name="role" id="admit-role">
                <option value="authority">authority</option>
                <option value="platform">platform</option>
                <option value="coordinator">coordinator</option>
              </select>
            </label>
            <label>
              Member state (authorities){" "}
              <select name="memberState" id="admit-state">
                {EU_MEMBER_STATES.map((s) => (
                  <option value={s}>{s}</option>
                ))}
              </select>
            </label>
            <label>
              Display name <input name="displayName" id="admit-name" required minlength={2} maxlength={120} />
            </label>
          </div>
          <fieldset>
            <legend>The participant's public key</legend>
            <p class="hint">
              The participant makes its own key pair (<code>eusn keygen</code>, or "My key" in its own
              browser) and sends you the public half: its private key never leaves it. Paste the public JWK or
              choose the file it sent; check the key id shown with the participant by another channel before
              you sign.
            </p>
            <label>
              Public JWK file <input type="file" id="admit-jwk-file" accept=".json,application/json" />
            </label>
            <label>
              Public JWK <textarea name="publicJwk" id="admit-jwk" rows={3} spellcheck={false} required />
            </label>
            <p id="admit-kid" class="hint" aria-live="polite" />
          </fieldset>
          <button type="submit" class="primary" id="admit-submit">
            Review and admit…
          </button>
        </form>
        <div id="admit-download" />
      </Section>
    </Layout>,
  );
}
app.get("/console/participants", consoleParticipants);

export function consoleAudit(c: Context<AppEnv>) {
  return c.html(
    <Layout title="Audit trail" page="audit" path="/console/audit" roles={["coordinator"]}>
      <form id="audit-filters" class="grid" novalidate>
        <label>
          Kind{" "}
          <select name="kind" id="audit-kind">
            <option value="">any</option>
          </select>
        </label>
        <label>
          Actor{" "}
          <select name="actor" id="audit-actor">
            <option value="">anyone</option>
          </select>
        </label>
        <label>
          Subject id starts with <input name="subject" id="audit-subject" spellcheck={false} />
        </label>
        <label>
          From <input type="date" name="from" id="audit-from" />
        </label>
        <label>
          To <input type="date" name="to" id="audit-to" />
        </label>
      </form>
      <p id="audit-count" aria-live="polite" />
      <div class="table" id="audit-table" />
      <p>
        <button type="button" id="audit-more">
          Load older entries
        </button>
      </p>
    </Layout>,
  );
}
app.get("/console/audit", consoleAudit);
app.get("/console/reports", consoleReports);
app.get("/console/evidence", consoleEvidence);
app.get("/console/incidents", consoleIncidents);

export function consoleSubmit(c: Context<AppEnv>) {
  return c.html(
    <Layout title="Submit hashes" page="submit" path="/console/submit" roles={["authority"]}>
      <form id="submit-form" novalidate>
        <Section id="submit-hashes" title="Hashes">
          <DropZone id="submit" label="Image or video files" video />
          <label class="check">
            <input type="checkbox" id="submit-sha256" /> Also submit each file's SHA-256 (exact copies)
          </label>
          <HashPaste
            id="submit-paste"
            help="PDQ as `hash,quality` (what `eusn hash` prints; a header line is skipped); MD5 as 32 hex characters; SHA-256 as 64 hex characters without a quality."
          />
          <div class="table" id="submit-items" />
        </Section>
        {/* Filled by the browser module when an incident is active: the tag that makes the
            batch provisional (web/pages/submit.ts). */}
        <fieldset id="submit-incident" hidden />
        <LegalBasisFields />
        <p>
          <button type="submit" class="primary" id="submit-review">
            Review and submit…
          </button>
        </p>
      </form>
      <Section id="submit-results" title="Last submission">
        <div class="table" id="submit-results-table" />
      </Section>
    </Layout>,
  );
}
app.get("/console/submit", consoleSubmit);

export function consoleAssess(c: Context<AppEnv>) {
  return c.html(
    <Layout title="Assessments" page="assess" path="/console/assess" roles={["authority"]}>
      <Section id="awaiting" title="Awaiting my assessment">
        <p class="hint">
          Other authorities' live submissions that you have not assessed. Concur or dissent with the TCO limb
          and your reason; a later assessment replaces your earlier one.
        </p>
        <div class="table" id="awaiting-table" />
      </Section>
      <Section id="mine" title="My submissions">
        <div class="table" id="mine-table" />
      </Section>
    </Layout>,
  );
}
app.get("/console/assess", consoleAssess);

export function consoleMatch(c: Context<AppEnv>) {
  return c.html(
    <Layout title="Match" page="match" path="/console/match" roles={["platform"]}>
      <form id="match-form" novalidate>
        <DropZone id="match" label="Image or video files" video />
        <HashPaste
          id="match-paste"
          help="PDQ as 64 hex characters (optionally `hash,quality`); MD5 as 32 hex characters; prefix SHA-256 with `sha256:`."
        />
        <div class="table" id="match-items" />
        <fieldset class="inline">
          <legend>Options</legend>
          <label>
            Scope{" "}
            <select name="scope" id="match-scope">
              <option value="baseline">baseline (highest confidence)</option>
              <option value="all">all live submissions</option>
            </select>
          </label>
          <label>
            PDQ distance threshold{" "}
            <input type="number" name="threshold" id="match-threshold" min={0} max={63} value="31" />
          </label>
          <label class="check">
            <input type="checkbox" name="dihedral" id="match-dihedral" /> Also match rotated and mirrored
            copies of dropped images (variants pasted from <code>eusn hash --dihedral</code> are always
            matched)
          </label>
          <label class="check">
            <input type="checkbox" name="keep" id="match-keep" /> Keep the results in my{" "}
            <a href="/console/review">review queue</a> on the node (each matched entry with the file name or
            the pasted line's label as your reference; the hashes are not kept)
          </label>
        </fieldset>
        <p>
          <button type="submit" class="primary" id="match-run">
            Match
          </button>
        </p>
      </form>
      <Section id="match-results" title="Results">
        <div id="match-results-body" />
      </Section>
      <Section id="reversals" title="Reversals of entries you matched">
        <p class="hint">
          Withdrawn, reversed or excluded entries you matched before, and provisional entries of a crisis
          incident that lapsed: content removed because of them may need to be restored.
        </p>
        <div class="table" id="reversals-table" />
      </Section>
    </Layout>,
  );
}
app.get("/console/match", consoleMatch);

export function consoleReview(c: Context<AppEnv>) {
  return c.html(
    <Layout title="Review queue" page="review" path="/console/review" roles={["platform"]}>
      <p>
        Match results you chose to keep (tick "Keep the results" on the{" "}
        <a href="/console/match">match page</a>): each matched entry with your own reference for the content,
        never the hashes. Report an outcome to close an item; kept results are deleted{" "}
        <span id="review-retention">some days</span> after their last match.
      </p>
      <form id="review-filters" class="filters" novalidate>
        <label>
          Show{" "}
          <select name="status" id="review-status">
            <option value="open">open (no outcome yet)</option>
            <option value="done">done</option>
            <option value="all">all</option>
          </select>
        </label>
        <label>
          Reference starts with <input type="search" name="ref" id="review-ref" spellcheck={false} />
        </label>
      </form>
      <p id="review-count" class="queue-status" role="status" />
      <div class="table" id="review-table" />
      <nav class="pager" aria-label="Pages of the review queue">
        <button type="button" id="review-prev">
          ‹ Previous
        </button>
        <button type="button" id="review-next">
          Next ›
        </button>
      </nav>
      <Section id="review-export" title="Export">
        <p class="hint">The queue as CSV (RFC 4180), with the filter above.</p>
        <div class="buttons" id="review-export-buttons">
          <button type="button" id="review-export-make">
            Prepare CSV…
          </button>
        </div>
      </Section>
    </Layout>,
  );
}
app.get("/console/review", consoleReview);

export function consoleWebhooks(c: Context<AppEnv>) {
  return c.html(
    <Layout
      title="Webhooks"
      page="webhooks"
      path="/console/webhooks"
      roles={["coordinator", "authority", "platform"]}
    >
      <p>
        Instead of polling, have the node push events to you: each delivery is a POST whose body is a JWS
        signed by the node key, retried with growing delays until your receiver answers 2xx (see{" "}
        <code>docs/webhooks.md</code>; <code>eusn webhook verify</code> checks a delivery).
      </p>
      <Section id="webhook-add" title="Register a webhook">
        <form id="webhook-form" novalidate>
          <label>
            Receiver URL (https){" "}
            <input name="url" id="webhook-url" type="url" required maxlength={2000} spellcheck={false} />
          </label>
          <fieldset class="inline" id="webhook-events" />
          <label>
            Label (optional) <input name="label" id="webhook-label" maxlength={200} />
          </label>
          <p>
            <button type="submit" class="primary" id="webhook-submit">
              Register…
            </button>
          </p>
          <p id="webhook-form-error" class="error" role="alert" />
        </form>
      </Section>
      <Section id="webhook-list" title="Your webhooks">
        <p>
          <button type="button" id="webhook-refresh">
            Refresh
          </button>
        </p>
        <div class="table" id="webhook-table" />
      </Section>
      <section aria-labelledby="webhook-deliveries-h" id="webhook-deliveries-section" hidden>
        <h2 id="webhook-deliveries-h">Deliveries</h2>
        <div class="table" id="webhook-deliveries" />
      </section>
    </Layout>,
  );
}
app.get("/console/webhooks", consoleWebhooks);

export function consoleSignals(c: Context<AppEnv>) {
  return c.html(
    <Layout title="Signal lookup" page="signals" path="/console/signals" roles={["platform"]}>
      <div id="signals-body" />
    </Layout>,
  );
}
app.get("/console/signals", consoleSignals);

export function consoleKey(c: Context<AppEnv>) {
  return c.html(
    <Layout title="My key" page="key" path="/console/key" roles={["coordinator", "authority", "platform"]}>
      <Section id="key-info" title="This participant">
        <dl id="key-participant" class="kv" />
        <div class="table" id="key-table" />
      </Section>
      <Section id="key-rotate" title="Rotate my key">
        <ol>
          <li>
            A new key pair is generated in this browser and registered with a record signed by your key.
          </li>
          <li>You download the new key file; the console switches to the new key.</li>
          <li>
            You retire the old key with a record signed by the new one. Records signed before stay valid.
          </li>
        </ol>
        <div class="buttons" id="rotate-buttons">
          <button type="button" id="rotate-start">
            Rotate my key…
          </button>
        </div>
        <div id="rotate-status" />
      </Section>
    </Layout>,
  );
}
app.get("/console/key", consoleKey);

/** The node's front door is the console: people who open the node's address land on sign-in. */
export function rootRedirect(c: Context<AppEnv>) {
  return c.redirect("/console", 302);
}
app.get("/", rootRedirect);

/**
 * Any other path under /console: a page in the console's frame saying so, with the way back,
 * instead of the API's problem JSON (which is for programs, not for a person who mistyped).
 */
export function consoleNotFound(c: Context<AppEnv>) {
  const path = new URL(c.req.url).pathname;
  return c.html(
    <Layout title="Page not found" page="notfound" path="">
      <p>
        There is no console page at <code>{path}</code>.
      </p>
      <ul>
        <li>
          <a href="/console">Sign in</a> to see the pages for your role, or
        </li>
        <li>
          open the public <a href="/console/stats">statistics</a>, or the <a href="/docs">API reference</a>.
        </li>
      </ul>
    </Layout>,
    404,
  );
}
app.get("/console/*", consoleNotFound);

export default app;
