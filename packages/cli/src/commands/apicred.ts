// `eusn apicred`: HTTP Basic credentials for TAXII clients (MISP, OpenCTI). The secret is made here
// and shown once; only its SHA-256 is signed and sent (docs/taxii.md "API credentials").
import { createApiCredential, listApiCredentials, revokeApiCredential } from "@eusn/client";
import { Command } from "commander";
import { type CommonOpts, connect, must, networked, run, show } from "../output.ts";

export default function apicredCommand(): Command {
  const cmd = new Command("apicred").description("API credentials (HTTP Basic) for TAXII clients");
  cmd.addCommand(
    networked(
      new Command("create")
        .description("make a credential; prints the secret once (it cannot be recovered)")
        .requiredOption("--label <text>", 'what it is for, e.g. "OpenCTI connector"')
        .option("--expires <iso>", "expiry (ISO 8601)"),
      ['eusn apicred create --key platform.json --label "OpenCTI TAXII connector"'],
    ).action(
      run("eusn apicred create", async (opts: CommonOpts & { label: string; expires?: string }) => {
        const { client } = await connect("eusn apicred create", opts);
        const c = must(
          await createApiCredential(client, {
            label: opts.label,
            ...(opts.expires ? { expiresAt: opts.expires } : {}),
          }),
          { label: "--label", expiresAt: "--expires" },
        );
        show(opts, c, () =>
          [
            `credential ${c.credentialId}${c.expiresAt ? ` (expires ${c.expiresAt})` : ""}`,
            `username: ${c.username}`,
            `password: ${c.secret}`,
            `TAXII root: ${client.baseUrl}/taxii2/  (store the password now: it is shown only this once)`,
          ].join("\n"),
        );
        return 0;
      }),
    ),
  );
  cmd.addCommand(
    networked(
      new Command("list")
        .description("your credentials (labels, dates, status; never a secret)")
        .option("--participant <id>", "another participant's (coordinators)"),
      ["eusn apicred list --key platform.json"],
    ).action(
      run("eusn apicred list", async (opts: CommonOpts & { participant?: string }) => {
        const { client } = await connect("eusn apicred list", opts);
        const list = must(await listApiCredentials(client, opts.participant ?? client.participantId));
        show(opts, list, () =>
          list.credentials.length === 0
            ? "no API credentials"
            : list.credentials
                .map(
                  (c) => `${c.id}  ${c.status}  ${c.label}  created ${c.createdAt}  expires ${c.expiresAt}`,
                )
                .join("\n"),
        );
        return 0;
      }),
    ),
  );
  cmd.addCommand(
    networked(
      new Command("revoke")
        .description("revoke a credential (yours, or as a coordinator another participant's)")
        .argument("<credentialId>")
        .option("--participant <id>", "whose credential (default: yours)")
        .option("--reason <text>", "why"),
      ['eusn apicred revoke apc_01jd… --key platform.json --reason "connector retired"'],
    ).action(
      run(
        "eusn apicred revoke",
        async (id: string, opts: CommonOpts & { participant?: string; reason?: string }) => {
          const { client } = await connect("eusn apicred revoke", opts);
          const r = must(
            await revokeApiCredential(client, id, {
              ...(opts.participant ? { participantId: opts.participant } : {}),
              ...(opts.reason ? { reason: opts.reason } : {}),
            }),
            { credentialId: "credentialId", participantId: "--participant" },
          );
          show(opts, r, () => `revoked ${id}\nrecord ${r.recordId}`);
          return 0;
        },
      ),
    ),
  );
  return cmd;
}
