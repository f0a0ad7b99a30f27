// `eusn match`: checks a hash list against the network in batches of up to 1,000 (as a platform)
// and prints one CSV line per hit. Rows from `eusn hash --dihedral` carry their seven other
// variants to the node, so a rotated or mirrored copy matches; the hit names the variant.
// Matches are leads for human review.
import { HASH_LIST_DIHEDRAL, match } from "@eusn/client";
import type { MatchHit, MatchItem, MatchScope, SignalType, VpdqFrame } from "@eusn/protocol";
import { MATCH_SCOPES, SIGNAL_TYPES } from "@eusn/protocol/plain";
import { Command, Option } from "commander";
import { progressBar } from "../credential.ts";
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
  distance: string;
  quality: string;
  queryMatchPercent: string;
  targetMatchPercent: string;
  column?: string;
  scope: MatchScope;
  threshold: string;
  batch: string;
  progress: boolean;
};

const NAME = "eusn match";

export default function matchCommand(): Command {
  return networked(
    new Command("match")
      .description(
        "match hashes as a platform (`eusn hash` output in any format, or bare hex); prints label,value,entry,distance,baselineState,memberState,limbs (and the variant, for --dihedral rows)",
      )
      .argument("<inputs...>", "files of hashes, or - for stdin")
      .addOption(
        new Option(
          "--type <type>",
          "which value of each row to match (md5/sha256: from `eusn hash --exact`; vpdq: each input is a video, as a vPDQ text file or a video file)",
        )
          .choices(SIGNAL_TYPES)
          .default("pdq"),
      )
      .option("--column <name|n>", "the column holding the value: a header name, or a field number")
      .addOption(
        new Option("--scope <scope>", "the baseline, or every live submission")
          .choices(MATCH_SCOPES)
          .default("baseline"),
      )
      .option("--threshold <t>", "PDQ Hamming distance threshold 0..63", "31")
      .option("--seconds-per-hash <s>", "vpdq, for a video file: one frame hashed per this many seconds", "1")
      .option("--distance <d>", "vpdq: frames match within this Hamming distance 0..63", "31")
      .option("--quality <q>", "vpdq: frames below this quality are left out on both sides", "50")
      .option(
        "--query-match-percent <p>",
        "vpdq: share of the video's frames that must match a stored video's",
        "80",
      )
      .option(
        "--target-match-percent <p>",
        "vpdq: share of a stored video's frames that must match (set 80, and --query-match-percent 0, to find known videos inside a long upload)",
        "0",
      )
      .option("--batch <n>", "hashes per request (1..1000)", "1000")
      .option("--no-progress", "no progress bar"),
    [
      "eusn hash --dihedral upload.jpg | eusn match --key platform.json -",
      "eusn hash --exact uploads/ | eusn match --key platform.json --type sha256 -",
    ],
  ).action(run(NAME, matchHashes));
}

async function matchHashes(inputs: string[], opts: Opts): Promise<number> {
  if (opts.type === "vpdq") return matchVideos(inputs, opts);
  const size = intOption("--batch", opts.batch, 1, 1000)!;
  const threshold = intOption("--threshold", opts.threshold, 0, 63)!;
  const rows = await readHashInputs(NAME, inputs, {
    type: opts.type,
    ...(opts.column !== undefined ? { column: opts.column } : {}),
  });
  // The protocol's schemas are loaded when a command checks with one, not at every start.
  const { MatchItem: check } = await import("@eusn/protocol/match");
  const problems: string[] = [];
  const items = rows.map((r) => {
    const item =
      opts.type === "pdq"
        ? { type: "pdq" as const, value: r.value, ...(r.dihedral ? { dihedral: r.dihedral } : {}) }
        : { type: opts.type, value: r.value };
    const checked = check.safeParse(item);
    if (!checked.success) {
      for (const issue of checked.error.issues)
        problems.push(`${r.where}: ${issue.path.join(".") || "value"}: ${issue.message}`);
    }
    return item as MatchItem;
  });
  if (problems.length > 0) {
    const shown = problems.slice(0, 10);
    if (problems.length > 10) shown.push(`… and ${problems.length - 10} more`);
    throw new Failure(`nothing was sent; fix these rows:\n${shown.map((p) => `  ${p}`).join("\n")}`);
  }
  const { client } = await connect(NAME, opts);
  const withVariants = rows.some((r) => r.dihedral);
  const bar = await progressBar(rows.length, "matching", opts.progress && rows.length > size);
  const found: { where: string; label: string; value: string; variant: string; hit: MatchHit }[] = [];
  let baselineVersion = 0;
  let advisory = "";
  if (!opts.json)
    process.stdout.write(
      `label,value,entry,distance,baselineState,memberState,limbs${withVariants ? ",variant" : ""}\n`,
    );
  for (let i = 0; i < rows.length; i += size) {
    const part = rows.slice(i, i + size);
    const res = await match(client, { scope: opts.scope, threshold, items: items.slice(i, i + size) });
    if (!res.ok) {
      bar?.stop();
      throw new Failure(
        `the request for rows ${i + 1}-${i + part.length} was refused: ${problemText(res.problem)}`,
      );
    }
    baselineVersion = res.data.baselineVersion;
    advisory = res.data.advisory;
    for (const r of res.data.results) {
      const row = part[r.index]!;
      for (const m of r.matches) {
        // The node numbers the variants as sent: 0 the hash itself, n the nth of `dihedral`.
        const variant = row.dihedral ? HASH_LIST_DIHEDRAL[m.variant]! : "original";
        found.push({ where: row.where, label: row.label, value: row.value, variant, hit: m });
        if (!opts.json)
          process.stdout.write(
            `${csv(row.label)},${row.value},${m.submissionId},${m.distance},${m.baselineState},${m.memberState},${m.limbs.join(" ")}${withVariants ? `,${variant}` : ""}\n`,
          );
      }
    }
    bar?.update(Math.min(i + size, rows.length));
  }
  bar?.stop();
  if (opts.json) {
    printJson({
      baselineVersion,
      advisory,
      hits: found.map((f) => ({
        ...f.hit,
        input: f.where,
        label: f.label,
        hash: f.value,
        variantName: f.variant,
      })),
    });
  }
  process.stderr.write(
    `${NAME}: ${found.length} hit(s) for ${rows.length} hash(es). Matches are leads for human review, not removal orders.\n`,
  );
  return 0;
}

