// Authorities and coordinators: case files (docs/evidence.md). Lists the case files wrapped for
// the signed-in participant and opens one in the page: the key-wrapping private key is read from
// the file the assessor chooses (held in this page's memory, never stored or sent), the wrapped
// content key is opened with it, the ciphertext is downloaded (the node audits the download),
// checked against the SHA-256 in the submitter's signed record, and decrypted here. The material
// is shown blurred and in greyscale (a video also muted) until the assessor reveals it (analyst
// wellbeing), and re-hashed here against the entry's submitted hash: an image with PDQ (the submit
// page's code) and the Hamming distance, a video with vPDQ (web/videos.ts) and the reference's
// match percentages against the entry's signed frames. A decoy attached to an entry shows as a
// mismatch. An authority assesses the entry from the viewer; a submitter sees who opened its files.
import { decryptCaseFile, sha256Hex, unwrapContentKey } from "@eusn/client";
import { hammingDistance, type PdqHex, pdqHash } from "@eusn/pdq";
import {
  type CaseFileContext,
  type CaseFileOpens,
  type CaseFileView,
  type SubmissionView,
  type VpdqFrame,
  vpdqDigest,
} from "@eusn/protocol";
import { compareVpdq, DEFAULT_DISTANCE } from "@eusn/vpdq";
import { decodeJwt, type JWK } from "jose";
import { ApiProblem, bearer, get } from "../api.ts";
import { confirmWrite } from "../confirm.ts";
import { $, button, type Child, entryLink, h, replace, table, when } from "../dom.ts";
import type { Session } from "../session.ts";
import { hashVideo } from "../videos.ts";
import { assessFields, assessRecord } from "./entry.ts";

let encKey: JWK | null = null;
/** The object URL of the video on show, revoked when another case file is opened. */
let videoUrl: string | null = null;

/** Both directions at least this share of frames: the reference's default match threshold. */
const VIDEO_MATCH_PERCENT = 80;

/** PDQ of decoded pixels, as the submit page hashes dropped images (web/images.ts). */
async function hashPixels(bitmap: ImageBitmap): Promise<{ pdq: string; quality: number } | null> {
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext("2d", { willReadFrequently: true, colorSpace: "srgb" });
  if (!ctx) return null;
  ctx.drawImage(bitmap, 0, 0);
  const img = ctx.getImageData(0, 0, bitmap.width, bitmap.height, { colorSpace: "srgb" });
  const r = pdqHash({ width: img.width, height: img.height, channels: 4, data: img.data });
  return r.ok ? { pdq: r.value.hex, quality: r.value.quality } : null;
}

type History = { kind: string; jws: string };

/**
 * The frames a video entry was submitted with: taken from the submitter's signed record in the
 * entry's history, and accepted only if they digest to the entry's value (the SHA-256 the node
 * indexes), so neither the node nor anyone else can hand the page other frames.
 */
async function submittedFrames(sub: SubmissionView, history: History[]): Promise<VpdqFrame[] | null> {
  for (const item of history) {
    if (item.kind !== "submission.create") continue;
    const claims = decodeJwt(item.jws) as {
      record?: { items?: { signalType: string; value: string; video?: { frames: VpdqFrame[] } }[] };
    };
    for (const it of claims.record?.items ?? []) {
      if (it.signalType !== "vpdq" || it.value !== sub.value || !it.video) continue;
      if ((await vpdqDigest(it.video.frames)) === sub.value) return it.video.frames;
    }
  }
  return null;
}

function status(text: string) {
  replace($("evidence-checks"), h("p", { role: "status" }, text));
}

/** Blurred and greyscale (and muted) until Reveal; opening another case file blurs again. */
function conceal() {
  for (const id of ["evidence-canvas", "evidence-video"]) $(id).classList.add("concealed");
  const video = $("evidence-video") as HTMLVideoElement;
  video.muted = true;
  const reveal = $("evidence-reveal");
  reveal.setAttribute("aria-pressed", "false");
  reveal.textContent = "Reveal (unblur, colour)";
}

