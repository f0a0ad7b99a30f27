// `eusn submit`: loads a hash list into the network as signed submissions, 1,000 per signed
// record. Every row is read from the column named for the chosen type (MD5 and SHA-256 from
// `eusn hash --exact` output) and checked against the protocol's SubmissionItem before anything is
// sent, so a row the node would refuse never leaves half a list stored. Resumable: the node treats
// a value the authority already submitted as `existing`, so re-running after an interruption
// skips what landed and sends only the rest.
import { writeFile } from "node:fs/promises";
import { submitHashes, submitProvisional, submitVideo, type VideoFrames } from "@eusn/client";
import type { SignalType, SubmissionItem, SubmitResult } from "@eusn/protocol";
import { CONTENT_TYPES, SIGNAL_TYPES, TLP_LEVELS } from "@eusn/protocol/plain";
import { Command, Option } from "commander";
import { progressBar, UsageError } from "../credential.ts";
import { readHashInputs } from "../hash-input.ts";
import {
  type CommonOpts,
  connect,
  Failure,
  intOption,
  networked,
  printJson,
  problemText,
  run,
} from "../output.ts";
import { loadVideo } from "../video-input.ts";

type Opts = CommonOpts & {
  type: SignalType;
  secondsPerHash: string;
  column?: string;
  limbs: string;
  contentType: string;
  provision: string;
  tlp?: string;
  expires?: string;
  note?: string;
  force: boolean;
  batch: string;
  ids?: string;
  progress: boolean;
  incident?: string;
};

const NAME = "eusn submit";

export default function submitCommand(): Command {
  return networked(
    new Command("submit")
      .description("submit hashes as an authority: `eusn hash` output (any format) or bare hex, one per line")
      .argument("<inputs...>", "files of hashes, or - for stdin")
      .addOption(
        new Option(
          "--type <type>",
          "which value of each row to submit (md5/sha256: from `eusn hash --exact`; vpdq: each input is a video, as a vPDQ text file or a video file)",
        )
          .choices(SIGNAL_TYPES)
          .default("pdq"),
      )
      .option("--column <name|n>", "the column holding the value: a header name, or a field number")
      .option("--seconds-per-hash <s>", "vpdq, for a video file: one frame hashed per this many seconds", "1")
      .requiredOption("--limbs <limbs>", "TCO Art 2(7) limbs, comma-separated, e.g. a,c")
      .requiredOption("--provision <text>", "the national legal provision relied on")
      .addOption(
        new Option("--content-type <type>", "what the hashed content is")
          .choices(CONTENT_TYPES)
          .default("image"),
      )
      .addOption(new Option("--tlp <level>", "TLP 2.0 marking").choices(TLP_LEVELS))
      .option("--expires <iso>", "expiry (ISO 8601, e.g. 2027-01-01T00:00:00Z)")
      .option("--note <text>", "a note kept with each submission")
      .option("--force", "submit PDQ hashes below quality 50 (they are flagged lowQuality)", false)
      .option("--batch <n>", "hashes per signed record (1..1000)", "1000")
      .option("--ids <file>", "write value,id,outcome lines here")
      .option(
        "--incident <id>",
        "tag them with an active crisis incident: they match at once, provisional, until it ends or 72 h pass",
      )
      .option("--no-progress", "no progress bar"),
    [
      'eusn hash photos/ | eusn submit --key nl.json --limbs a,c --provision "NL Sr. art. 131" -',
      'eusn hash --exact photos/ | eusn submit --key nl.json --type sha256 --limbs a --provision "NL Sr. art. 131" -',
      'eusn submit --key nl.json --type vpdq --content-type video --limbs a --provision "NL Sr. art. 131" clip.mp4 clip2.txt',
    ],
  ).action(run(NAME, submit));
}

/** Signed records `eusn submit` keeps open at once. */
const IN_FLIGHT = 2;

