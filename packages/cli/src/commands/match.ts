// `eusn match`: checks a hash list against the network in batches of up to 1,000 (as a
// platform) and prints one CSV line per hit. Matches are leads for human review.
import { MATCH_SCOPES, type MatchScope, SIGNAL_TYPES, type SignalType } from "@eusn/protocol";
import { Command, Option } from "commander";
import { loadClient, progressBar, readHashLines, UsageError } from "../credential.ts";

type Opts = {
  key?: string;
  type: SignalType;
  scope: MatchScope;
  threshold: string;
  batch: string;
  progress: boolean;
};
export default function matchCommand(): Command {
  return new Command("match")
    .description(
      "match hashes (lines of `hash,quality,file` or bare hex) as a platform; prints label,value,entry,distance,baselineState,memberState,limbs",
    )
    .argument("<inputs...>", "files with one hash per line, or - for stdin")
    .option("--key <file>", "credential file (default $EUSN_KEY)")
    .addOption(new Option("--type <type>", "signal type of the values").choices(SIGNAL_TYPES).default("pdq"))
    .addOption(
      new Option("--scope <scope>", "baseline or every live submission")
        .choices(MATCH_SCOPES)
        .default("baseline"),
    )
    .option("--threshold <t>", "PDQ Hamming distance threshold 0..63", "31")
    .option("--batch <n>", "hashes per request (1..1000)", "1000")
    .option("--no-progress", "no progress bar")
    .action(async (inputs: string[], opts: Opts) => {
      try {
        process.exitCode = await run(inputs, opts);
      } catch (e) {
        process.stderr.write(`eusn match: ${(e as Error).message}\n`);
        process.exitCode = e instanceof UsageError ? 2 : 1;
      }
    });
}

async function run(inputs: string[], opts: Opts): Promise<number> {
  const client = await loadClient(opts.key);
  const size = Number(opts.batch);
  const threshold = Number(opts.threshold);
  if (!Number.isInteger(size) || size < 1 || size > 1000) throw new UsageError("--batch must be 1..1000");
  if (!Number.isInteger(threshold) || threshold < 0 || threshold > 63)
    throw new UsageError("--threshold must be 0..63");
  const lines = await readHashLines(inputs);
  const bar = await progressBar(lines.length, "matching", opts.progress && lines.length > size);
  process.stdout.write("label,value,entry,distance,baselineState,memberState,limbs\n");
  let hits = 0;
  for (let i = 0; i < lines.length; i += size) {
    const part = lines.slice(i, i + size);
    const res = await client.match({
      scope: opts.scope,
      threshold,
      items: part.map((l) => ({ type: opts.type, value: l.value })),
    });
    if (!res.ok) {
      bar?.stop();
      process.stderr.write(
        `eusn match: request for lines ${i + 1}-${i + part.length} refused (${res.problem.code}): ${res.problem.detail ?? res.problem.title}\n`,
      );
      for (const e of (res.problem.errors ?? []).slice(0, 5))
        process.stderr.write(`  ${e.path}: ${e.message}\n`);
      return 1;
    }
    for (const r of res.data.results) {
      const l = part[r.index]!;
      for (const m of r.matches) {
        hits++;
        process.stdout.write(
          `${csv(l.label)},${l.value},${m.submissionId},${m.distance},${m.baselineState},${m.memberState},${m.limbs.join(" ")}\n`,
        );
      }
    }
    bar?.update(Math.min(i + size, lines.length));
  }
  bar?.stop();
  process.stderr.write(
    `eusn match: ${hits} hit(s) for ${lines.length} hash(es). Matches are leads for human review, not removal orders.\n`,
  );
  return 0;
}

function csv(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}
