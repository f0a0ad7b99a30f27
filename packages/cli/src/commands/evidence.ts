// `eusn evidence`: case files (docs/evidence.md). An authority registers a key-wrapping key
// (enc-key), attaches an encrypted case file to its submission (put: encrypted here, file to file,
// uploaded in parts with progress on stderr, resumable), opens one wrapped for it (get: fetched,
// SHA-256 checked against the signed record, decrypted here), sees who opened its case files
// (opens) and re-wraps them for recipients that replaced their keys (rewrap). The node only ever
// receives ciphertext and wrapped keys.
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { open, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  attachEncrypted,
  type CiphertextSource,
  caseFileOpens,
  encryptStream,
  envelopeHead,
  generateContentKey,
  generateEncKeyPair,
  openCaseFile,
  type Progress,
  registerEvidenceKey,
  rewrapCaseFile,
} from "@eusn/client";
import type { CaseFileContext, CaseFileView, EvidenceMediaClass } from "@eusn/protocol";
import { Command, Option } from "commander";
import type { JWK } from "jose";
import { UsageError } from "../credential.ts";
import { type CommonOpts, connect, Failure, must, networked, run, show } from "../output.ts";

const VIDEO = /\.(mp4|m4v|mov|webm|mkv|avi|mpe?g|ts)$/i;
const MEDIA_TYPES: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  bmp: "image/bmp",
  tif: "image/tiff",
  tiff: "image/tiff",
  mp4: "video/mp4",
  m4v: "video/mp4",
  mov: "video/quicktime",
  webm: "video/webm",
  mkv: "video/x-matroska",
};

const encKeyOption = () =>
  new Option(
    "--enc-key <file>",
    "your encryption private JWK (from `eusn evidence enc-key`; default $EUSN_ENC_KEY)",
  );

function readEncKey(file: string | undefined): JWK {
  const f = file ?? process.env.EUSN_ENC_KEY;
  if (!f) throw new UsageError("--enc-key <file> (or $EUSN_ENC_KEY) names your encryption private key");
  try {
    return JSON.parse(readFileSync(f, "utf8")) as JWK;
  } catch (e) {
    throw new Failure(`cannot read the encryption key ${f}: ${(e as Error).message}`);
  }
}

/** Progress on stderr (one line, rewritten), so stdout stays the answer. */
function progress(name: string): (p: Progress) => void {
  let last = "";
  return (p) => {
    const line =
      p.phase === "upload" || p.phase === "encrypt"
        ? `${name}: ${p.phase} ${Math.floor((100 * p.done) / Math.max(1, p.total))}% (${p.done}/${p.total} bytes)`
        : `${name}: ${p.phase === "complete" ? "checking the upload" : "signing the case file"}`;
    if (line !== last) process.stderr.write(`${line}\n`);
    last = line;
  };
}

/** What `put` keeps beside the file while an upload is under way (0600; deleted when done). */
type PutState = {
  file: string;
  size: number;
  mtimeMs: number;
  submissionId: string;
  sha256: string;
  ciphertextSize: number;
  /** The content key: needed to wrap for the recipients when a resumed upload is signed. */
  key: string;
  uploadId?: string;
};

/** Encrypts `file` with its context into `out`, streaming; answers the ciphertext's SHA-256 and size. */
async function encryptFile(
  file: string,
  context: CaseFileContext,
  key: Uint8Array,
  out: string,
  onProgress: (p: Progress) => void,
): Promise<{ sha256: string; size: number }> {
  const head = envelopeHead(context);
  const size = statSync(file).size;
  const hash = createHash("sha256");
  const fh = await open(out, "w", 0o600);
  let written = 0;
  let read = 0;
  async function* source() {
    yield head;
    for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
      read += (chunk as Buffer).byteLength;
      onProgress({ phase: "encrypt", done: read, total: size });
      yield new Uint8Array(chunk as Buffer);
    }
  }
  try {
    for await (const part of encryptStream(source(), head.byteLength + size, key)) {
      hash.update(part);
      await fh.write(part);
      written += part.byteLength;
    }
  } finally {
    await fh.close();
  }
  return { sha256: hash.digest("hex"), size: written };
}

function fileSource(file: string, size: number, sha256: string): CiphertextSource {
  return {
    size,
    sha256,
    async read(start, end) {
      const fh = await open(file, "r");
      try {
        const buf = new Uint8Array(end - start);
        await fh.read(buf, 0, end - start, start);
        return buf;
      } finally {
        await fh.close();
      }
    },
  };
}

type PutOpts = CommonOpts & {
  context?: string;
  to?: string;
  coordinators?: string;
  type?: EvidenceMediaClass;
};