async function submit(inputs: string[], opts: Opts): Promise<number> {
  if (opts.type === "vpdq") return submitVideos(inputs, opts);
  const size = intOption("--batch", opts.batch, 1, 1000)!;
  const rows = await readHashInputs(NAME, inputs, {
    type: opts.type,
    ...(opts.column !== undefined ? { column: opts.column } : {}),
  });
  if (rows.some((r) => r.dihedral) && opts.type === "pdq" && !opts.json) {
    process.stderr.write(
      `${NAME}: the rows carry dihedral variants; each image is submitted as its original hash (platforms match rotated copies with \`eusn match\`)\n`,
    );
  }
  const limbs = opts.limbs
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  // An all-zero PDQ hash (an image under 5 px) carries no information and is always refused:
  // skip it here, with a warning, instead of failing the whole list.
  const seen = new Map<string, string>();
  const kept = rows.filter((r) => {
    if (opts.type === "pdq" && /^0{64}$/.test(r.value)) {
      process.stderr.write(
        `${NAME}: skipping ${r.label} (${r.where}): all-zero PDQ hash (image too small)\n`,
      );
      return false;
    }
    const first = seen.get(r.value);
    if (first !== undefined) {
      process.stderr.write(`${NAME}: skipping ${r.label} (${r.where}): same hash as ${first}\n`);
      return false;
    }
    seen.set(r.value, r.label);
    return true;
  });
  // The protocol's schemas are loaded when a command checks with one, not at every start.
  const { SubmissionItem: check } = await import("@eusn/protocol/submissions");
  const problems: string[] = [];
  const items = kept.map((r) => {
    if (opts.type === "pdq" && r.quality === undefined) {
      problems.push(
        `${at(r)}: a PDQ hash without its quality; submit \`eusn hash\` output (hash,quality,file) rather than bare hashes`,
      );
    }
    const item = {
      signalType: opts.type,
      value: r.value,
      ...(opts.type === "pdq"
        ? { quality: r.quality ?? 0, ...(opts.force && (r.quality ?? 0) < 50 ? { force: true } : {}) }
        : {}),
      limbs,
      contentType: opts.contentType,
      nationalProvision: opts.provision,
      ...(opts.tlp ? { tlp: opts.tlp } : {}),
      ...(opts.expires ? { expiresAt: opts.expires } : {}),
      ...(opts.note ? { note: opts.note } : {}),
    };
    // The node's own rule, checked here so that nothing is sent when any row would be refused.
    const checked = check.safeParse(item);
    if (!checked.success && !(opts.type === "pdq" && r.quality === undefined)) {
      for (const issue of checked.error.issues) {
        problems.push(`${at(r)}: ${flagsInMessage(issue.path.join("."), issue.message)}`);
      }
    }
    return item as SubmissionItem;
  });
  if (problems.length > 0) {
    const shown = problems.slice(0, 10);
    if (problems.length > 10) shown.push(`… and ${problems.length - 10} more`);
    throw new Failure(`nothing was sent; fix these rows:\n${shown.map((p) => `  ${p}`).join("\n")}`);
  }
  if (items.length === 0) throw new UsageError("no hashes to submit");

  const { client } = await connect(NAME, opts);
  const bar = await progressBar(items.length, "submitting", opts.progress && items.length > size);
  const answers: (SubmitResult["submissions"][number] & { where: string; label: string })[] = [];
  const receipts: NonNullable<SubmitResult["receipt"]>[] = [];
  let created = 0;
  let existing = 0;
  // Two records in flight: the node verifies and stores one while the next is signed and sent
  // (`npm run bench:match -- --ingest-only --in-flight 2`: about 1.2x the hashes per second of one
  // at a time). Answers are taken in the list's order. Each send is settled at once, so that a
  // later record's failure waits, unreported, until its turn.
  const starts = Array.from({ length: Math.ceil(items.length / size) }, (_, k) => k * size);
  type Sent = { res: Awaited<ReturnType<typeof submitHashes>> } | { error: unknown };
  const inFlight = new Map<number, Promise<Sent>>();
  let nextToSend = 0;
  const sendMore = () => {
    while (nextToSend < starts.length && inFlight.size < IN_FLIGHT) {
      const i = starts[nextToSend++]!;
      const part = items.slice(i, i + size);
      const sending = opts.incident
        ? submitProvisional(client, opts.incident, part)
        : submitHashes(client, part);
      inFlight.set(
        i,
        sending.then(
          (res): Sent => ({ res }),
          (error: unknown): Sent => ({ error }),
        ),
      );
    }
  };
  sendMore();
  for (const i of starts) {
    const sent = await inFlight.get(i)!;
    inFlight.delete(i);
    if ("error" in sent) {
      await Promise.all(inFlight.values());
      throw sent.error;
    }
    const res = sent.res;
    if (!res.ok) {
      // The records sent after this one may have been stored: say exactly how many rows are.
      let later = 0;
      for (const [j, p] of inFlight) {
        const other = await p;
        if ("res" in other && other.res.ok) later += Math.min(size, items.length - j);
      }
      bar?.stop();
      const where = (res.problem.errors ?? []).slice(0, 5).map((e) => {
        const m = /^\/record\/items\/(\d+)\/?(.*)$/.exec(e.path);
        const row = m ? kept[i + Number(m[1])] : undefined;
        return row
          ? `${at(row)}: ${flagsInMessage(m![2] ?? "", e.message)}`
          : problemText({ ...res.problem, errors: [e] })
              .split("\n")[1]!
              .trim();
      });
      // Re-running helps only when the node could not take the batch now (busy, rate-limited,
      // down); a refusal of the list itself needs the list or the flags changed first.
      const transient = res.status === 429 || res.status >= 500;
      const stored = i + later;
      const done =
        stored > 0
          ? `${stored} of ${items.length} are stored${later > 0 ? ` (${later} of them sent after this batch)` : ""}; `
          : "";
      process.stderr.write(
        `${NAME}: the batch starting at row ${i + 1} was refused: ${problemText({ ...res.problem, errors: [] })}\n${where.map((w) => `  ${w}\n`).join("")}` +
          (transient
            ? `  ${done}re-run the same command to resume (values already stored are answered as existing).\n`
            : stored > 0
              ? `  ${done}after fixing this, re-running sends only what is not stored yet.\n`
              : ""),
      );
      return 1;
    }
    sendMore();
    if (res.data.receipt) receipts.push(res.data.receipt);
    for (const [j, s] of res.data.submissions.entries()) {
      if (s.outcome === "created") created++;
      else existing++;
      const row = kept[i + j]!;
      answers.push({ ...s, where: row.where, label: row.label });
    }
    bar?.update(Math.min(i + size, items.length));
  }
  bar?.stop();
  if (opts.ids) {
    await writeFile(
      opts.ids,
      `value,id,outcome\n${answers.map((s) => `${s.value},${s.id},${s.outcome}`).join("\n")}\n`,
    );
  }
  if (opts.json) {
    printJson({ created, existing, receipts, submissions: answers });
  } else {
    for (const s of answers)
      process.stdout.write(`${s.id},${s.signalType},${s.value},${s.outcome},${csv(s.label)}\n`);
  }
  process.stderr.write(`${NAME}: ${created} created, ${existing} already submitted (of ${items.length})\n`);
  return 0;
}

