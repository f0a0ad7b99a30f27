// `eusn statement`: a platform's statements of reasons. `new` documents an action taken on a match
// and prints the statement for the person affected (or the DSA Transparency Database document, or
// both as JSON); `list` shows the platform's statements, `--affected` those whose entry was
// reversed, withdrawn or voided since (the people to tell). EUSN files nothing with the database:
// the platform does.
import type { StatementPage, StatementView } from "@eusn/protocol";
import { EEA_COUNTRIES, STATEMENT_ACTIONS, STATEMENT_LANGUAGES } from "@eusn/protocol/plain";
import { Command, Option } from "commander";
import { UsageError } from "../credential.ts";
import { type CommonOpts, connect, networked, run } from "../output.ts";

const FORMATS = ["text", "dsa", "json"] as const;

type NewOpts = CommonOpts & {
  entry: string;
  contentRef: string;
  action: string[];
  language: string;
  reviewer: string;
  reviewedAt?: string;
  contentDate: string;
  appliedOn?: string;
  territory?: string;
  complaintUrl: string;
  outOfCourtBody?: string;
  accountType?: string;
  format: (typeof FORMATS)[number];
};

type ListOpts = CommonOpts & { affected?: boolean; language?: string; format: "text" | "json" };

const collect = (v: string, prev: string[]) => [...prev, v];

export default function statementCommand(): Command {
  const cmd = new Command("statement").description(
    "statements of reasons for actions on matches (platform): the text for the user and the DSA Transparency Database document",
  );
  const made = networked(
    new Command("new").description(
      "document an action taken on content that matched an entry, and print the statement",
    ),
    [
      'eusn statement new --key social.json --entry hsh_01jd… --content-ref post-4711 --action content_removed --reviewer "Trust & Safety analyst R-41" --content-date 2026-03-01 --complaint-url https://social.example/appeals',
    ],
  );
  cmd.addCommand(made);
  made
    .requiredOption("--entry <id>", "the entry (hsh_…) the content matched")
    .requiredOption(
      "--content-ref <ref>",
      "your own reference of the content (never the content, a URL or a user id)",
    )
    .addOption(
      new Option("--action <action>", "what you did (repeat for several)")
        .choices(STATEMENT_ACTIONS)
        .argParser(collect)
        .default([]),
    )
    .requiredOption(
      "--reviewer <who>",
      "who reviewed the match before the decision (role or team and reference)",
    )
    .option("--reviewed-at <iso>", "when the review took place (default: now)")
    .requiredOption("--content-date <date>", "when the content was posted (YYYY-MM-DD)")
    .option("--applied-on <date>", "when the action took effect (YYYY-MM-DD, default: today)")
    .requiredOption("--complaint-url <url>", "your complaint procedure (https)")
    .addOption(
      new Option("--language <lang>", "language of the statement's fixed parts")
        .choices(STATEMENT_LANGUAGES)
        .default("en"),
    )
    .option("--territory <codes>", "where the restriction applies, comma-separated (default: the EU)")
    .option("--out-of-court-body <name>", "a certified out-of-court dispute settlement body to name")
    .addOption(
      new Option("--account-type <type>", "the account's type, when known").choices(["business", "private"]),
    )
    .addOption(
      new Option("--format <format>", "text: the user statement; dsa: the DSA database document; json: both")
        .choices(FORMATS)
        .default("text"),
    )
    .action(run("eusn statement new", (opts: NewOpts) => create(opts)));
  const listed = networked(new Command("list").description("list my statements, newest first"), [
    "eusn statement list --key social.json --affected",
  ]);
  cmd.addCommand(listed);
  listed
    .option("--affected", "only those whose entry was reversed, withdrawn or voided since")
    .addOption(
      new Option("--language <lang>", "render the fixed parts in this language").choices(STATEMENT_LANGUAGES),
    )
    .addOption(
      new Option("--format <format>", "text: one line each; json: the statements")
        .choices(["text", "json"])
        .default("text"),
    )
    .action(run("eusn statement list", (opts: ListOpts) => list(opts)));
  return cmd;
}

function refused(
  what: string,
  p: { code: string; detail?: string; title: string; errors?: { path: string; message: string }[] },
) {
  process.stderr.write(`eusn statement ${what}: refused (${p.code}): ${p.detail ?? p.title}\n`);
  for (const e of (p.errors ?? []).slice(0, 5)) process.stderr.write(`  ${e.path}: ${e.message}\n`);
  return 1;
}

async function create(o: NewOpts): Promise<number> {
  if (o.action.length === 0)
    throw new UsageError(`name what you did with --action (${STATEMENT_ACTIONS.join(", ")})`);
  const territory = o.territory?.split(",").map((s) => s.trim().toUpperCase());
  for (const t of territory ?? [])
    if (!(EEA_COUNTRIES as readonly string[]).includes(t))
      throw new UsageError(`--territory: ${t} is not an EU/EEA country`);
  const { client } = await connect("eusn statement new", o);
  const res = await client.write<{ statement: StatementView }>("/v1/statements", "statement.create", {
    submissionId: o.entry,
    contentRef: o.contentRef,
    actions: o.action,
    language: o.language,
    reviewer: o.reviewer,
    reviewedAt: o.reviewedAt ?? new Date().toISOString(),
    contentDate: o.contentDate,
    appliedOn: o.appliedOn ?? new Date().toISOString().slice(0, 10),
    complaintUrl: o.complaintUrl,
    ...(territory ? { territorialScope: territory } : {}),
    ...(o.outOfCourtBody ? { outOfCourtBody: o.outOfCourtBody } : {}),
    ...(o.accountType ? { accountType: o.accountType } : {}),
  });
  if (!res.ok) return refused("new", res.problem);
  const s = res.data.statement;
  // --json, as on every networked command, prints the node's answer: both forms.
  if (o.json) process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
  else if (o.format === "text") process.stdout.write(s.user.text);
  else process.stdout.write(`${JSON.stringify(o.format === "dsa" ? s.dsa : s, null, 2)}\n`);
  process.stderr.write(
    `eusn statement new: ${s.id} stored. Send the text to the person affected; file the DSA document with the DSA Transparency Database yourself.\n`,
  );
  return 0;
}

async function list(o: ListOpts): Promise<number> {
  const { client } = await connect("eusn statement list", o);
  const all: StatementView[] = [];
  for (let after: string | null = ""; after !== null; ) {
    const q = new URLSearchParams({ limit: "200" });
    if (o.affected) q.set("affected", "true");
    if (o.language) q.set("language", o.language);
    if (after) q.set("after", after);
    const res = await client.get<StatementPage>(`/v1/statements?${q}`);
    if (!res.ok) return refused("list", res.problem);
    all.push(...res.data.statements);
    after = res.data.next;
  }
  if (o.format === "json" || o.json) process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
  else
    for (const s of all)
      process.stdout.write(
        `${s.id} ${s.createdAt.slice(0, 10)} ${s.submissionId} ${s.contentRef} ${s.actions.join("+")}${s.affected ? ` AFFECTED: ${s.affected.change} ${s.affected.at.slice(0, 10)}${s.affected.ground ? ` (${s.affected.ground})` : ""}` : ""}\n`,
      );
  return 0;
}
