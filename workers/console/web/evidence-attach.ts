// An entry's case files on its page (docs/evidence.md): the ones wrapped for the signed-in
// participant, linked to the viewer (/console/evidence), and for the submitting authority of a
// live entry the form that attaches one. Everything that touches the material happens here, with
// @eusn/client's own functions: the file is read from memory and encrypted with its context under
// a fresh content key (EUSNCF01), the key is wrapped for each recipient's registered key-wrapping
// key (every active authority with one by default, or the chosen member states' authorities; the
// submitter always, it re-wraps later), the ciphertext is uploaded in parts with progress, and the
// `evidence.create` record is signed in the confirmation dialog. The node sees only ciphertext.
import { chooseRecipients, encryptCaseFile, wrapContentKey } from "@eusn/client";
import type {
  CaseFileContext,
  CaseFileView,
  EvidenceEncKeyView,
  SubmissionView,
  UploadView,
} from "@eusn/protocol";
import type { JWK } from "jose";
import { ApiProblem, bearer, get, postJson } from "./api.ts";
import { confirmWrite } from "./confirm.ts";
import { $, formValues, h, link, replace, table, when } from "./dom.ts";
import type { Session } from "./session.ts";
import { isVideoFile } from "./videos.ts";

let current: { s: Session; sub: SubmissionView } | null = null;
let wired = false;

function say(text: string, kind: "" | "error" | "ok" = "") {
  replace($("evidence-attach-status"), h("span", { class: kind }, text));
}

async function listCaseFiles(s: Session, id: string) {
  const r = await get<{ caseFiles: CaseFileView[] }>(
    s,
    `/v1/evidence?submissionId=${encodeURIComponent(id)}`,
  );
  replace(
    $("entry-evidence-list"),
    table(
      "Case files of this entry wrapped for you",
      ["Case file", "Class", "Size", "Attached", ""],
      r.caseFiles.map((c) => [
        h("code", {}, c.id),
        c.mediaClass,
        `${c.size} bytes`,
        when(c.createdAt),
        link("/console/evidence", "Open in the case-file viewer"),
      ]),
      "No case file of this entry is wrapped for you.",
    ),
  );
}

/** Uploads the ciphertext in parts (R2 multipart on the node), reporting progress. */
async function upload(
  s: Session,
  sub: SubmissionView,
  mediaClass: "image" | "video",
  bytes: Uint8Array,
  sha256: string,
) {
  const up = await postJson<UploadView>(s, "/v1/evidence/uploads", {
    submissionId: sub.id,
    mediaClass,
    size: bytes.byteLength,
    sha256,
  });
  for (let n = 1; n <= up.parts; n++) {
    const start = (n - 1) * up.partSize;
    const part = bytes.subarray(start, Math.min(bytes.byteLength, start + up.partSize));
    const res = await fetch(`/v1/evidence/uploads/${encodeURIComponent(up.uploadId)}/parts/${n}`, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream", authorization: `Bearer ${await bearer(s)}` },
      body: part as BodyInit,
    });
    if (!res.ok) throw new Error(`part ${n}: ${res.status} ${(await res.text()).slice(0, 300)}`);
    say(
      `Uploaded ${Math.min(bytes.byteLength, n * up.partSize)} of ${bytes.byteLength} bytes of ciphertext…`,
    );
  }
  await postJson<UploadView>(s, `/v1/evidence/uploads/${encodeURIComponent(up.uploadId)}/complete`, {});
}