function csv(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

const ranges = (rs: readonly { start: number; end: number }[]) =>
  rs.map((x) => `${x.start.toFixed(3)}-${x.end.toFixed(3)}`).join(" ");

/**
 * `--type vpdq`: each input is one video and one request. Prints one line per hit: a stored video
 * with both percentages and the matched time ranges on each side, or a single frame that matched
 * a still-image entry.
 */
async function matchVideos(inputs: string[], opts: Opts): Promise<number> {
  const secondsPerHash = Number(opts.secondsPerHash);
  if (!Number.isFinite(secondsPerHash) || secondsPerHash < 0)
    throw new Failure("--seconds-per-hash: a number of seconds, 0 or more");
  if (inputs.includes("-")) throw new Failure("--type vpdq reads files (vPDQ text or video), not stdin");
  const settings = {
    distance: intOption("--distance", opts.distance, 0, 63)!,
    quality: intOption("--quality", opts.quality, 0, 100)!,
    queryMatchPercent: percent("--query-match-percent", opts.queryMatchPercent),
    targetMatchPercent: percent("--target-match-percent", opts.targetMatchPercent),
  };
  const videos: { file: string; frames: VpdqFrame[] }[] = [];
  const problems: string[] = [];
  for (const file of inputs) {
    const got = await loadVideo(file, secondsPerHash);
    if (got.ok) videos.push({ file, frames: got.video.frames });
    else problems.push(`${got.file}: ${got.reason}`);
  }
  if (problems.length > 0)
    throw new Failure(`nothing was sent; fix these:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  const { client } = await connect(NAME, opts);
  const found: (MatchHit & { input: string })[] = [];
  let baselineVersion = 0;
  let advisory = "";
  if (!opts.json)
    process.stdout.write(
      "file,entry,kind,queryMatchPercent,targetMatchPercent,queryRanges,entryRanges,baselineState,memberState,limbs\n",
    );
  for (const { file, frames } of videos) {
    const res = await match(client, {
      scope: opts.scope,
      items: [{ type: "vpdq", frames, ...settings }],
    });
    if (!res.ok) throw new Failure(`${file} was refused: ${problemText(res.problem)}`);
    baselineVersion = res.data.baselineVersion;
    advisory = res.data.advisory;
    for (const m of res.data.results[0]!.matches) {
      found.push({ ...m, input: file });
      if (opts.json) continue;
      const v = m.video;
      const cols = v
        ? [
            v.queryMatchPercent.toFixed(2),
            v.targetMatchPercent.toFixed(2),
            ranges(v.queryRanges),
            ranges(v.targetRanges),
          ]
        : ["", "", m.queryFrame ? m.queryFrame.timestamp.toFixed(3) : "", ""];
      process.stdout.write(
        `${csv(file)},${m.submissionId},${m.kind},${cols.join(",")},${m.baselineState},${m.memberState},${m.limbs.join(" ")}\n`,
      );
    }
  }
  if (opts.json) printJson({ baselineVersion, advisory, hits: found });
  process.stderr.write(
    `${NAME}: ${found.length} hit(s) for ${videos.length} video(s). Matches are leads for human review, not removal orders.\n`,
  );
  return 0;
}

function percent(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0 || n > 100)
    throw new Failure(`${flag}: a percentage 0-100`);
  return n;
}
