/** @jsxImportSource hono/jsx */
// /console/evidence: case files for assessors (docs/evidence.md). A shell like the other signed-in
// pages; the browser module (web/pages/evidence.ts) lists the case files wrapped for the signed-in
// authority or coordinator, and opens one entirely in the page: the wrapped key is opened with the
// participant's key-wrapping private key (loaded from its file into the page's memory only), the
// ciphertext's SHA-256 is checked against the signed record, the image is decrypted, drawn
// blurred and greyscale (a video also muted) until the assessor reveals it, and re-hashed against
// the entry's submitted hash (PDQ for an image, vPDQ for a video). The server never sees the key
// or the material.
import type { Context } from "hono";
import type { AppEnv } from "../api/lib/hono.ts";
import { Layout, Section } from "./layout.tsx";

export function consoleEvidence(c: Context<AppEnv>) {
  return c.html(
    <Layout title="Case files" page="evidence" path="/console/evidence" roles={["authority", "coordinator"]}>
      <p>
        Case files are end-to-end encrypted: the node holds only ciphertext and keys wrapped for each
        recipient. Opening one decrypts it here, in this page. Material is shown{" "}
        <strong>blurred and in greyscale</strong> (a video also muted) until you choose to reveal it, and
        re-hashed here to check that it is what the entry's hash was made from.
      </p>
      <Section id="evidence-key" title="Your key-wrapping key">
        <label>
          Encryption private key (the JWK file from <code>eusn evidence enc-key</code>; kept in this page
          only) <input type="file" id="evidence-key-file" accept=".json,application/json" />
        </label>
        <p id="evidence-key-state" role="status" />
      </Section>
      <Section id="evidence-list" title="Case files for you">
        <div class="table" id="evidence-table" />
      </Section>
      <section aria-labelledby="evidence-viewer-h" id="evidence-viewer" hidden>
        <h2 id="evidence-viewer-h">Case file</h2>
        <div id="evidence-checks" />
        <p>
          <button type="button" id="evidence-reveal" aria-pressed="false">
            Reveal (unblur, colour)
          </button>
        </p>
        <canvas id="evidence-canvas" class="evidence-media concealed" aria-label="case file image" hidden />
        <video
          id="evidence-video"
          class="evidence-media concealed"
          aria-label="case file video"
          controls
          muted
          playsinline
          preload="metadata"
          hidden
        />
        <div id="evidence-actions" class="buttons" />
        <p id="evidence-assessed" role="status" />
        <h3>Context</h3>
        <pre id="evidence-context" tabindex={0} />
      </section>
      <section aria-labelledby="evidence-opens-h" id="evidence-opens-section" hidden>
        <h2 id="evidence-opens-h">Who opened your case file</h2>
        <div class="table" id="evidence-opens" />
      </section>
    </Layout>,
  );
}