async function attach(ev: Event) {
  ev.preventDefault();
  if (!current) return;
  const { s, sub } = current;
  const form = $("evidence-attach-form") as unknown as HTMLFormElement;
  const file = ($("evidence-attach-file") as HTMLInputElement).files?.[0];
  const v = formValues(form);
  const states = (v.states as string[] | undefined) ?? [];
  if (!file) return say("Choose the image or video file first.", "error");
  if (v.audience === "states" && states.length === 0)
    return say("Choose at least one member state, or every active authority.", "error");
  try {
    const mediaClass = isVideoFile(file) ? "video" : "image";
    const context: CaseFileContext = {
      mediaType: file.type || (mediaClass === "video" ? "video/mp4" : "application/octet-stream"),
      fileName: file.name,
    };
    for (const k of ["foundOn", "foundAt", "language", "description", "caseReference"] as const) {
      const val = String(v[k] ?? "").trim();
      if (val) context[k] = val;
    }
    const keys = await get<{ encKeys: EvidenceEncKeyView[] }>(s, "/v1/evidence/keys");
    // The submitter is always a recipient (it re-wraps later), so its own member state is in.
    const memberStates =
      v.audience === "states"
        ? [...new Set([...states, ...(s.memberState ? [s.memberState] : [])])].sort()
        : undefined;
    const recipients = chooseRecipients(keys.encKeys, s.participantId, { memberStates });
    if (!recipients.some((k) => k.participantId === s.participantId))
      return say(
        "Register your key-wrapping key first (eusn evidence enc-key): you are always a recipient, to re-wrap later.",
        "error",
      );
    say(`Encrypting ${file.name} in this page…`);
    const e = await encryptCaseFile(new Uint8Array(await file.arrayBuffer()), context);
    const wraps = await Promise.all(
      recipients.map((k) =>
        wrapContentKey(e.key, e.sha256, { participantId: k.participantId, jwk: k.jwk as JWK }),
      ),
    );
    e.key.fill(0);
    await upload(s, sub, mediaClass, e.ciphertext, e.sha256);
    say(`Uploaded and checked by the node; sign the case file to attach it.`);
    const names = recipients.map((k) => `${k.memberState ?? k.role} ${k.participantId}`).join(", ");
    const r = await confirmWrite<{ caseFileId: string }>(s, {
      title: "Attach a case file",
      intro: `Attach ${file.name} (${mediaClass}, encrypted: ${e.ciphertext.byteLength} bytes) to ${sub.id}, openable by ${names}.`,
      kind: "evidence.create",
      path: "/v1/evidence",
      record: () => ({
        submissionId: sub.id,
        mediaClass,
        ciphertext: { sha256: e.sha256, size: e.ciphertext.byteLength },
        ...(memberStates ? { memberStates } : {}),
        recipients: wraps,
      }),
    });
    if (!r) return say("Not attached: the upload is discarded by the node within a day.", "error");
    replace(
      $("evidence-attach-status"),
      h(
        "span",
        { class: "ok", "data-case-file": r.data.caseFileId },
        `Case file ${r.data.caseFileId} attached for ${recipients.length} recipient(s).`,
      ),
    );
    form.reset();
    await listCaseFiles(s, sub.id);
  } catch (err) {
    say(err instanceof ApiProblem ? err.describe() : String((err as Error).message ?? err), "error");
  }
}

/** Fills the entry page's case-file section for `sub`; the form only for its submitter while live. */
export async function entryCaseFiles(s: Session, sub: SubmissionView) {
  current = { s, sub };
  await listCaseFiles(s, sub.id);
  const form = $("evidence-attach-form") as unknown as HTMLFormElement;
  const mine = s.role === "authority" && sub.submitter === s.participantId && sub.status === "live";
  form.hidden = !mine || sub.state.name === "expired";
  if (form.hidden) return;
  const keys = await get<{ encKeys: EvidenceEncKeyView[] }>(s, "/v1/evidence/keys");
  const states = [
    ...new Set(
      keys.encKeys
        .filter((k) => k.role === "authority" && k.memberState && k.memberState !== s.memberState)
        .map((k) => k.memberState!),
    ),
  ].sort();
  replace(
    $("evidence-attach-states"),
    states.map((ms) =>
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "states", value: ms }), ` ${ms}`),
    ),
  );
  // A TLP:RED entry's case file must name the member states that may open it.
  const all = form.querySelector<HTMLInputElement>("input[name=audience][value=all]")!;
  all.disabled = sub.tlp === "red";
  if (sub.tlp === "red")
    form.querySelector<HTMLInputElement>("input[name=audience][value=states]")!.checked = true;
  if (!wired) {
    wired = true;
    form.addEventListener("submit", (ev) => void attach(ev));
  }
}