function toggleReveal() {
  const reveal = $("evidence-reveal");
  const revealed = reveal.getAttribute("aria-pressed") === "true";
  if (revealed) {
    conceal();
    return;
  }
  for (const id of ["evidence-canvas", "evidence-video"]) $(id).classList.remove("concealed");
  reveal.setAttribute("aria-pressed", "true");
  reveal.textContent = "Blur again";
}

async function showImage(
  file: Uint8Array,
  context: CaseFileContext,
  sub: SubmissionView,
  rows: [string, Child][],
) {
  const canvas = $("evidence-canvas") as HTMLCanvasElement;
  const bitmap = await createImageBitmap(new Blob([file as BlobPart], { type: context.mediaType }), {
    colorSpaceConversion: "none",
    premultiplyAlpha: "none",
  });
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  canvas.getContext("2d")?.drawImage(bitmap, 0, 0);
  canvas.hidden = false;
  const hashed = await hashPixels(bitmap);
  bitmap.close();
  if (!hashed) {
    rows.push(["PDQ of the material", "this browser could not read the image's pixels"]);
  } else if (sub.signalType === "pdq") {
    const d = hammingDistance(hashed.pdq as PdqHex, sub.value as PdqHex);
    const ok = d <= DEFAULT_DISTANCE;
    rows.push([
      "PDQ of the material",
      h(
        "span",
        { class: ok ? "ok" : "error", "data-distance": String(d), "data-match": ok ? "1" : "0" },
        `${hashed.pdq} (quality ${hashed.quality}): distance ${d} of 256 to the submitted hash — ${ok ? "matches" : "does NOT match (a different image?)"}`,
      ),
    ]);
  } else {
    rows.push(["PDQ of the material", `${hashed.pdq} (the entry is a ${sub.signalType} hash: not compared)`]);
  }
}

async function showVideo(
  file: Uint8Array,
  context: CaseFileContext,
  sub: SubmissionView,
  history: History[],
  rows: [string, Child][],
) {
  const video = $("evidence-video") as HTMLVideoElement;
  const blob = new Blob([file as BlobPart], { type: context.mediaType || "video/mp4" });
  videoUrl = URL.createObjectURL(blob);
  video.muted = true;
  video.src = videoUrl;
  video.hidden = false;
  if (sub.signalType !== "vpdq") {
    rows.push(["vPDQ of the material", `not compared: the entry is a ${sub.signalType} hash`]);
    return;
  }
  const frames = await submittedFrames(sub, history);
  if (!frames) {
    rows.push(["vPDQ of the material", "the entry's signed frames were not found: not compared"]);
    return;
  }
  const hashed = await hashVideo(new File([blob], context.fileName ?? "case-file.mp4", { type: blob.type }), {
    progress: (done, total) => {
      if (done % 30 === 0 || done === total)
        status(`Re-hashing the video in this page: frame ${done} of ${total}…`);
    },
  });
  const toFrame = (f: VpdqFrame) => ({ quality: f[1], hash: f[2] as PdqHex });
  const m = compareVpdq(hashed.frames.map(toFrame), frames.map(toFrame));
  const ok = m.queryMatchPercent >= VIDEO_MATCH_PERCENT && m.targetMatchPercent >= VIDEO_MATCH_PERCENT;
  rows.push([
    "vPDQ of the material",
    h(
      "span",
      {
        class: ok ? "ok" : "error",
        "data-query-percent": m.queryMatchPercent.toFixed(2),
        "data-target-percent": m.targetMatchPercent.toFixed(2),
        "data-match": ok ? "1" : "0",
      },
      `${hashed.frames.length} frames hashed here (${hashed.durationSeconds} s): ${m.queryMatchPercent.toFixed(2)} % of the material's ${m.queryFrames} frames match the entry, ${m.targetMatchPercent.toFixed(2)} % of the entry's ${m.targetFrames} frames (distance ≤ ${DEFAULT_DISTANCE}, quality ≥ 50) — ${ok ? "matches" : `does NOT match (both must reach ${VIDEO_MATCH_PERCENT} %: a different video?)`}`,
    ),
  ]);
}

