// `eusn keygen`: a new signing key pair. The private JWK is written to a file (mode 0600) and
// never printed; the public JWK (with its RFC 7638 thumbprint as kid) goes to stdout, ready for
// a coordinator's admission record.
import { writeFile } from "node:fs/promises";
import { generateParticipantKey } from "@eusn/client";
import { Command, Option } from "commander";

export default function keygenCommand(): Command {
  return new Command("keygen")
    .description("generate a signing key pair; writes the private JWK to --out and prints the public JWK")
    .addOption(new Option("--alg <alg>", "signature algorithm").choices(["EdDSA", "ES256"]).default("EdDSA"))
    .requiredOption("--out <file>", "where to write the private JWK (mode 0600; refuses to overwrite)")
    .action(async (opts: { alg: "EdDSA" | "ES256"; out: string }) => {
      const key = await generateParticipantKey(opts.alg);
      try {
        await writeFile(opts.out, `${JSON.stringify(key.privateJwk, null, 2)}\n`, {
          mode: 0o600,
          flag: "wx",
        });
      } catch (e) {
        process.stderr.write(`eusn keygen: cannot write ${opts.out}: ${(e as Error).message}\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${JSON.stringify({ kid: key.kid, jwk: key.publicJwk })}\n`);
    });
}
