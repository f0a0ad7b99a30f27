// `eusn webhook`: push instead of poll. Register a receiver for events, list webhooks with their
// deliveries, remove one, and verify a delivery's body against the node's published keys
// (docs/webhooks.md).
import { readFile } from "node:fs/promises";
import {
  listWebhookDeliveries,
  listWebhooks,
  registerWebhook,
  removeWebhook,
  verifyWebhookDelivery,
} from "@eusn/client";
import type { WebhookEvent } from "@eusn/protocol";
import { WEBHOOK_EVENTS } from "@eusn/protocol/plain";
import { Command } from "commander";
import type { JSONWebKeySet } from "jose";
import { UsageError } from "../credential.ts";
import { type CommonOpts, connect, Failure, must, networked, run, show } from "../output.ts";

async function readInput(file: string): Promise<string> {
  if (file !== "-") return (await readFile(file, "utf8")).trim();
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8").trim();
}

export default function webhookCommand(): Command {
  const cmd = new Command("webhook").description(
    "webhooks: the node pushes reversals, targeted signals and baseline versions",
  );
  cmd.addCommand(
    networked(
      new Command("add")
        .description("register a receiver (https; the node signs every delivery with its key)")
        .requiredOption("--url <url>", "where deliveries are POSTed")
        .option(
          "--events <list>",
          `comma-separated: ${WEBHOOK_EVENTS.join(", ")}`,
          "entry.reversed,baseline.version",
        )
        .option("--label <text>", "what it is for"),
      [
        "eusn webhook add --key platform.json --url https://hooks.platform.example/eusn --events entry.reversed,signal.targeted",
      ],
    ).action(
      run("eusn webhook add", async (opts: CommonOpts & { url: string; events: string; label?: string }) => {
        const events = opts.events
          .split(",")
          .map((e) => e.trim())
          .filter(Boolean);
        const unknown = events.filter((e) => !(WEBHOOK_EVENTS as readonly string[]).includes(e));
        if (unknown.length)
          throw new UsageError(
            `--events: unknown ${unknown.join(", ")} (known: ${WEBHOOK_EVENTS.join(", ")})`,
          );
        const { client } = await connect("eusn webhook add", opts);
        const r = must(
          await registerWebhook(client, {
            url: opts.url,
            events: events as WebhookEvent[],
            ...(opts.label ? { label: opts.label } : {}),
          }),
          { url: "--url", events: "--events", label: "--label" },
        );
        show(opts, r, () => `webhook ${r.subjectId}\nrecord ${r.recordId}`);
        return 0;
      }),
    ),
  );
  cmd.addCommand(
    networked(
      new Command("list")
        .description("your webhooks and their deliveries by state; with an id, that webhook's deliveries")
        .argument("[webhookId]")
        .option("--state <state>", "deliveries in this state only: pending, delivered, failed"),
      [
        "eusn webhook list --key platform.json",
        "eusn webhook list whk_01jd… --state failed --key platform.json",
      ],
    ).action(
      run("eusn webhook list", async (id: string | undefined, opts: CommonOpts & { state?: string }) => {
        const { client } = await connect("eusn webhook list", opts);
        if (!id) {
          const list = must(await listWebhooks(client));
          show(opts, list, () =>
            list.webhooks.length === 0
              ? "no webhooks"
              : list.webhooks
                  .map(
                    (w) =>
                      `${w.id}  ${w.status}  ${w.url}  [${w.events.join(", ")}]  delivered ${w.deliveries.delivered}, pending ${w.deliveries.pending}, failed ${w.deliveries.failed}`,
                  )
                  .join("\n"),
          );
          return 0;
        }
        if (opts.state && !["pending", "delivered", "failed"].includes(opts.state))
          throw new UsageError("--state must be pending, delivered or failed");
        const list = must(
          await listWebhookDeliveries(client, id, opts.state ? { state: opts.state as "pending" } : {}),
          { state: "--state" },
        );
        show(opts, list, () =>
          list.deliveries.length === 0
            ? "no deliveries"
            : list.deliveries
                .map(
                  (d) =>
                    `${d.id}  ${d.state}  ${d.event} ${d.subject}  attempts ${d.attempts}${d.lastStatus ? `  last ${d.lastStatus}` : ""}${d.lastError ? `  (${d.lastError})` : ""}${d.nextAttemptAt ? `  next ${d.nextAttemptAt}` : ""}`,
                )
                .join("\n"),
        );
        return 0;
      }),
    ),
  );
  cmd.addCommand(
    networked(
      new Command("remove")
        .description("remove a webhook (yours, or as a coordinator another participant's)")
        .argument("<webhookId>")
        .option("--participant <id>", "whose webhook (default: yours)"),
      ["eusn webhook remove whk_01jd… --key platform.json"],
    ).action(
      run("eusn webhook remove", async (id: string, opts: CommonOpts & { participant?: string }) => {
        const { client } = await connect("eusn webhook remove", opts);
        const r = must(await removeWebhook(client, id, opts.participant ?? client.participantId), {
          webhookId: "webhookId",
          participantId: "--participant",
        });
        show(opts, r, () => `removed ${id}\nrecord ${r.recordId}`);
        return 0;
      }),
    ),
  );
  cmd.addCommand(
    networked(
      new Command("verify")
        .description("check a delivery's body (the JWS the receiver got) against the node's published keys")
        .argument("<file>", "the body as received ('-': standard input)")
        .option(
          "--node-jwks <file>",
          "the node's JWKS (default: fetched from the node's /.well-known/jwks.json)",
        ),
      [
        "eusn webhook verify delivery.jws --key platform.json",
        "eusn webhook verify delivery.jws --node-jwks node.jwks.json",
      ],
    ).action(
      run("eusn webhook verify", async (file: string, opts: CommonOpts & { nodeJwks?: string }) => {
        const jws = await readInput(file);
        let jwks: JSONWebKeySet;
        let expect: { nodeId?: string; participantId?: string } = {};
        if (opts.nodeJwks) {
          jwks = JSON.parse(await readFile(opts.nodeJwks, "utf8")) as JSONWebKeySet;
        } else {
          const { client } = await connect("eusn webhook verify", opts);
          jwks = must(await client.getPublic<JSONWebKeySet>("/.well-known/jwks.json"));
          expect = { nodeId: client.nodeId, participantId: client.participantId };
        }
        const v = await verifyWebhookDelivery(jws, jwks, expect);
        if (!v.ok) throw new Failure(`the delivery does not verify: ${v.reason}`);
        show(opts, { verified: true, kid: v.kid, claims: v.claims }, () =>
          [
            `verified: signed by the node key ${v.kid}`,
            `delivery ${v.claims.jti} of webhook ${v.claims.sub} to ${v.claims.aud} from ${v.claims.iss}`,
            `event ${v.claims.event.type} ${v.claims.event.subject}${v.claims.event.change ? ` (${v.claims.event.change})` : ""} at ${v.claims.event.at}`,
          ].join("\n"),
        );
        return 0;
      }),
    ),
  );
  return cmd;
}
