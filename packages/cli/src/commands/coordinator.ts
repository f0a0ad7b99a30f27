// A coordinator's commands: `admit` and `revoke` participants (with a second signature:
// `requests` lists what waits for one, `countersign` gives it, `withdraw-request` takes a request
// back while it waits), `decide` on baseline entries
// (citing the live assessments that count, unless told which), `reverse` a submission,
// `curation` (the queues) and `audit` (the trail, newest first, filtered, or followed).
import {
  type AuditPage,
  admit,
  auditPage,
  countersign,
  curation,
  decide,
  type EusnClient,
  registryRequests,
  reverse,
  revoke,
  withdrawRequest,
} from "@eusn/client";
import type { PublicJwk, RegistryRequestView } from "@eusn/protocol";
import { EU_MEMBER_STATES, ROLES } from "@eusn/protocol/plain";
import { Argument, Command, Option } from "commander";
import { readInput, UsageError } from "../credential.ts";
import { type CommonOpts, connect, intOption, must, networked, run, show, sleep } from "../output.ts";
import { entryLine } from "./views.ts";

const collect = (v: string, prev: string[]) => [...prev, v];

/** The request `recordId` made, if it waits for a second signature (an authority's admission or revocation). */
async function pendingRequest(
  client: EusnClient,
  recordId: string,
): Promise<RegistryRequestView | undefined> {
  const list = await registryRequests(client, "pending");
  return list.ok ? list.data.requests.find((q) => q.requestRecordId === recordId) : undefined;
}

const requestLine = (q: RegistryRequestView) =>
  [
    q.requestRecordId,
    q.action,
    q.participantId,
    q.memberState ?? "--",
    `by ${q.requestedBy}`,
    q.status === "completed" ? `countersigned by ${q.completedBy}` : q.status,
    JSON.stringify(q.displayName),
    ...(q.status === "void" ? [JSON.stringify(q.voidReason)] : []),
  ].join(" ");

const REQUEST_STATUSES = ["pending", "completed", "withdrawn", "void"] as const;

export function requestsCommand(): Command {
  return networked(
    new Command("requests")
      .description(
        "admissions and revocations waiting for their second signature, or with --status the completed, withdrawn or void ones (one line each: request record, action, participant, member state, requester, status, name; a void one also its reason)",
      )
      .addOption(
        new Option(
          "--status <status>",
          "which requests: waiting, in effect, withdrawn by their signer, or void",
        )
          .choices([...REQUEST_STATUSES])
          .default("pending"),
      )
      .option("--completed", "the countersigned ones (the same as --status completed)", false),
    [
      "eusn requests --key coordinator-2.json",
      "eusn requests --status withdrawn",
      "eusn requests --completed --json",
    ],
  ).action(
    run(
      "eusn requests",
      async (opts: CommonOpts & { completed: boolean; status: (typeof REQUEST_STATUSES)[number] }) => {
        if (opts.completed && opts.status !== "pending" && opts.status !== "completed")
          throw new UsageError(`--completed and --status ${opts.status} ask for different requests`);
        const { client } = await connect("eusn requests", opts);
        const r = must(await registryRequests(client, opts.completed ? "completed" : opts.status));
        show(opts, r, () => r.requests.map(requestLine).join("\n"));
        return 0;
      },
    ),
  );
}

export function countersignCommand(): Command {
  return networked(
    new Command("countersign")
      .description(
        "give an admission or revocation its second signature (another coordinator than the requester; for an authority also an authority of the same member state; for a coordinator's revocation any authority)",
      )
      .argument("<requestRecordId>", "the request's record, as `eusn requests` lists it"),
    [
      "eusn countersign rec_01jd… --key coordinator-2.json",
      "eusn countersign \"$(eusn requests | head -n 1 | cut -d' ' -f1)\" --key nl-atkm.json --json",
    ],
  ).action(
    run("eusn countersign", async (recordId: string, opts: CommonOpts) => {
      const { client } = await connect("eusn countersign", opts);
      const list = must(await registryRequests(client, "pending"));
      const q = list.requests.find((x) => x.requestRecordId === recordId);
      if (!q)
        throw new UsageError(
          `${recordId} is not a request waiting for a second signature (see \`eusn requests\`)`,
        );
      const r = must(
        await countersign(client, {
          participantId: q.participantId,
          requestRecordId: recordId,
          action: q.action,
        }),
      );
      show(opts, r, () =>
        [`${q.action === "admit" ? "admitted" : "revoked"} ${q.participantId}`, `record ${r.recordId}`].join(
          "\n",
        ),
      );
      return 0;
    }),
  );
}

