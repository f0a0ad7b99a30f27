/** @jsxImportSource hono/jsx */
// The console's page frame: header with the role-aware navigation, the session box, the one
// confirmation dialog every signed write goes through, and the browser module. Server-rendered;
// the module (/console/assets/console.js) fills in what needs the participant's key.
import type { Child, FC } from "hono/jsx";

export type Role = "coordinator" | "authority" | "platform";

type NavItem = { href: string; label: string; roles?: Role[]; signedIn?: boolean };

/** Shown to everyone; items with `roles` appear once the browser module knows who signed in. */
export const NAV: NavItem[] = [
  { href: "/console", label: "Sign in" },
  { href: "/console/curation", label: "Curation queue", roles: ["coordinator"] },
  { href: "/console/entries", label: "Entries", roles: ["coordinator", "authority"] },
  { href: "/console/participants", label: "Participants", roles: ["coordinator", "authority"] },
  { href: "/console/audit", label: "Audit trail", roles: ["coordinator"] },
  { href: "/console/submit", label: "Submit hashes", roles: ["authority"] },
  { href: "/console/assess", label: "Assessments", roles: ["authority"] },
  { href: "/console/evidence", label: "Case files", roles: ["authority", "coordinator"] },
  { href: "/console/incidents", label: "Incidents", roles: ["coordinator"] },
  { href: "/console/match", label: "Match", roles: ["platform"] },
  { href: "/console/review", label: "Review queue", roles: ["platform"] },
  { href: "/console/signals", label: "Signal lookup", roles: ["platform"] },
  { href: "/console/webhooks", label: "Webhooks", signedIn: true },
  { href: "/console/key", label: "My key", signedIn: true },
  { href: "/console/reports", label: "Reports", roles: ["authority", "coordinator"] },
  { href: "/console/stats", label: "Statistics" },
];

export const Layout: FC<{
  title: string;
  page: string;
  path: string;
  /** Roles that may use this page; the module tells others to sign in with the right key. */
  roles?: Role[];
  data?: Record<string, string>;
  children?: Child;
}> = ({ title, page, path, roles, data, children }) => {
  const dataAttrs = Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [`data-${k}`, v]));
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>{title} — EUSN console</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href="/console/assets/console.css" />
        <script type="module" src="/console/assets/console.js" />
      </head>
      <body data-page={page} data-roles={roles?.join(" ") ?? ""} {...dataAttrs}>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <div class="brand">
            <a href="/console">EUSN console</a>
            <span class="sub">EU Signal Network</span>
          </div>
          <nav aria-label="Console">
            <ul>
              {NAV.map((n) => (
                <li
                  data-nav-roles={n.roles?.join(" ") ?? ""}
                  data-nav-signed-in={n.signedIn ? "1" : ""}
                  hidden={!!n.roles || !!n.signedIn}
                >
                  <a href={n.href} aria-current={n.href === path ? "page" : undefined}>
                    {n.label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
          <div id="session-box" class="session" aria-live="polite">
            <span id="session-who">Not signed in</span>{" "}
            <button type="button" id="sign-out" hidden>
              Sign out
            </button>
          </div>
        </header>
        {/* Filled by the browser module for a signed-in participant while a crisis incident is
            active (web/incident-banner.ts): a polite live region, so it is announced once shown. */}
        <div id="incident-banner" class="incident-banner" role="status" aria-live="polite" hidden />
        <main id="main" tabindex={-1}>
          <h1>{title}</h1>
          <div id="gate" class="notice" role="alert" hidden />
          <div id="flash" class="flash" role="status" aria-live="polite" />
          <div id="page-body">{children}</div>
        </main>
        <footer>
          <p>
            Matches and signals are leads for human review, never automatic decisions. Private keys stay in
            this browser: the console signs in the page and sends only signed records.{" "}
            <a href="/docs">API reference</a>
          </p>
        </footer>
        <ConfirmDialog />
      </body>
    </html>
  );
};

/**
 * The confirmation every state change goes through: what will be signed (kind, endpoint, the
 * record itself), optional inputs (reason, limb, …), then the node's answer with the record id.
 * A native <dialog> opened with showModal(): focus moves into it, Escape cancels, the rest of
 * the page is inert while it is open.
 */
const ConfirmDialog: FC = () => (
  <dialog id="confirm-dialog" aria-labelledby="confirm-title" aria-describedby="confirm-intro">
    <form id="confirm-form" method="dialog" novalidate>
      <h2 id="confirm-title">Confirm</h2>
      <p id="confirm-intro" />
      <div id="confirm-fields" />
      <details id="confirm-details" open>
        <summary>
          The record you are about to sign (<span id="confirm-kind" />, <code id="confirm-path" />)
        </summary>
        <pre id="confirm-preview" tabindex={0} />
      </details>
      <p id="confirm-error" class="error" role="alert" />
      <div id="confirm-result" class="result" role="status" />
      <div class="buttons">
        <button type="submit" id="confirm-ok" class="primary">
          Sign and send
        </button>{" "}
        <button type="button" id="confirm-cancel">
          Cancel
        </button>
      </div>
    </form>
  </dialog>
);

/** A section heading with a live count the module fills in. */
export const Section: FC<{ id: string; title: string; children?: Child }> = ({ id, title, children }) => (
  <section aria-labelledby={`${id}-h`} id={id}>
    <h2 id={`${id}-h`}>{title}</h2>
    {children}
  </section>
);

/** Where dropped or chosen image (and, with `video`, MP4 video) files are hashed locally. */
export const DropZone: FC<{ id: string; label: string; video?: boolean }> = ({ id, label, video }) => (
  <div class="drop" id={`${id}-zone`} data-drop-target={id}>
    <p>
      <strong>Drop {video ? "image or video files" : "image files"} here</strong>, or choose them:{" "}
      <label for={`${id}-files`}>{label}</label>{" "}
      <input
        type="file"
        id={`${id}-files`}
        multiple
        accept={video ? "image/*,video/mp4,video/quicktime,.mp4,.m4v,.mov" : "image/*"}
      />
    </p>
    <p class="hint">
      Images are decoded and PDQ-hashed in this browser
      {video ? "; videos (MP4, H.264) are decoded here and one frame a second is hashed (vPDQ)" : ""}. The
      content never leaves this machine; only the hashes are sent.
    </p>
  </div>
);
