// Authorities and coordinators: case files (docs/evidence.md). Lists the case files wrapped for
// the signed-in participant and opens one in the page: the key-wrapping private key is read from
// the file the assessor chooses (held in this page's memory, never stored or sent), the wrapped
// content key is opened with it, the ciphertext is downloaded (the node audits the download),
// checked against the SHA-256 in the submitter's signed record, and decrypted here. An image is
// drawn on a canvas blurred and in greyscale until the assessor reveals it (analyst wellbeing),
// and re-hashed with PDQ, the same code as the submit page, against the entry's submitted hash:
// the distance says whether the material is what was submitted or a decoy.
import { decryptCaseFile, sha256Hex, unwrapContentKey } from "@eusn/client";
import { hammingDistance, type PdqHex, pdqHash } from "@eusn/pdq";
import type { CaseFileView, SubmissionView } from "@eusn/protocol";
import type { JWK } from "jose";
import { ApiProblem, bearer, get } from "../api.ts";
import { $, button, h, replace, table, when } from "../dom.ts";
import type { Session } from "../session.ts";

let encKey: JWK | null = null;

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

async function open(s: Session, cf: CaseFileView) {
  const checks = $("evidence-checks");
  const viewer = $("evidence-viewer");
  viewer.hidden = false;
  replace(checks, h("p", {}, `Opening ${cf.id}…`));
  if (!encKey) {
    replace(checks, h("p", { class: "error" }, "Choose your encryption private key file first."));
    return;
  }
  try {
    const key = await unwrapContentKey(cf.wrapped.jwe, encKey, {
      participantId: s.participantId,
      sha256: cf.sha256,
    });
    const res = await fetch(cf.contentUrl, {
      headers: { authorization: `Bearer ${await bearer(s)}` },
    });
    if (!res.ok) throw new Error(`download: ${res.status}`);
    const ciphertext = new Uint8Array(await res.arrayBuffer());
    const got = await sha256Hex(ciphertext);
    const hashOk = got === cf.sha256;
    if (!hashOk) throw new Error(`the ciphertext's SHA-256 ${got} is not the signed ${cf.sha256}`);
    const { context, file } = await decryptCaseFile(ciphertext, key);
    const detail = await get<{ submission: SubmissionView }>(s, `/v1/submissions/${cf.submissionId}`);
    const sub = detail.submission;
    const rows: [string, string][] = [
      ["Case file", cf.id],
      ["Entry", `${sub.id} (${sub.signalType} ${sub.value})`],
      ["Ciphertext SHA-256", `${cf.sha256} — matches the submitter's signed record`],
    ];
    const canvas = $("evidence-canvas") as HTMLCanvasElement;
    canvas.style.filter = "blur(18px) grayscale(1)";
    if (context.mediaType.startsWith("image/")) {
      const bitmap = await createImageBitmap(new Blob([file as BlobPart], { type: context.mediaType }), {
        colorSpaceConversion: "none",
        premultiplyAlpha: "none",
      });
      canvas.width = bitmap.width;
      canvas.height = bitmap.height;
      canvas.getContext("2d")?.drawImage(bitmap, 0, 0);
      const hashed = await hashPixels(bitmap);
      bitmap.close();
      if (hashed && sub.signalType === "pdq") {
        const d = hammingDistance(hashed.pdq as PdqHex, sub.value as PdqHex);
        rows.push([
          "PDQ of the material",
          `${hashed.pdq} (quality ${hashed.quality}): distance ${d} of 256 to the submitted hash — ${d <= 31 ? "matches" : "does NOT match (a different image?)"}`,
        ]);
      } else if (hashed) {
        rows.push(["PDQ of the material", `${hashed.pdq} (the entry is a ${sub.signalType} hash)`]);
      }
    } else {
      canvas.width = 0;
      rows.push([
        "Material",
        `${context.mediaType}: not shown in the page (video re-hashing is for the CLI)`,
      ]);
    }
    replace(
      checks,
      h(
        "dl",
        {},
        rows.map(([k, v]) => [h("dt", {}, k), h("dd", { "data-check": k }, v)]),
      ),
    );
    $("evidence-context").textContent = JSON.stringify(context, null, 2);
  } catch (e) {
    replace(
      checks,
      h("p", { class: "error" }, e instanceof ApiProblem ? e.message : String((e as Error).message ?? e)),
    );
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
              c.submissionId,
              c.mediaClass,
              `${c.size} bytes`,
              when(c.createdAt),
              button(c.stale ? "Open (wrapped to your old key)" : "Open", () => void open(s, c)),
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
  $("evidence-reveal").addEventListener("click", () => {
    ($("evidence-canvas") as HTMLCanvasElement).style.filter = "none";
  });
  await list(s);
}