/** Concur or dissent from the viewer: for an authority that did not submit the entry. */
function assessButtons(s: Session, sub: SubmissionView): Child {
  if (s.role !== "authority" || sub.submitter === s.participantId) return null;
  if (sub.status !== "live" || sub.state.name === "expired") return null;
  return (["concur", "dissent"] as const).map((verdict) =>
    button(
      verdict === "concur" ? "Concur…" : "Dissent…",
      async () => {
        const r = await confirmWrite(s, {
          title: verdict === "concur" ? "Concur" : "Dissent",
          intro: `${verdict === "concur" ? "Concur with" : "Dissent from"} the assessment of ${sub.id} as terrorist content, having checked its case file. A later assessment of yours replaces this one.`,
          kind: "assessment.create",
          path: `/v1/submissions/${encodeURIComponent(sub.id)}/assessments`,
          fields: assessFields(sub, verdict),
          record: (x) => assessRecord(sub.id, verdict, x),
        });
        if (r) replace($("evidence-assessed"), `Your ${verdict} on ${sub.id} is recorded.`);
      },
      { "data-action": verdict },
    ),
  );
}

async function open(s: Session, cf: CaseFileView) {
  const viewer = $("evidence-viewer");
  viewer.hidden = false;
  conceal();
  const canvas = $("evidence-canvas") as HTMLCanvasElement;
  const video = $("evidence-video") as HTMLVideoElement;
  canvas.hidden = true;
  video.hidden = true;
  video.pause();
  video.removeAttribute("src");
  if (videoUrl) URL.revokeObjectURL(videoUrl);
  videoUrl = null;
  replace($("evidence-actions"));
  replace($("evidence-assessed"));
  $("evidence-context").textContent = "";
  status(`Opening ${cf.id}…`);
  if (!encKey) {
    replace(
      $("evidence-checks"),
      h("p", { class: "error" }, "Choose your encryption private key file first."),
    );
    return;
  }
  // A case file replicated from another node: its ciphertext stays there, and this page talks
  // to its own node only (CSP connect-src 'self'). The CLI fetches it from the origin.
  if (cf.originNode !== s.nodeId) {
    replace(
      $("evidence-checks"),
      h(
        "p",
        { class: "error" },
        `The ciphertext of ${cf.id} is on its origin node ${cf.originNode}${/^https?:/.test(cf.contentUrl) ? ` (${cf.contentUrl})` : ""}: open it with `,
        h("code", {}, `eusn evidence get ${cf.id}`),
        ", which fetches it there with a token for that node, or in that node's console.",
      ),
    );
    return;
  }
  try {
    const key = await unwrapContentKey(cf.wrapped.jwe, encKey, {
      participantId: s.participantId,
      sha256: cf.sha256,
    });
    status(`Downloading ${cf.id} (${cf.size} bytes; the node records the download)…`);
    const res = await fetch(cf.contentUrl, {
      headers: { authorization: `Bearer ${await bearer(s)}` },
    });
    if (!res.ok) throw new Error(`download: ${res.status} ${(await res.text()).slice(0, 300)}`);
    const ciphertext = new Uint8Array(await res.arrayBuffer());
    const got = await sha256Hex(ciphertext);
    if (got !== cf.sha256) throw new Error(`the ciphertext's SHA-256 ${got} is not the signed ${cf.sha256}`);
    const { context, file } = await decryptCaseFile(ciphertext, key);
    const detail = await get<{ submission: SubmissionView; history: History[] }>(
      s,
      `/v1/submissions/${encodeURIComponent(cf.submissionId)}`,
    );
    const sub = detail.submission;
    const rows: [string, Child][] = [
      ["Case file", cf.id],
      ["Entry", [entryLink(sub.id), ` (${sub.signalType} ${sub.value})`]],
      [
        "Ciphertext SHA-256",
        h("span", { class: "ok" }, `${cf.sha256} — matches the submitter's signed record`),
      ],
      [
        "Material",
        `${context.mediaType}, ${file.byteLength} bytes${context.fileName ? `, ${context.fileName}` : ""}`,
      ],
    ];
    if (context.mediaType.startsWith("image/")) await showImage(file, context, sub, rows);
    else if (context.mediaType.startsWith("video/"))
      await showVideo(file, context, sub, detail.history, rows);
    else rows.push(["Shown", "not an image or a video: nothing is shown in the page"]);
    replace(
      $("evidence-checks"),
      h(
        "dl",
        { class: "kv" },
        rows.map(([k, v]) => [h("dt", {}, k), h("dd", { "data-check": k }, v)]),
      ),
    );
    $("evidence-context").textContent = JSON.stringify(context, null, 2);
    replace($("evidence-actions"), assessButtons(s, sub));
  } catch (e) {
    replace(
      $("evidence-checks"),
      h("p", { class: "error" }, e instanceof ApiProblem ? e.describe() : String((e as Error).message ?? e)),
    );
  }
}

