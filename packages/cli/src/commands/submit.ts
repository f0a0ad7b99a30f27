// `eusn submit`: loads a hash list into the network as signed submissions, 1,000 per signed
// record. Resumable: the node treats a value the authority already submitted as `existing`, so
// re-running after an interruption skips what landed and sends only the rest.
import { writeFile } from "node:fs/promises";
import { SIGNAL_TYPES, type SignalType, type SubmitResult, TLP_LEVELS } from "@eusn/protocol";
import { Command, Option } from "commander";
import { loadClient, progressBar, readHashLines, UsageError } from "../credential.ts";

type Opts = {
  key?: string;
  type: SignalType;
  limbs: string;
  contentType: string;
  provision: string;
  tlp?: string;
  expires?: string;
  force: boolean;
  batch: string;
  ids?: string;
  progress: boolean;
};

export default function submitCommand(): Command {
  return new Command("submit")
    .description(
      "submit hashes (lines of `hash,quality,file` as `eusn hash` prints, or bare hex) as an authority",
    )
    .argument("<inputs...>", "files with one hash per line, or - for stdin")
    .option("--key <file>", "credential file (default $EUSN_KEY)")
    .addOption(new Option("--type <type>", "signal type of the values").choices(SIGNAL_TYPES).default("pdq"))
    .requiredOption("--limbs <limbs>", "TCO Art 2(7) limbs, comma-separated, e.g. a,c")
    .requiredOption("--provision <text>", "the national legal provision relied on")
    .option("--content-type <type>", "image, video, audio, document, text or other", "image")
    .addOption(new Option("--tlp <level>", "TLP 2.0 marking").choices(TLP_LEVELS))
    .option("--expires <iso>", "expiry (ISO 8601)")
    .option("--force", "submit PDQ hashes below quality 50 (they are flagged)", false)
    .option("--batch <n>", "hashes per signed record (1..1000)", "1000")
    .option("--ids <file>", "write value,id,outcome lines here")
    .option("--no-progress", "no progress bar")
    .action(async (inputs: string[], opts: Opts) => {
      try {
        process.exitCode = await run(inputs, opts);
      } catch (e) {
        process.stderr.write(`eusn submit: ${(e as Error).message}\n`);
        process.exitCode = e instanceof UsageError ? 2 : 1;
      }
    });
}

async function run(inputs: string[], opts: Opts): Promise<number> {
  const client = await loadClient(opts.key);
  const size = Number(opts.batch);
  if (!Number.isInteger(size) || size < 1 || size > 1000) throw new UsageError("--batch must be 1..1000");
  const all = await readHashLines(inputs);
  // An all-zero PDQ hash (an image under 5 px) carries no information and is always refused:
  // skip it here, with a warning, instead of failing the whole batch.
  const seen = new Map<string, string>();
  const lines = all.filter((l) => {
    if (opts.type === "pdq" && /^0{64}$/.test(l.value)) {
      process.stderr.write(`eusn submit: skipping ${l.label}: all-zero PDQ hash (image too small)\n`);
      return false;
    }
    const first = seen.get(l.value);
    if (first !== undefined) {
      process.stderr.write(`eusn submit: skipping ${l.label}: same hash as ${first}\n`);
      return false;
    }
    seen.set(l.value, l.label);
    return true;
  });
  const limbs = opts.limbs
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const items = lines.map((l) => ({
    signalType: opts.type,
    value: l.value,
    ...(opts.type === "pdq" ? { quality: l.quality ?? 0, ...(opts.force ? { force: true } : {}) } : {}),
    limbs,
    contentType: opts.contentType,
    nationalProvision: opts.provision,
    ...(opts.tlp ? { tlp: opts.tlp } : {}),
    ...(opts.expires ? { expiresAt: opts.expires } : {}),
  }));
  const bar = await progressBar(items.length, "submitting", opts.progress && items.length > size);
  const out: string[] = [];
  let created = 0;
  let existing = 0;
  for (let i = 0; i < items.length; i += size) {
    const part = items.slice(i, i + size);
    const res = await client.write<SubmitResult>("/v1/submissions", "submission.create", { items: part });
    if (!res.ok) {
      bar?.stop();
      const where = (res.problem.errors ?? []).slice(0, 5).map((e) => {
        const m = /^\/record\/items\/(\d+)/.exec(e.path);
        return m ? `${lines[i + Number(m[1])]?.label}: ${e.message}` : `${e.path}: ${e.message}`;
      });
      process.stderr.write(
        `eusn submit: batch starting at line ${i + 1} refused (${res.problem.code}): ${res.problem.detail ?? res.problem.title}\n${where.map((w) => `  ${w}\n`).join("")}` +
          `  ${i} of ${items.length} were sent before; re-run to resume (already submitted values are skipped by the node).\n`,
      );
      return 1;
    }
    for (const s of res.data.submissions) {
      if (s.outcome === "created") created++;
      else existing++;
      out.push(`${s.value},${s.id},${s.outcome}`);
    }
    bar?.update(Math.min(i + size, items.length));
  }
  bar?.stop();
  if (opts.ids) await writeFile(opts.ids, `value,id,outcome\n${out.join("\n")}\n`);
  process.stderr.write(
    `eusn submit: ${created} created, ${existing} already submitted (of ${items.length})\n`,
  );
  return 0;
}