export function withdrawRequestCommand(): Command {
  return networked(
    new Command("withdraw-request")
      .description(
        "withdraw an admission or revocation you requested while it waits for its second signature: nobody can countersign it afterwards",
      )
      .argument("<requestRecordId>", "the request's record, as `eusn requests` lists it")
      .option("--reason <text>", "why"),
    ['eusn withdraw-request rec_01jd… --key coordinator.json --reason "wrong key sent"'],
  ).action(
    run("eusn withdraw-request", async (recordId: string, opts: CommonOpts & { reason?: string }) => {
      const { client } = await connect("eusn withdraw-request", opts);
      const list = must(await registryRequests(client, "pending"));
      const q = list.requests.find((x) => x.requestRecordId === recordId);
      if (!q)
        throw new UsageError(
          `${recordId} is not a request waiting for a second signature (see \`eusn requests\`)`,
        );
      const r = must(
        await withdrawRequest(
          client,
          { participantId: q.participantId, requestRecordId: recordId, action: q.action },
          opts.reason,
        ),
        { reason: "--reason" },
      );
      show(opts, r, () => [`withdrawn ${recordId}`, `record ${r.recordId}`].join("\n"));
      return 0;
    }),
  );
}

/** Public keys from a file: `eusn keygen`'s output ({kid, jwk}), a JWK, or a JWKS. */
async function publicKeys(file: string): Promise<PublicJwk[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readInput(file));
  } catch (e) {
    throw new UsageError(`--jwk ${file}: not JSON (${(e as Error).message})`);
  }
  const o = parsed as { jwk?: unknown; keys?: unknown[] };
  const candidates = Array.isArray(o.keys) ? o.keys : [o.jwk ?? parsed];
  const { PublicJwk: check } = await import("@eusn/protocol");
  return candidates.map((k, i) => {
    if (typeof k === "object" && k !== null && "d" in k)
      throw new UsageError(
        `--jwk ${file}: key ${i + 1} is a PRIVATE key; send only the public key \`eusn keygen\` printed`,
      );
    const r = check.safeParse(k);
    if (!r.success) throw new UsageError(`--jwk ${file}: key ${i + 1} is not an Ed25519 or P-256 public JWK`);
    return r.data;
  });
}

export function admitCommand(): Command {
  return networked(
    new Command("admit")
      .description("admit a participant with its public key; prints its participant id")
      .addOption(new Option("--role <role>").choices(ROLES).makeOptionMandatory())
      .addOption(
        new Option("--member-state <cc>", "an authority's EU member state (ISO 3166-1, e.g. NL)").choices([
          ...EU_MEMBER_STATES,
          "EL",
        ]),
      )
      .requiredOption("--name <displayName>", "the participant's name as others see it")
      .requiredOption(
        "--jwk <file>",
        "its public key: what `eusn keygen` printed, a JWK or a JWKS (- for stdin)",
      ),
    [
      'eusn admit --key coordinator.json --role authority --member-state BE --name "Belgian federal police" --jwk be.pub.json',
    ],
  ).action(
    run(
      "eusn admit",
      async (opts: CommonOpts & { role: string; memberState?: string; name: string; jwk: string }) => {
        if (opts.role === "authority" && !opts.memberState)
          throw new UsageError("an authority needs --member-state");
        if (opts.role !== "authority" && opts.memberState)
          throw new UsageError("only an authority has a --member-state");
        const keys = await publicKeys(opts.jwk);
        const { client } = await connect("eusn admit", opts);
        const r = must(
          await admit(client, {
            role: opts.role,
            displayName: opts.name,
            keys,
            ...(opts.memberState ? { memberState: opts.memberState } : {}),
          }),
          { displayName: "--name", memberState: "--member-state", role: "--role", jwks: "--jwk" },
        );
        const waiting = await pendingRequest(client, r.recordId);
        show(opts, { ...r, pending: !!waiting }, () =>
          [
            `participant ${r.subjectId}`,
            `record ${r.recordId}`,
            ...(waiting ? [`pending ${r.recordId}`] : []),
          ].join("\n"),
        );
        if (!opts.json)
          process.stderr.write(
            waiting
              ? `eusn admit: requested; the admission takes effect with a second signature: ${secondSigner(opts.role, "admit", opts.memberState)} runs \`eusn countersign ${r.recordId}\`\n`
              : "eusn admit: admitted; it runs `eusn whoami --save` with its key file to start\n",
          );
        return 0;
      },
    ),
  );
}

