// `eusn keygen`: a new signing key pair. The private key goes to a key file (mode 0600, never
// overwritten), encrypted with a passphrase when asked (--encrypt: compact JWE with PBES2, the
// passphrase from $EUSN_PASSPHRASE or asked twice on the terminal); it is never printed. The public
// JWK (its RFC 7638 thumbprint as kid) goes to stdout, ready for a coordinator's `eusn admit`.
import { generateParticipantKey } from "@eusn/client";
import { Command, Option } from "commander";
import {
  type CredentialFile,
  encryptPrivateJwk,
  nodeUrl,
  promptPassphrase,
  UsageError,
  writeKeyFile,
} from "../credential.ts";
import { run, withExamples } from "../output.ts";

const NAME = "eusn keygen";

type Opts = { alg: "EdDSA" | "ES256"; out: string; encrypt: boolean; node?: string };

export default function keygenCommand(): Command {
  return withExamples(
    new Command("keygen")
      .description(
        "generate a signing key pair; writes the private key to --out and prints the public JWK for `eusn admit`",
      )
      .addOption(
        new Option("--alg <alg>", "signature algorithm").choices(["EdDSA", "ES256"]).default("EdDSA"),
      )
      .requiredOption("--out <file>", "the key file to write (mode 0600; refuses to overwrite)")
      .option(
        "--encrypt",
        "encrypt the private key with a passphrase ($EUSN_PASSPHRASE, or asked on the terminal)",
        false,
      )
      .option("--node <url>", "record the node's URL in the key file (default $EUSN_NODE)"),
    [
      "eusn keygen --encrypt --node https://eusn.example.eu --out me.key.json > me.pub.json",
      "eusn keygen --out demo.key.json",
    ],
  ).action(run(NAME, keygen));
}

async function keygen(opts: Opts): Promise<number> {
  const node = opts.node ?? process.env.EUSN_NODE;
  const baseUrl = node ? nodeUrl({ node }, {}).url : undefined;
  let passphrase: string | undefined;
  if (opts.encrypt) passphrase = await newPassphrase();
  const key = await generateParticipantKey(opts.alg);
  const content: CredentialFile = {
    ...(baseUrl ? { baseUrl } : {}),
    kid: key.kid,
    alg: key.alg,
    ...(passphrase !== undefined
      ? { privateKeyJwe: await encryptPrivateJwk(key.privateJwk, passphrase) }
      : { privateJwk: key.privateJwk }),
  };
  try {
    await writeKeyFile(opts.out, content, { create: true });
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new Error(
      `cannot write ${opts.out}: ${code === "EEXIST" ? "the file exists (keygen never overwrites a key)" : (e as Error).message}`,
    );
  }
  process.stdout.write(`${JSON.stringify({ kid: key.kid, jwk: key.publicJwk })}\n`);
  process.stderr.write(
    `${NAME}: wrote ${opts.out}${passphrase !== undefined ? " (encrypted)" : " (NOT encrypted: --encrypt protects it with a passphrase)"}; give the public key above to a coordinator (\`eusn admit --jwk FILE\`)\n`,
  );
  return 0;
}

async function newPassphrase(): Promise<string> {
  const env = process.env.EUSN_PASSPHRASE;
  let pass = env;
  if (pass === undefined || pass === "") {
    pass = await promptPassphrase("new passphrase for the key file: ");
    if (pass === undefined)
      throw new UsageError(
        "--encrypt needs a passphrase: set EUSN_PASSPHRASE, or run in a terminal to be asked",
      );
    const again = await promptPassphrase("the same passphrase again: ");
    if (again !== pass) throw new UsageError("the two passphrases differ; nothing was written");
  }
  // NIST SP 800-63B §5.1.1.2: at least 8 characters for a memorised secret.
  if (pass.length < 8)
    throw new UsageError("the passphrase is shorter than 8 characters; nothing was written");
  return pass;
}
