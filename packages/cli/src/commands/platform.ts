// A platform's commands besides `eusn match`: `feedback` on what a match turned out to be,
// `reversals` (entries it matched that were withdrawn, reversed or excluded; --follow),
// `baseline sync DIR` (a local copy kept current: the ETag says whether anything changed, the
// page cursor reads it all, files replaced atomically) and `export` (the hash list as the node
// exports it, resumable by cursor).
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { exportPage, feedback, fullBaseline, type ReversalPage, reversals } from "@eusn/client";
import type { BaselineEntry, ExportLine } from "@eusn/protocol";
import { Argument, Command, Option } from "commander";
import { UsageError } from "../credential.ts";
import { type CommonOpts, connect, intOption, must, networked, run, show, sleep } from "../output.ts";

export function feedbackCommand(): Command {
  return networked(
    new Command("feedback")
      .description("report what a match turned out to be (only for entries you matched)")
      .argument("<submissionId>")
      .addArgument(new Argument("<outcome>").choices(["true_positive", "false_positive", "not_actioned"]))
      .option("--note <text>", "a note (no personal data)"),
    ['eusn feedback hsh_01jd… false_positive --key platform.json --note "a museum exhibit photo"'],
  ).action(
    run(
      "eusn feedback",
      async (
        id: string,
        outcome: "true_positive" | "false_positive" | "not_actioned",
        opts: CommonOpts & { note?: string },
      ) => {
        const { client } = await connect("eusn feedback", opts);
        const r = must(await feedback(client, id, { outcome, ...(opts.note ? { note: opts.note } : {}) }), {
          note: "--note",
          submissionId: "submissionId",
        });
        show(opts, r, () => `feedback ${r.subjectId}\n${outcome} ${id}\nrecord ${r.recordId}`);
        return 0;
      },
    ),
  );
}

type ReversalOpts = CommonOpts & { after?: string; cursor?: string; follow: boolean; interval: string };

export function reversalsCommand(): Command {
  return networked(
    new Command("reversals")
      .description(
        "entries you matched that were withdrawn, reversed or excluded since a cursor: act on them (content removed because of one may need restoring)",
      )
      .option("--after <seq>", "start after this cursor (default 0, or what --cursor holds)")
      .option("--cursor <file>", "read the cursor from this file and write the new one back (for cron jobs)")
      .option("--follow", "keep printing new ones until interrupted", false)
      .option("--interval <seconds>", "with --follow: seconds between polls", "30"),
    [
      "eusn reversals --key platform.json --cursor reversals.cursor",
      "eusn reversals --key platform.json --follow --json",
    ],
  ).action(
    run("eusn reversals", async (opts: ReversalOpts) => {
      const { client } = await connect("eusn reversals", opts);
      let after = intOption("--after", opts.after, 0, Number.MAX_SAFE_INTEGER) ?? -1;
      if (after < 0 && opts.cursor) {
        const saved = await readFile(opts.cursor, "utf8").catch(() => "0");
        after = intOption(`the cursor in ${opts.cursor}`, saved.trim() || "0", 0, Number.MAX_SAFE_INTEGER)!;
      }
      if (after < 0) after = 0;
      const interval = intOption("--interval", opts.interval, 1, 3600)!;
      const all: unknown[] = [];
      for (;;) {
        const page: ReversalPage = must(await reversals(client, { after, limit: 1000 }), {
          after: "--after",
        });
        for (const r of page.reversals) {
          if (opts.json && !opts.follow) all.push(r);
          else
            process.stdout.write(
              opts.json
                ? `${JSON.stringify(r)}\n`
                : `${r.seq}  ${r.at}  ${r.change}  ${r.submissionId}  ${r.signalType} ${r.value}${r.ground ? `  ground ${r.ground}` : ""}${r.reason ? `  "${r.reason}"` : ""}\n`,
            );
          after = r.seq;
        }
        if (opts.cursor) await writeFile(opts.cursor, `${after}\n`);
        if (page.next !== null) {
          after = page.next;
          continue;
        }
        if (!opts.follow) break;
        await sleep(interval * 1000);
      }
      if (opts.json && !opts.follow)
        process.stdout.write(`${JSON.stringify({ reversals: all, next: after }, null, 2)}\n`);
      else if (!opts.json) process.stderr.write(`eusn reversals: cursor ${after}\n`);
      return 0;
    }),
  );
}

/** The files `baseline sync` keeps: the export formats a matcher bulk-loads, and the sync state. */
export const SYNC_FILES = { csv: "baseline.csv", jsonl: "baseline.jsonl", state: "sync-state.json" } as const;

type SyncState = {
  nodeId: string;
  baseUrl: string;
  version: number;
  etag: string;
  count: number;
  syncedAt: string;
};

function exportLine(e: BaselineEntry): ExportLine {
  return {
    type: e.signalType,
    value: e.value,
    id: e.id,
    quality: e.quality,
    state: e.state,
    tlp: e.tlp,
    expiresAt: e.expiresAt,
  };
}

