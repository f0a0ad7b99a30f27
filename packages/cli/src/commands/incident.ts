// `eusn incident`: crisis incidents (docs/incidents.md). Coordinators declare, extend and close
// them; everyone lists them; `follow` prints an incident's new hashes as they arrive (the fast
// lane's long-poll) and can keep a file of the hashes to match now, replaced atomically (written
// beside it, then renamed), so a matcher reloading it never reads half a file.
import { rename, writeFile } from "node:fs/promises";
import {
  closeIncident,
  declareIncident,
  extendIncident,
  type FollowedSet,
  followIncident,
  getIncident,
  listIncidents,
} from "@eusn/client";
import type { IncidentView } from "@eusn/protocol";
import { Command } from "commander";
import { UsageError } from "../credential.ts";
import { type CommonOpts, connect, must, networked, printJson, run, show } from "../output.ts";

const HOUR = 3600_000;

function line(i: IncidentView): string {
  const p = i.provisional;
  return `${i.id}  ${i.status.padEnd(9)} ${i.startsAt} → ${i.closedAt ?? i.endsAt}  ${p.submitted} submitted, ${p.active} provisional, ${p.included} included, ${p.lapsed} lapsed  ${i.title}`;
}

/** A time: ISO 8601, or "+N h" / "+N d" from now. */
function when(flag: string, raw: string): string {
  const rel = /^\+(\d+(?:\.\d+)?)\s*([hd])$/.exec(raw.trim());
  if (rel) return new Date(Date.now() + Number(rel[1]) * (rel[2] === "d" ? 24 : 1) * HOUR).toISOString();
  const t = Date.parse(raw);
  if (Number.isNaN(t)) throw new UsageError(`${flag}: an ISO 8601 time or +N h / +N d, not ${raw}`);
  return new Date(t).toISOString();
}