/** Who may give a request its second signature (the node's rule, apply/participants.ts). */
function secondSigner(role: string, action: "admit" | "revoke", memberState?: string | null): string {
  if (role === "authority") return `another coordinator, or an authority of ${memberState ?? ""},`;
  if (role === "coordinator" && action === "revoke") return "another coordinator, or an authority,";
  return "another coordinator";
}

export function revokeCommand(): Command {
  return networked(
    new Command("revoke")
      .description("revoke a participant: its keys stop working; its earlier records stay and stop counting")
      .argument("<participantId>")
      .requiredOption("--reason <text>", "why"),
    ['eusn revoke par_01jd… --key coordinator.json --reason "left the network"'],
  ).action(
    run("eusn revoke", async (id: string, opts: CommonOpts & { reason: string }) => {
      const { client } = await connect("eusn revoke", opts);
      const r = must(await revoke(client, id, opts.reason), {
        reason: "--reason",
        participantId: "participantId",
      });
      const waiting = await pendingRequest(client, r.recordId);
      show(opts, { ...r, pending: !!waiting }, () =>
        waiting
          ? `requested ${id}\nrecord ${r.recordId}\npending ${r.recordId}`
          : `revoked ${id}\nrecord ${r.recordId}`,
      );
      if (waiting && !opts.json)
        process.stderr.write(
          `eusn revoke: requested; the revocation takes effect with a second signature: ${secondSigner(waiting.role, "revoke", waiting.memberState)} runs \`eusn countersign ${r.recordId}\`\n`,
        );
      return 0;
    }),
  );
}

export function decideCommand(): Command {
  return networked(
    new Command("decide")
      .description(
        "include, exclude or retire a baseline entry; cites the live assessments that count (concurrences for include, dissents for exclude) unless --cite names them",
      )
      .argument("<submissionId>")
      .addArgument(new Argument("<decision>").choices(["include", "exclude", "retire"]))
      .requiredOption("--reason <text>", "why")
      .option(
        "--cite <assessmentId>",
        "cite this assessment (repeatable; replaces the automatic choice)",
        collect,
        [],
      ),
    [
      'eusn decide hsh_01jd… include --key coordinator.json --reason "NL, DE and FR concur"',
      'eusn decide hsh_01jd… retire --key coordinator.json --reason "no longer circulating"',
    ],
  ).action(
    run(
      "eusn decide",
      async (
        id: string,
        decision: "include" | "exclude" | "retire",
        opts: CommonOpts & { reason: string; cite: string[] },
      ) => {
        const { client } = await connect("eusn decide", opts);
        const r = must(
          await decide(client, id, {
            decision,
            reason: opts.reason,
            ...(opts.cite.length > 0 ? { assessmentIds: opts.cite } : {}),
          }),
          { reason: "--reason", assessmentIds: "--cite", submissionId: "submissionId" },
        );
        show(opts, r, () => `${decision}d ${id}\ncited ${r.cited.join(" ") || "none"}\nrecord ${r.recordId}`);
        return 0;
      },
    ),
  );
}

export function reverseCommand(): Command {
  return networked(
    new Command("reverse")
      .description(
        "reverse a submission (complaint upheld, court ruling, error); platforms that matched it are told",
      )
      .argument("<submissionId>")
      .addOption(
        new Option("--ground <ground>")
          .choices(["complaint_upheld", "court_ruling", "error", "other"])
          .makeOptionMandatory(),
      )
      .requiredOption("--reason <text>", "why")
      .option("--reference <text>", "case or judgment reference"),
    [
      'eusn reverse hsh_01jd… --key coordinator.json --ground court_ruling --reason "annulled" --reference "C-123/26"',
    ],
  ).action(
    run(
      "eusn reverse",
      async (
        id: string,
        opts: CommonOpts & {
          ground: "complaint_upheld" | "court_ruling" | "error" | "other";
          reason: string;
          reference?: string;
        },
      ) => {
        const { client } = await connect("eusn reverse", opts);
        const r = must(
          await reverse(client, id, {
            ground: opts.ground,
            reason: opts.reason,
            ...(opts.reference ? { reference: opts.reference } : {}),
          }),
          { reason: "--reason", ground: "--ground", reference: "--reference", submissionId: "submissionId" },
        );
        show(opts, r, () => `reversed ${id}\nrecord ${r.recordId}`);
        return 0;
      },
    ),
  );
}

