// The console's browser module (bundled by scripts/build-console.ts into
// /console/assets/console.js). Every page is a server-rendered shell with `data-page`; this
// module restores the session (the non-extractable key in IndexedDB), shows the navigation for
// the participant's role, and runs the page's code.
import { ApiProblem, forgetToken } from "./api.ts";
import { $, flash, h, link, replace } from "./dom.ts";
import { refreshIncidentBanner } from "./incident-banner.ts";
import assess from "./pages/assess.ts";
import audit from "./pages/audit.ts";
import curation from "./pages/curation.ts";
import entries from "./pages/entries.ts";
import entry from "./pages/entry.ts";
import evidence from "./pages/evidence.ts";
import incidents from "./pages/incidents.ts";
import key from "./pages/key.ts";
import match from "./pages/match.ts";
import participants from "./pages/participants.ts";
import reports from "./pages/reports.ts";
import review from "./pages/review.ts";
import signals from "./pages/signals.ts";
import signin from "./pages/signin.ts";
import submit from "./pages/submit.ts";
import webhooks from "./pages/webhooks.ts";
import { clearSession, loadSession, type Session } from "./session.ts";

type PageInit = (s: Session | null) => Promise<void> | void;

const PAGES: Record<string, PageInit> = {
  reports,
  signin,
  curation,
  entries,
  entry,
  participants,
  review,
  audit,
  submit,
  assess,
  match,
  signals,
  key,
  webhooks,
  evidence,
  incidents,
};

function showSession(s: Session | null) {
  const who = $("session-who");
  const out = $("sign-out") as HTMLButtonElement;
  if (s) {
    replace(
      who,
      "Signed in: ",
      h("strong", {}, s.displayName),
      ` (${s.role}${s.memberState ? `, ${s.memberState}` : ""}) `,
      h("code", {}, s.participantId),
    );
    out.hidden = false;
    out.addEventListener("click", async () => {
      await clearSession();
      forgetToken();
      location.assign("/console");
    });
  } else {
    replace(who, "Not signed in");
    out.hidden = true;
  }
  for (const li of Array.from(document.querySelectorAll<HTMLElement>("[data-nav-roles]"))) {
    const roles = (li.dataset.navRoles ?? "").split(" ").filter(Boolean);
    const needsSession = li.dataset.navSignedIn === "1";
    li.hidden = roles.length > 0 ? !s || !roles.includes(s.role) : needsSession ? !s : false;
  }
}

function gate(...msg: (string | Node)[]) {
  const g = $("gate");
  replace(g, ...msg);
  g.hidden = false;
  $("page-body").hidden = true;
}

async function boot() {
  const s = await loadSession();
  showSession(s);
  // The crisis banner, beside the page's own load (a failure to read it must not stop the page).
  const banner = refreshIncidentBanner(s).catch(() => {});
  const page = document.body.dataset.page ?? "";
  const roles = (document.body.dataset.roles ?? "").split(" ").filter(Boolean);
  try {
    if (roles.length > 0 && !s) {
      gate("This page needs a participant key. ", link("/console", "Sign in"), " first.");
    } else if (roles.length > 0 && s && !roles.includes(s.role)) {
      gate(`This page is for the ${roles.join(" or ")} role; you are signed in as a ${s.role}.`);
    } else {
      await PAGES[page]?.(s);
    }
  } catch (e) {
    flash(
      `Could not load this page: ${e instanceof ApiProblem ? e.describe() : String((e as Error).message)}`,
      "error",
    );
  } finally {
    await banner;
    // Tests (and impatient people) can tell the page has finished its first load.
    document.body.dataset.ready = "1";
  }
}

void boot();
