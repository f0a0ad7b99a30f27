// `eusn records show ID`: fetches a stored record's exact signed bytes and verifies the signature
// here, with the issuer's public key from the registry (or a JWKS you pin with --jwks): the key the
// header names must be one the issuer had, and the claims must name the issuer, this node and a
// known record kind. Prints the claims; exit 1 when anything does not verify.
import { readFile } from "node:fs/promises";
import { getParticipant, getRecord } from "@eusn/client";
import { WRITE_TYP } from "@eusn/protocol/plain";
import { Command } from "commander";
import { compactVerify, decodeProtectedHeader, importJWK, type JWK } from "jose";
import { UsageError } from "../credential.ts";
import { type CommonOpts, connect, Failure, must, networked, run, show } from "../output.ts";

const NAME = "eusn records show";

export default function recordsCommand(): Command {
  const records = new Command("records").description("signed records, exactly as stored");
  records.addCommand(
    networked(
      new Command("show")
        .description("fetch a record's signed bytes and verify its signature locally; prints its claims")
        .argument("<recordId>", "rec_… (every write's receipt names it)")
        .option(
          "--jwks <file>",
          "verify with these public keys (a JWKS you trust) instead of the node's registry",
        )
        .option("--jws", "print the compact JWS itself", false),
      [
        "eusn records show rec_01jd… --key me.json",
        "eusn records show rec_01jd… --key me.json --jws > record.jws",
      ],
    ).action(
      run(NAME, async (id: string, opts: CommonOpts & { jwks?: string; jws: boolean }) => {
        const { client } = await connect(NAME, opts);
        const jws = must(await getRecord(client, id), { id: "recordId" });
        if (opts.jws) {
          process.stdout.write(`${jws}\n`);
          return 0;
        }
        const header = decodeProtectedHeader(jws);
        const claims = JSON.parse(new TextDecoder().decode(base64url(jws.split(".")[1]!))) as {
          iss: string;
          aud: string;
          iat: number;
          kind: string;
          record: unknown;
        };
        let keys: JWK[];
        if (opts.jwks) {
          try {
            keys = (JSON.parse(await readFile(opts.jwks, "utf8")) as { keys: JWK[] }).keys;
          } catch (e) {
            throw new UsageError(`cannot read --jwks ${opts.jwks}: ${(e as Error).message}`);
          }
        } else {
          const issuer = must(await getParticipant(client, claims.iss));
          keys = issuer.keys.map((k) => k.jwk as JWK);
        }
        const key = keys.find((k) => k.kid === header.kid);
        if (!key)
          throw new Failure(`record ${id}: signed with key ${header.kid}, which ${claims.iss} does not have`);
        const alg = key.kty === "OKP" ? "EdDSA" : "ES256";
        try {
          await compactVerify(jws, await importJWK(key, alg), { algorithms: [alg] });
        } catch (e) {
          throw new Failure(`record ${id}: the signature does not verify (${(e as Error).message})`);
        }
        const problems: string[] = [];
        if (header.typ !== WRITE_TYP) problems.push(`header typ is ${header.typ}, not ${WRITE_TYP}`);
        if (claims.aud !== client.nodeId)
          problems.push(`addressed to ${claims.aud}, not this node (${client.nodeId})`);
        const { RECORD_SCHEMAS } = await import("@eusn/protocol");
        if (!(claims.kind in RECORD_SCHEMAS)) problems.push(`unknown record kind ${claims.kind}`);
        if (problems.length > 0)
          throw new Failure(`record ${id}: signature verified, but ${problems.join("; ")}`);
        show(opts, { recordId: id, verified: true, kid: header.kid, alg: header.alg, ...claims }, () =>
          [
            `${id}: signature verified (${header.alg}, key ${header.kid} of ${claims.iss})`,
            `${claims.kind} signed ${new Date(claims.iat * 1000).toISOString()} for ${claims.aud}`,
            JSON.stringify(claims.record, null, 2),
          ].join("\n"),
        );
        return 0;
      }),
    ),
  );
  return records;
}

function base64url(s: string): Uint8Array {
  return Uint8Array.from(atob(s.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0));
}
