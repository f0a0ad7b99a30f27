// `eusn report tco`: the transparency report figures under TCO Art. 8 that EUSN knows, per quarter,
// as CSV (one row per figure and quarter, with the ids of the records each counts) or JSON. An
// authority gets its own; a coordinator every authority's, a member state's authorities together
// with --member-state, or one authority's with --authority.
import { REPORT_FORMATS } from "@eusn/protocol/plain";
import { Command, Option } from "commander";
import { UsageError } from "../credential.ts";
import { type CommonOpts, connect, networked, run as runCommand } from "../output.ts";

type Opts = CommonOpts & {
  year: string;
  format: (typeof REPORT_FORMATS)[number];
  authority?: string;
  memberState?: string;
  from?: string;
  to?: string;
};

export default function reportCommand(): Command {
  const cmd = new Command("report").description("transparency reports (authority, coordinator)");
  const tco = networked(
    new Command("tco").description(
      "the TCO Art. 8 figures of a year, per quarter, each with the records it counts",
    ),
    [
      "eusn report tco --key nl.json --year 2026 --format csv",
      "eusn report tco --key coordinator.json --year 2026 --member-state NL --format json",
      "eusn report tco --key nl.json --year 2026 --from 2026-01-01 --to 2026-07-01",
    ],
  );
  cmd.addCommand(tco);
  tco
    .requiredOption("--year <year>", "calendar year (UTC)")
    .option("--from <date>", "count from this day of the year on (YYYY-MM-DD, UTC)")
    .option("--to <date>", "count up to this day, exclusive (YYYY-MM-DD, UTC; at most the next 1 January)")
    .addOption(new Option("--format <format>", "csv or json").choices(REPORT_FORMATS).default("csv"))
    .option("--authority <id>", "coordinators: one authority's report (default: all)")
    .option("--member-state <code>", "coordinators: a member state's authorities together (e.g. NL)")
    .action(runCommand("eusn report tco", (opts: Opts) => run(opts)));
  return cmd;
}

async function run(o: Opts): Promise<number> {
  if (!/^[0-9]{4}$/.test(o.year)) throw new UsageError("--year is a calendar year, e.g. 2026");
  const { client } = await connect("eusn report tco", o);
  // --json, as on every networked command, is the JSON form.
  const q = new URLSearchParams({ year: o.year, format: o.json ? "json" : o.format });
  if (o.authority && o.memberState)
    throw new UsageError("name one authority (--authority) or one member state (--member-state), not both");
  if (o.authority) q.set("authority", o.authority);
  if (o.memberState) q.set("memberState", o.memberState.toUpperCase());
  if (o.from) q.set("from", o.from);
  if (o.to) q.set("to", o.to);
  const res = await client.get<unknown>(`/v1/reports/tco?${q}`);
  if (!res.ok) {
    process.stderr.write(
      `eusn report tco: refused (${res.problem.code}): ${res.problem.detail ?? res.problem.title}\n`,
    );
    return 1;
  }
  process.stdout.write(typeof res.data === "string" ? res.data : `${JSON.stringify(res.data, null, 2)}\n`);
  return 0;
}