/**
 * `--type vpdq`: each input is one video (a vPDQ text file, or a video file hashed here first) and
 * one signed record. Every input is read and checked before anything is sent.
 */
async function submitVideos(inputs: string[], opts: Opts): Promise<number> {
  if (opts.incident)
    throw new UsageError("--incident: submit videos without it for now, or their frames as --type pdq");
  const secondsPerHash = Number(opts.secondsPerHash);
  if (!Number.isFinite(secondsPerHash) || secondsPerHash < 0)
    throw new UsageError("--seconds-per-hash: a number of seconds, 0 or more");
  if (inputs.includes("-")) throw new UsageError("--type vpdq reads files (vPDQ text or video), not stdin");
  const limbs = opts.limbs
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const labels = {
    limbs: limbs as SubmissionItem["limbs"],
    contentType: opts.contentType as SubmissionItem["contentType"],
    nationalProvision: opts.provision,
    ...(opts.force ? { force: true } : {}),
    ...(opts.tlp ? { tlp: opts.tlp as NonNullable<SubmissionItem["tlp"]> } : {}),
    ...(opts.expires ? { expiresAt: opts.expires } : {}),
    ...(opts.note ? { note: opts.note } : {}),
  };
  const { SubmissionItem: check } = await import("@eusn/protocol/submissions");
  const problems: string[] = [];
  const videos: { file: string; video: VideoFrames }[] = [];
  for (const file of inputs) {
    const got = await loadVideo(file, secondsPerHash);
    if (!got.ok) {
      problems.push(`${got.file}: ${got.reason}`);
      continue;
    }
    const checked = check.safeParse({
      ...labels,
      signalType: "vpdq",
      value: "0".repeat(64),
      video: { frameCount: got.video.frames.length, ...got.video },
    });
    if (!checked.success)
      for (const issue of checked.error.issues)
        problems.push(`${file}: ${flagsInMessage(issue.path.join("."), issue.message)}`);
    videos.push({ file, video: got.video });
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 10);
    if (problems.length > 10) shown.push(`… and ${problems.length - 10} more`);
    throw new Failure(`nothing was sent; fix these:\n${shown.map((p) => `  ${p}`).join("\n")}`);
  }
  const { client } = await connect(NAME, opts);
  let created = 0;
  let existing = 0;
  const answers: (SubmitResult["submissions"][number] & { file: string; frames: number })[] = [];
  for (const [i, { file, video }] of videos.entries()) {
    const res = await submitVideo(client, video, labels, opts.incident);
    if (!res.ok) {
      const done =
        i > 0 ? ` (${i} of ${videos.length} videos were stored before it; re-running skips them)` : "";
      process.stderr.write(`${NAME}: ${file} was refused: ${problemText(res.problem)}${done}\n`);
      return 1;
    }
    for (const s of res.data.submissions) {
      if (s.outcome === "created") created++;
      else existing++;
      answers.push({ ...s, file, frames: video.frames.length });
      if (!opts.json) process.stdout.write(`${s.id},${s.signalType},${s.value},${s.outcome},${csv(file)}\n`);
    }
  }
  if (opts.json) printJson({ created, existing, submissions: answers });
  process.stderr.write(
    `${NAME}: ${created} created, ${existing} already submitted (of ${videos.length} videos)\n`,
  );
  return 0;
}

/** The node's member names in its messages, as the flags the user types. */
function flagsInMessage(member: string, message: string): string {
  const text = message.replace(/set force\b/, "add --force");
  if (member === "" || member === "value" || member === "quality") return text;
  const flag: Record<string, string> = {
    limbs: "--limbs",
    nationalProvision: "--provision",
    contentType: "--content-type",
    expiresAt: "--expires",
    tlp: "--tlp",
    note: "--note",
  };
  const top = member.split(".")[0]!;
  return `${flag[top] ?? top}: ${text}`;
}

/** Where a row came from: the input and line, and its file name when it has one. */
function at(r: { where: string; label: string; line: number }): string {
  return r.label === `line ${r.line}` ? r.where : `${r.where}, ${r.label}`;
}

function csv(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}