export function curationCommand(): Command {
  return networked(
    new Command("curation")
      .description("the curation queues: eligible for inclusion, disputed, or flagged by platform feedback")
      .addArgument(new Argument("[queue]").choices(["eligible", "disputed", "flagged"]).default("eligible"))
      .option("--limit <n>", "at most this many (1..500)"),
    ["eusn curation --key coordinator.json", "eusn curation disputed --key coordinator.json --json"],
  ).action(
    run(
      "eusn curation",
      async (queue: "eligible" | "disputed" | "flagged", opts: CommonOpts & { limit?: string }) => {
        const { client } = await connect("eusn curation", opts);
        const q = must(await curation(client, queue, intOption("--limit", opts.limit, 1, 500)));
        show(opts, q, () =>
          q.submissions.length === 0
            ? `the ${queue} queue is empty`
            : q.submissions.map(entryLine).join("\n"),
        );
        return 0;
      },
    ),
  );
}

type AuditOpts = CommonOpts & {
  kind?: string;
  actor?: string;
  subject?: string;
  limit?: string;
  follow: boolean;
  interval: string;
  after?: string;
};

export function auditCommand(): Command {
  return networked(
    new Command("audit")
      .description("the audit trail, newest first; --follow prints new entries as they land (oldest first)")
      .option("--kind <kind>", "only this kind, e.g. baseline.included or participant.admit")
      .option("--actor <participantId>", "only entries by this participant")
      .option("--subject <id>", "only entries about this entry or participant")
      .option("--limit <n>", "how many of the newest (1..1000)", "20")
      .option("--after <seq>", "with --follow: start after this sequence number (default: the newest)")
      .option("--follow", "keep printing new entries until interrupted", false)
      .option("--interval <seconds>", "with --follow: seconds between polls", "5"),
    [
      "eusn audit --key coordinator.json --kind baseline.included --limit 5",
      "eusn audit --key coordinator.json --subject hsh_01jd…",
      "eusn audit --key coordinator.json --follow",
    ],
  ).action(
    run("eusn audit", async (opts: AuditOpts) => {
      const { client } = await connect("eusn audit", opts);
      const filter = {
        ...(opts.kind ? { kind: opts.kind } : {}),
        ...(opts.actor ? { actor: opts.actor } : {}),
        ...(opts.subject ? { subject: opts.subject } : {}),
      };
      const limit = intOption("--limit", opts.limit, 1, 1000)!;
      const line = (e: AuditPage["entries"][number]) =>
        opts.json
          ? JSON.stringify(e)
          : `${e.seq}  ${e.at}  ${e.kind}  by ${e.actor}${e.subjectId ? `  ${e.subjectId}` : ""}${e.recordId ? `  ${e.recordId}` : ""}`;
      if (!opts.follow) {
        const page = must(await auditPage(client, { order: "desc", limit, ...filter }), AUDIT_FIELDS);
        if (opts.json) process.stdout.write(`${JSON.stringify(page, null, 2)}\n`);
        else
          process.stdout.write(
            page.entries.length === 0 ? "no entries\n" : `${page.entries.map(line).join("\n")}\n`,
          );
        return 0;
      }
      const interval = intOption("--interval", opts.interval, 1, 3600)!;
      let after = intOption("--after", opts.after, 0, Number.MAX_SAFE_INTEGER) ?? -1;
      if (after < 0) {
        const newest = must(await auditPage(client, { order: "desc", limit: 1 }), AUDIT_FIELDS);
        after = newest.entries[0]?.seq ?? 0;
        process.stderr.write(`eusn audit: following from entry ${after}; Ctrl-C stops\n`);
      }
      for (;;) {
        const page: AuditPage = must(
          await auditPage(client, { after, limit: 1000, ...filter }),
          AUDIT_FIELDS,
        );
        for (const e of page.entries) process.stdout.write(`${line(e)}\n`);
        if (page.entries.length > 0) after = page.entries[page.entries.length - 1]!.seq;
        if (page.next === null) await sleep(interval * 1000);
      }
    }),
  );
}

const AUDIT_FIELDS = {
  kind: "--kind",
  actor: "--actor",
  subject: "--subject",
  limit: "--limit",
  after: "--after",
};