async function put(submissionId: string, file: string, opts: PutOpts): Promise<number> {
  const name = "eusn evidence put";
  if (!existsSync(file)) throw new UsageError(`${file}: no such file`);
  let extra: Record<string, unknown> = {};
  if (opts.context) {
    try {
      extra = JSON.parse(opts.context) as Record<string, unknown>;
    } catch {
      throw new UsageError("--context must be a JSON object");
    }
  }
  const ext = path.extname(file).slice(1).toLowerCase();
  const { CaseFileContext: check } = await import("@eusn/protocol/evidence");
  const parsed = check.safeParse({
    mediaType: MEDIA_TYPES[ext] ?? "application/octet-stream",
    fileName: path.basename(file),
    ...extra,
  });
  if (!parsed.success)
    throw new UsageError(
      `--context: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  const mediaClass: EvidenceMediaClass = opts.type ?? (VIDEO.test(file) ? "video" : "image");
  const memberStates = opts.to
    ?.split(",")
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  const coordinators = opts.coordinators
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const { client } = await connect(name, opts);
  const ciphertextFile = `${file}.eusn-upload`;
  const stateFile = `${ciphertextFile}.json`;
  const stat = statSync(file);
  let state: PutState | undefined;
  if (existsSync(stateFile)) {
    const s = JSON.parse(readFileSync(stateFile, "utf8")) as PutState;
    // Resumed only for the same file, unchanged, and the same submission.
    if (
      s.size === stat.size &&
      s.mtimeMs === stat.mtimeMs &&
      s.submissionId === submissionId &&
      existsSync(ciphertextFile)
    ) {
      state = s;
      process.stderr.write(`${name}: resuming upload ${s.uploadId ?? "(not started)"}\n`);
    }
  }
  const onProgress = progress(name);
  if (!state) {
    const key = generateContentKey();
    const e = await encryptFile(file, parsed.data, key, ciphertextFile, onProgress);
    state = {
      file: path.basename(file),
      size: stat.size,
      mtimeMs: stat.mtimeMs,
      submissionId,
      sha256: e.sha256,
      ciphertextSize: e.size,
      key: Buffer.from(key).toString("base64url"),
    };
    writeFileSync(stateFile, JSON.stringify(state), { mode: 0o600 });
  }
  const s = state;
  const result = await attachEncrypted(
    client,
    {
      key: new Uint8Array(Buffer.from(s.key, "base64url")),
      source: fileSource(ciphertextFile, s.ciphertextSize, s.sha256),
    },
    {
      submissionId,
      mediaClass,
      memberStates,
      coordinators,
      resume: s.uploadId,
      onProgress,
      onState: (u) => {
        if (s.uploadId !== u.uploadId) {
          s.uploadId = u.uploadId;
          writeFileSync(stateFile, JSON.stringify(s), { mode: 0o600 });
        }
      },
    },
  );
  rmSync(stateFile, { force: true });
  rmSync(ciphertextFile, { force: true });
  show(opts, result, () =>
    [
      `case file ${result.caseFileId}`,
      `sha256 ${result.sha256}`,
      `recipients ${result.recipients.join(", ")}`,
    ].join("\n"),
  );
  return 0;
}

async function get(
  id: string,
  opts: CommonOpts & { out: string; encKey?: string; force?: boolean },
): Promise<number> {
  const name = "eusn evidence get";
  if (existsSync(opts.out) && !opts.force) throw new UsageError(`${opts.out} exists (--force overwrites it)`);
  const encKey = readEncKey(opts.encKey);
  const { client } = await connect(name, opts);
  const opened = await openCaseFile(client, id, encKey);
  await writeFile(opts.out, opened.file, { mode: 0o600 });
  process.stderr.write(
    `${name}: ciphertext SHA-256 ${opened.view.sha256} matches the signed case file; ${opened.file.byteLength} bytes written to ${opts.out}\n`,
  );
  show(opts, { caseFileId: id, submissionId: opened.view.submissionId, context: opened.context }, () =>
    JSON.stringify(opened.context, null, 2),
  );
  return 0;
}

export default function evidenceCommand(): Command {
  const cmd = new Command("evidence").description(
    "case files: end-to-end encrypted evidence for assessors (authorities; coordinators when named)",
  );
  cmd.addCommand(
    networked(
      new Command("enc-key")
        .description(
          "make a key-wrapping key pair, keep the private half in --out (0600) and register the public half",
        )
        .requiredOption("--out <file>", "where to write the encryption private JWK (refuses to overwrite)"),
      ["eusn evidence enc-key --key nl.json --out nl.enc.json"],
    ).action(
      run("eusn evidence enc-key", async (opts: CommonOpts & { out: string }) => {
        if (existsSync(opts.out))
          throw new UsageError(`${opts.out} exists: it may hold the key your case files are wrapped to`);
        const { client } = await connect("eusn evidence enc-key", opts);
        const pair = await generateEncKeyPair();
        writeFileSync(opts.out, `${JSON.stringify(pair.privateJwk, null, 2)}\n`, { mode: 0o600, flag: "wx" });
        const r = must((await registerEvidenceKey(client, pair)).result);
        show(opts, r, () => `encryption key ${pair.kid} registered\nrecord ${r.recordId}`);
        return 0;
      }),
    ),
  );
  cmd.addCommand(
    networked(
      new Command("put")
        .description(
          "encrypt FILE here and attach it to your submission as a case file (resumable: run it again)",
        )
        .argument("<submissionId>")
        .argument("<file>")
        .option(
          "--context <json>",
          "context inside the encryption: foundAt, foundOn, language, description, translation, caseReference",
        )
        .option(
          "--to <states>",
          "only these member states' authorities (comma-separated; required for TLP:RED)",
        )
        .option("--coordinators <ids>", "coordinators to include (comma-separated participant ids)")
        .addOption(
          new Option("--type <class>", "media class (default: from the file name)").choices([
            "image",
            "video",
          ]),
        ),
      [
        'eusn evidence put hsh_01jd… flyer.png --context \'{"foundOn":"forum.example","caseReference":"NL-2026-17"}\' --key nl.json',
        "eusn evidence put hsh_01jd… clip.mp4 --to NL,DE,FR --key nl.json",
      ],
    ).action(run("eusn evidence put", put)),
  );
  cmd.addCommand(
    networked(
      new Command("get")
        .description(
          "fetch a case file wrapped for you, check its SHA-256 against the signed record, decrypt it to --out",
        )
        .argument("<caseFileId>")
        .requiredOption("--out <file>", "where to write the material (0600)")
        .option("--force", "overwrite --out", false)
        .addOption(encKeyOption()),
      ["eusn evidence get evd_01jd… --out flyer.png --enc-key de.enc.json --key de.json"],
    ).action(run("eusn evidence get", get)),
  );
  cmd.addCommand(
    networked(
      new Command("list")
        .description("case files you can open (wrapped for you, while retention allows)")
        .option("--submission <id>", "of this submission only"),
      ["eusn evidence list --key de.json", "eusn evidence list --submission hsh_01jd… --key fr.json"],
    ).action(
      run("eusn evidence list", async (opts: CommonOpts & { submission?: string }) => {
        const { client } = await connect("eusn evidence list", opts);
        const q = opts.submission ? `?submissionId=${encodeURIComponent(opts.submission)}` : "";
        const r = must(await client.get<{ caseFiles: CaseFileView[] }>(`/v1/evidence${q}`), {
          submissionId: "--submission",
        });
        show(opts, r, () =>
          r.caseFiles.length === 0
            ? "no case files for you"
            : r.caseFiles
                .map(
                  (c) =>
                    `${c.id}  ${c.submissionId}  ${c.mediaClass}  ${c.size} bytes  by ${c.submitterId}${c.stale ? "  (wrapped to your old key: ask for a re-wrap)" : ""}`,
                )
                .join("\n"),
        );
        return 0;
      }),
    ),
  );
  cmd.addCommand(
    networked(
      new Command("opens").description("who downloaded your case file, and when").argument("<caseFileId>"),
      ["eusn evidence opens evd_01jd… --key nl.json"],
    ).action(
      run("eusn evidence opens", async (id: string, opts: CommonOpts) => {
        const { client } = await connect("eusn evidence opens", opts);
        const r = must(await caseFileOpens(client, id));
        show(opts, r, () =>
          r.opens.length === 0
            ? "not opened yet"
            : r.opens.map((o) => `${o.at}  ${o.participantId}  ${o.memberState ?? ""}`).join("\n"),
        );
        return 0;
      }),
    ),
  );
  cmd.addCommand(
    networked(
      new Command("rewrap")
        .description("wrap your case file's key again for recipients that replaced their encryption key")
        .argument("<caseFileId>")
        .addOption(encKeyOption()),
      ["eusn evidence rewrap evd_01jd… --enc-key nl.enc.json --key nl.json"],
    ).action(
      run("eusn evidence rewrap", async (id: string, opts: CommonOpts & { encKey?: string }) => {
        const { client } = await connect("eusn evidence rewrap", opts);
        const r = await rewrapCaseFile(client, id, readEncKey(opts.encKey));
        if (r.result) must(r.result);
        show(opts, r, () =>
          r.rewrapped.length ? `re-wrapped for ${r.rewrapped.join(", ")}` : "every wrap is current",
        );
        return 0;
      }),
    ),
  );
  return cmd;
}