async function replace(file: string, text: string): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    await writeFile(temp, text);
    await rename(temp, file);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
}

export function baselineCommand(): Command {
  const baseline = new Command("baseline").description("the EU baseline, kept locally");
  baseline.addCommand(
    networked(
      new Command("sync")
        .description(
          `keep a local copy of the baseline in DIR current: ${SYNC_FILES.csv} (type,value,id) and ${SYNC_FILES.jsonl}, as the node's export; unchanged baselines cost one request (ETag)`,
        )
        .argument("<dir>"),
      [
        "eusn baseline sync --key platform.json ./baseline",
        "eusn baseline sync --key platform.json ./baseline --json",
      ],
    ).action(
      run("eusn baseline sync", async (dir: string, opts: CommonOpts) => {
        const { client } = await connect("eusn baseline sync", opts);
        await mkdir(dir, { recursive: true });
        const stateFile = path.join(dir, SYNC_FILES.state);
        let state: SyncState | undefined;
        try {
          state = JSON.parse(await readFile(stateFile, "utf8")) as SyncState;
        } catch {
          state = undefined;
        }
        if (state && state.nodeId !== client.nodeId)
          throw new UsageError(
            `${dir} holds the baseline of node ${state.nodeId}, not of ${client.nodeId}: use another directory`,
          );
        const res = must(await fullBaseline(client, state ? { etag: state.etag } : {}));
        if (res.unchanged) {
          show(
            opts,
            { changed: false, ...state },
            () => `unchanged: version ${state!.version}, ${state!.count} entries in ${dir}`,
          );
          return 0;
        }
        const lines = res.entries.map(exportLine);
        await replace(
          path.join(dir, SYNC_FILES.csv),
          `type,value,id\n${lines.map((l) => `${l.type},${l.value},${l.id}\n`).join("")}`,
        );
        await replace(path.join(dir, SYNC_FILES.jsonl), lines.map((l) => `${JSON.stringify(l)}\n`).join(""));
        const next: SyncState = {
          nodeId: client.nodeId,
          baseUrl: client.baseUrl,
          version: res.version,
          etag: res.etag,
          count: lines.length,
          syncedAt: new Date().toISOString(),
        };
        // The state goes last: if anything above failed, the next run fetches everything again.
        await replace(stateFile, `${JSON.stringify(next, null, 2)}\n`);
        show(
          opts,
          { changed: true, ...next },
          () =>
            `updated: version ${res.version}, ${lines.length} entries${state ? ` (was version ${state.version}, ${state.count})` : ""} in ${dir}`,
        );
        return 0;
      }),
    ),
  );
  return baseline;
}

type ExportOpts = CommonOpts & { format: "csv" | "jsonl"; after: string; out?: string; limit?: string };

export function exportCommand(): Command {
  return networked(
    new Command("export")
      .description(
        "the baseline as a hash list (csv type,value,id or jsonl), from a cursor; prints the next cursor on stderr (only inclusions: removals come through `eusn reversals` or a full `baseline sync`)",
      )
      .addOption(new Option("--format <format>").choices(["csv", "jsonl"]).default("csv"))
      .option("--after <cursor>", "continue after this cursor (the `next` printed last time)", "0")
      .option("--limit <n>", "entries per request (1..50000)")
      .option("--out <file>", "write here instead of stdout"),
    [
      "eusn export --key platform.json --format csv --out baseline.csv",
      "eusn export --key platform.json --format jsonl --after 1234 >> baseline.jsonl",
    ],
  ).action(
    run("eusn export", async (opts: ExportOpts) => {
      if (opts.json && !opts.out)
        throw new UsageError("--json prints a summary: name the file for the list with --out");
      const { client } = await connect("eusn export", opts);
      let after = intOption("--after", opts.after, 0, Number.MAX_SAFE_INTEGER)!;
      const limit = intOption("--limit", opts.limit, 1, 50_000);
      const chunks: string[] = [];
      let count = 0;
      let version = 0;
      for (let first = true; ; first = false) {
        const page = must(
          await exportPage(client, { format: opts.format, after, ...(limit ? { limit } : {}) }),
          {
            after: "--after",
            limit: "--limit",
            format: "--format",
          },
        );
        // The csv header comes once, not once per page.
        const body = opts.format === "csv" && !first ? page.body.replace(/^type,value,id\n/, "") : page.body;
        chunks.push(body);
        count += body.split("\n").filter((l) => l && l !== "type,value,id").length;
        after = page.next;
        version = page.version;
        if (!page.more) break;
      }
      const text = chunks.join("");
      if (opts.out) await replace(opts.out, text);
      else if (!opts.json) process.stdout.write(text);
      if (opts.json)
        process.stdout.write(
          `${JSON.stringify({ count, next: after, version, ...(opts.out ? { out: opts.out } : {}) }, null, 2)}\n`,
        );
      else
        process.stderr.write(
          `eusn export: ${count} entries (baseline version ${version}); next cursor ${after}\n`,
        );
      return 0;
    }),
  );
}
