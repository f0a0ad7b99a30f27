// An authority's commands besides `eusn submit`: `assess` (concur or dissent on another
// authority's submission), `withdraw` (one's own), and `submissions` (mine, awaiting my assessment,
// or all; one entry with its signed history).
import { assess, getSubmission, listSubmissions, withdraw } from "@eusn/client";
import { TCO_LIMBS } from "@eusn/protocol/plain";
import { Argument, Command, Option } from "commander";
import { UsageError } from "../credential.ts";
import { type CommonOpts, connect, intOption, must, networked, run, show } from "../output.ts";
import { entryLine, entryText } from "./views.ts";

export function assessCommand(): Command {
  return networked(
    new Command("assess")
      .description("concur with or dissent from another authority's submission (a dissent needs --reason)")
      .argument("<submissionId>")
      .addArgument(new Argument("<verdict>").choices(["concur", "dissent"]))
      .addOption(
        new Option("--limb <a-e>", "the TCO Art 2(7) limb you assess")
          .choices(TCO_LIMBS)
          .makeOptionMandatory(),
      )
      .option("--reason <text>", "why (required for a dissent)"),
    [
      "eusn assess hsh_01jd… concur --key de.json --limb a",
      'eusn assess hsh_01jd… dissent --key de.json --limb a --reason "a news agency photograph"',
    ],
  ).action(
    run(
      "eusn assess",
      async (
        id: string,
        verdict: "concur" | "dissent",
        opts: CommonOpts & { limb: string; reason?: string },
      ) => {
        if (verdict === "dissent" && !opts.reason) throw new UsageError("a dissent needs --reason");
        const { client } = await connect("eusn assess", opts);
        const r = must(
          await assess(client, id, {
            verdict,
            limb: opts.limb,
            ...(opts.reason ? { reason: opts.reason } : {}),
          }),
          { reason: "--reason", limb: "--limb", submissionId: "submissionId" },
        );
        show(opts, r, () => `assessment ${r.subjectId}\n${verdict} ${id}\nrecord ${r.recordId}`);
        return 0;
      },
    ),
  );
}

export function withdrawCommand(): Command {
  return networked(
    new Command("withdraw")
      .description("withdraw your own submission; platforms that matched it are told")
      .argument("<submissionId>")
      .requiredOption("--reason <text>", "why"),
    ['eusn withdraw hsh_01jd… --key nl.json --reason "submitted in error"'],
  ).action(
    run("eusn withdraw", async (id: string, opts: CommonOpts & { reason: string }) => {
      const { client } = await connect("eusn withdraw", opts);
      const r = must(await withdraw(client, id, opts.reason), {
        reason: "--reason",
        submissionId: "submissionId",
      });
      show(opts, r, () => `withdrawn ${id}\nrecord ${r.recordId}`);
      return 0;
    }),
  );
}

type ListOpts = CommonOpts & {
  mine: boolean;
  awaiting: boolean;
  status?: string;
  baselineState?: string;
  limit?: string;
  after?: string;
};

export function submissionsCommand(): Command {
  return networked(
    new Command("submissions")
      .description(
        "list submissions (yours, awaiting your assessment, or all), or show one entry with its history",
      )
      .argument("[submissionId]", "show this entry and every signed record about it")
      .option("--mine", "your own submissions", false)
      .option("--awaiting", "other authorities' live submissions you have not assessed", false)
      .addOption(new Option("--status <status>").choices(["live", "withdrawn", "reversed"]))
      .addOption(
        new Option("--baseline-state <state>").choices([
          "none",
          "included",
          "disputed",
          "excluded",
          "retired",
        ]),
      )
      .option("--limit <n>", "at most this many (1..500)")
      .option("--after <id>", "continue after this id (the `next` of the previous page)"),
    [
      "eusn submissions --key de.json --awaiting",
      "eusn submissions --key nl.json --mine --baseline-state included",
      "eusn submissions hsh_01jd… --key nl.json",
    ],
  ).action(
    run("eusn submissions", async (id: string | undefined, opts: ListOpts) => {
      const { client } = await connect("eusn submissions", opts);
      if (id) {
        const d = must(await getSubmission(client, id));
        show(opts, d, () =>
          [
            entryText(d.submission),
            "history:",
            ...d.history.map((h) => {
              const s = h.summary;
              const extra = [s.verdict, s.limb && `limb ${s.limb}`, s.outcome, s.decision, s.ground, s.reason]
                .filter(Boolean)
                .join(", ");
              return `  ${h.receivedAt}  ${h.kind}  by ${h.issuer}  ${h.recordId}${extra ? `  (${extra})` : ""}`;
            }),
          ].join("\n"),
        );
        return 0;
      }
      if (opts.mine && opts.awaiting) throw new UsageError("--mine or --awaiting, not both");
      const limit = intOption("--limit", opts.limit, 1, 500);
      const page = must(
        await listSubmissions(client, {
          scope: opts.mine ? "mine" : opts.awaiting ? "awaiting" : "all",
          ...(opts.status ? { status: opts.status as "live" } : {}),
          ...(opts.baselineState ? { baselineState: opts.baselineState as "none" } : {}),
          ...(limit ? { limit } : {}),
          ...(opts.after ? { after: opts.after } : {}),
        }),
      );
      show(opts, page, () =>
        [...(page.submissions.length === 0 ? ["no submissions"] : page.submissions.map(entryLine))].join(
          "\n",
        ),
      );
      if (page.next && !opts.json)
        process.stderr.write(`eusn submissions: more after this page: --after ${page.next}\n`);
      return 0;
    }),
  );
}