/** The followed set as the file a matcher reloads: `type,value,submission,lapses` lines. */
function fileText(set: FollowedSet): string {
  const rows = [...set.values()].map(
    (v) => `${v.signalType},${v.value},${v.submissionId},${v.lapsesAt ?? ""}`,
  );
  return `type,value,submission,lapses\n${rows.join("\n")}${rows.length ? "\n" : ""}`;
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

export default function incidentCommand(): Command {
  const cmd = new Command("incident").description(
    "crisis incidents: declare, extend, close (coordinator); list and follow their hashes (everyone)",
  );
  cmd.addCommand(
    networked(
      new Command("declare")
        .description("declare an incident (coordinator): ends at most 72 h after it starts")
        .requiredOption("--title <text>")
        .requiredOption("--description <text>")
        .requiredOption("--requested-by <states>", "member states that asked for it, comma-separated")
        .option("--starts <when>", "ISO 8601 or +N h; default now")
        .option("--ends <when>", "ISO 8601 or +N h / +N d from now", "+24h")
        .option("--public", "list its title and dates publicly and publish its counts-only summary", false),
      [
        'eusn incident declare --key coordinator.json --title "Livestreamed attack" --description "Copies spreading" --requested-by NL,DE --ends +24h',
      ],
    ).action(
      run(
        "eusn incident declare",
        async (
          opts: CommonOpts & {
            title: string;
            description: string;
            requestedBy: string;
            starts?: string;
            ends: string;
            public: boolean;
          },
        ) => {
          const { client } = await connect("eusn incident declare", opts);
          const r = must(
            await declareIncident(client, {
              title: opts.title,
              description: opts.description,
              requestedBy: opts.requestedBy
                .split(",")
                .map((s) => s.trim())
                .filter(Boolean),
              startsAt: opts.starts ? when("--starts", opts.starts) : new Date().toISOString(),
              endsAt: when("--ends", opts.ends),
              public: opts.public,
            }),
            {
              title: "--title",
              description: "--description",
              requestedBy: "--requested-by",
              startsAt: "--starts",
              endsAt: "--ends",
            },
          );
          show(opts, r, () => `incident ${r.incident.id}\n${line(r.incident)}`);
          return 0;
        },
      ),
    ),
  );
  cmd.addCommand(
    networked(
      new Command("extend")
        .description("move an active incident's end later (coordinator; at most 7 days from its start)")
        .argument("<incidentId>")
        .requiredOption("--ends <when>", "ISO 8601 or +N h / +N d from now")
        .requiredOption("--reason <text>"),
      ['eusn incident extend inc_01jd… --key coordinator.json --ends +48h --reason "copies still spreading"'],
    ).action(
      run("eusn incident extend", async (id: string, opts: CommonOpts & { ends: string; reason: string }) => {
        const { client } = await connect("eusn incident extend", opts);
        const r = must(await extendIncident(client, id, when("--ends", opts.ends), opts.reason), {
          endsAt: "--ends",
          reason: "--reason",
        });
        show(opts, r, () => line(r.incident));
        return 0;
      }),
    ),
  );
  cmd.addCommand(
    networked(
      new Command("close")
        .description("close an incident (coordinator): its unconfirmed provisional entries lapse at once")
        .argument("<incidentId>")
        .requiredOption("--reason <text>"),
      ['eusn incident close inc_01jd… --key coordinator.json --reason "contained"'],
    ).action(
      run("eusn incident close", async (id: string, opts: CommonOpts & { reason: string }) => {
        const { client } = await connect("eusn incident close", opts);
        const r = must(await closeIncident(client, id, opts.reason), { reason: "--reason" });
        show(opts, r, () => line(r.incident));
        return 0;
      }),
    ),
  );
  cmd.addCommand(
    networked(
      new Command("list")
        .description("incidents, newest first; with an id, that one")
        .argument("[incidentId]")
        .option("--active", "only those active now", false),
      ["eusn incident list --key platform.json --active"],
    ).action(
      run("eusn incident list", async (id: string | undefined, opts: CommonOpts & { active: boolean }) => {
        const { client } = await connect("eusn incident list", opts);
        if (id) {
          const i = must(await getIncident(client, id));
          show(opts, i, () => line(i));
        } else {
          const l = must(await listIncidents(client, opts.active));
          show(opts, l, () => l.incidents.map(line).join("\n") || "no incidents");
        }
        return 0;
      }),
    ),
  );
  cmd.addCommand(
    networked(
      new Command("follow")
        .description(
          "print an incident's hashes as they arrive (add/remove lines); --out keeps a file of the hashes to match now, replaced atomically",
        )
        .argument("<incidentId>")
        .option("--out <file>", "keep type,value,submission,lapses lines of the current set here")
        .option("--after <seq>", "start after this cursor (default: from the beginning)", "0")
        .option("--once", "print what is there now and stop", false),
      ["eusn incident follow inc_01jd… --key platform.json --out incident-hashes.csv"],
    ).action(
      run(
        "eusn incident follow",
        async (id: string, opts: CommonOpts & { out?: string; after: string; once: boolean }) => {
          const { client } = await connect("eusn incident follow", opts);
          const stop = new AbortController();
          process.once("SIGINT", () => stop.abort());
          process.once("SIGTERM", () => stop.abort());
          if (opts.out) await writeAtomically(opts.out, fileText(new Map()));
          const after = Number(opts.after);
          if (!Number.isInteger(after) || after < 0) throw new UsageError("--after: a cursor, 0 or more");
          await followIncident(client, id, {
            after,
            waitS: opts.once ? 0 : 25,
            signal: stop.signal,
            async onPage(page, set) {
              for (const c of page.changes) {
                if (opts.json) printJson(c);
                else
                  process.stdout.write(`${c.op} ${c.signalType} ${c.value} ${c.submissionId} ${c.change}\n`);
              }
              if (opts.out) await writeAtomically(opts.out, fileText(set));
              if (opts.once && !page.more) stop.abort();
            },
          });
          return 0;
        },
      ),
    ),
  );
  return cmd;
}