/** The submitter's view of one of its case files: its recipients and every download. */
async function showOpens(s: Session, cf: CaseFileView) {
  const box = $("evidence-opens");
  $("evidence-opens-section").hidden = false;
  try {
    const r = await get<CaseFileOpens>(s, `/v1/evidence/${encodeURIComponent(cf.id)}/opens`);
    replace(
      box,
      h(
        "p",
        {},
        `${cf.id} (entry `,
        entryLink(cf.submissionId),
        `): ${(cf.recipients ?? []).length} recipient(s).`,
      ),
      table(
        `Who opened ${cf.id}`,
        ["Participant", "Member state", "Downloaded"],
        r.opens.map((o) => [h("code", {}, o.participantId), o.memberState ?? "—", when(o.at)]),
        "Nobody has downloaded it yet.",
      ),
      table(
        `Recipients of ${cf.id}`,
        ["Participant", "Wrapped to its current key"],
        (cf.recipients ?? []).map((x) => [
          h("code", {}, x.participantId),
          x.current ? "yes" : "no: re-wrap it (eusn evidence rewrap)",
        ]),
      ),
    );
  } catch (e) {
    replace(box, h("p", { class: "error" }, String((e as Error).message)));
  }
}

async function list(s: Session) {
  try {
    const r = await get<{ caseFiles: CaseFileView[] }>(s, "/v1/evidence");
    replace(
      $("evidence-table"),
      r.caseFiles.length === 0
        ? h("p", {}, "No case files are wrapped for you.")
        : table(
            "Case files wrapped for you",
            ["Case file", "Entry", "Class", "Size", "Submitted", ""],
            r.caseFiles.map((c) => [
              c.id,
              entryLink(c.submissionId),
              c.mediaClass,
              `${c.size} bytes`,
              when(c.createdAt),
              [
                button(c.stale ? "Open (wrapped to your old key)" : "Open", () => void open(s, c), {
                  "aria-label": `Open case file ${c.id}`,
                }),
                c.submitterId === s.participantId
                  ? [
                      " ",
                      button("Who opened", () => void showOpens(s, c), {
                        "aria-label": `Who opened case file ${c.id}`,
                      }),
                    ]
                  : null,
              ],
            ]),
          ),
    );
  } catch (e) {
    replace($("evidence-table"), h("p", { class: "error" }, String((e as Error).message)));
  }
}

export default async function evidence(s: Session | null) {
  if (!s) return;
  $("evidence-key-file").addEventListener("change", async (ev) => {
    const f = (ev.target as HTMLInputElement).files?.[0];
    if (!f) return;
    try {
      const jwk = JSON.parse(await f.text()) as JWK;
      if (jwk.kty !== "EC" || typeof jwk.d !== "string") throw new Error("not an EC private JWK");
      encKey = jwk;
      $("evidence-key-state").textContent = `key ${jwk.kid ?? ""} loaded (in this page only)`;
    } catch (e) {
      $("evidence-key-state").textContent = `cannot use ${f.name}: ${(e as Error).message}`;
    }
  });
  $("evidence-reveal").addEventListener("click", toggleReveal);
  await list(s);
}
