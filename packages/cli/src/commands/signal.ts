// `eusn signal`: platform-migration signals from the command line. Selectors are normalised and
// pseudonymised here, on the platform's machine, with the selector key it holds; only pseudonyms
// are ever sent. Subcommands: normalise, pseudonymise (local only), enc-key, keys, submit,
// lookup, pull, reversals, retract (platform), publish-key, grant-key, reverse (coordinator).
// The credential file and --key/$EUSN_KEY are the same as for `eusn submit`. Rules and design:
// docs/signals.md.
import { readFileSync, writeFileSync } from "node:fs";
import type { EusnClient, Result, SelectorKey } from "@eusn/client";
import type { SelectorKind } from "@eusn/protocol";
import { Command, Option } from "commander";
import { loadClient, UsageError } from "../credential.ts";

/** The local selector-key file written by `eusn signal keys` (keep it 0600; it is a secret). */
type KeyFile = { current: number | null; lookupVersions: number[]; keys: { version: number; key: string }[] };

const SELECTOR_KINDS = ["handle", "email", "phone", "profile_url"] as const;
const collect = (v: string, prev: string[]) => [...prev, v];

function fail(message: string, code = 1): never {
  process.stderr.write(`eusn signal: ${message}\n`);
  process.exit(code);
}

function readJson<T>(file: string, what: string): T {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as T;
  } catch (e) {
    return fail(`cannot read ${what} ${file}: ${(e as Error).message}`);
  }
}

/** Secrets are written readable by their owner only. */
function writeSecret(file: string, value: unknown) {
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
}

async function clientFrom(opts: { key?: string; node?: string }): Promise<EusnClient> {
  try {
    return (await loadClient(opts)).client;
  } catch (e) {
    return fail((e as Error).message, e instanceof UsageError ? 2 : 1);
  }
}

async function loadKeys(file: string): Promise<{ file: KeyFile; keys: SelectorKey[] }> {
  const { fromB64url } = await import("@eusn/client");
  const f = readJson<KeyFile>(file, "selector-key file");
  return { file: f, keys: f.keys.map((k) => ({ version: k.version, key: fromB64url(k.key) })) };
}

/** Values from the arguments, or one per line on stdin when there are none. */
function valuesOrStdin(values: string[]): string[] {
  if (values.length > 0 || process.stdin.isTTY) return values;
  return readFileSync(0, "utf8")
    .split(/\r?\n/)
    .filter((l) => l.trim().length > 0);
}

function print(value: unknown) {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints the answer, or the problem on stderr with exit status 1. */
function report<T>(res: Result<T>): T {
  if (!res.ok) {
    fail(`${res.status} ${res.problem.code}: ${res.problem.detail ?? res.problem.title}`);
  }
  return res.data;
}

export default function signalCommand(): Command {
  const signal = new Command("signal").description(
    "migration signals: pseudonymise selectors locally, share, look up and pull signals (leads for human review)",
  );
  const credentialOption = () =>
    new Option("--key <file>", "your key file (default $EUSN_KEY), as for the other commands");
  const nodeOption = () =>
    new Option("--node <url>", "the node's URL, instead of the key file's (default $EUSN_NODE)");
  const countryOption = () =>
    new Option("--country-code <digits>", "calling code for national phone numbers (e.g. 31)");

  signal
    .command("normalise")
    .description("print the normal form of selectors or URLs (one per argument or stdin line)")
    .addOption(
      new Option("--kind <kind>", "selector kind, or url for out-links")
        .choices([...SELECTOR_KINDS, "url"])
        .makeOptionMandatory(),
    )
    .addOption(countryOption())
    .argument("[values...]")
    .action(async (values: string[], o: { kind: SelectorKind | "url"; countryCode?: string }) => {
      const { normaliseOutLink, normaliseSelector } = await import("@eusn/client");
      let failures = 0;
      valuesOrStdin(values).forEach((v, i) => {
        const n =
          o.kind === "url"
            ? normaliseOutLink(v)
            : normaliseSelector(o.kind, v, o.countryCode ? { defaultCallingCode: o.countryCode } : {});
        if (n.ok) process.stdout.write(`${n.value}\n`);
        else {
          failures++;
          process.stderr.write(`eusn signal: value #${i + 1}: ${n.reason}\n`);
        }
      });
      process.exitCode = failures > 0 ? 1 : 0;
    });

  signal
    .command("pseudonymise")
    .alias("pseudonymize")
    .description("print pseudonyms of selectors (local only: nothing is sent)")
    .requiredOption("--selector-keys <file>", "selector-key file from `eusn signal keys`")
    .addOption(
      new Option("--kind <kind>", "selector kind").choices([...SELECTOR_KINDS]).makeOptionMandatory(),
    )
    .option("--key-version <n>", "key version (default: current)")
    .option("--lookup", "one pseudonym per version that lookups use (for `lookup`)", false)
    .addOption(countryOption())
    .argument("[values...]")
    .action(
      async (
        values: string[],
        o: {
          selectorKeys: string;
          kind: SelectorKind;
          keyVersion?: string;
          lookup: boolean;
          countryCode?: string;
        },
      ) => {
        const { pseudonymiseForLookup } = await import("@eusn/client");
        const { file, keys } = await loadKeys(o.selectorKeys);
        const wanted = o.lookup
          ? keys.filter((k) => file.lookupVersions.includes(k.version))
          : keys.filter((k) => k.version === Number(o.keyVersion ?? file.current));
        if (wanted.length === 0) fail("no matching key version in the key file");
        let failures = 0;
        for (const [i, v] of valuesOrStdin(values).entries()) {
          const r = await pseudonymiseForLookup(
            wanted,
            o.kind,
            v,
            o.countryCode ? { defaultCallingCode: o.countryCode } : {},
          );
          if (r.ok) process.stdout.write(`${r.pseudonyms.join("\n")}\n`);
          else {
            failures++;
            process.stderr.write(`eusn signal: value #${i + 1}: ${r.reason}\n`);
          }
        }
        process.exitCode = failures > 0 ? 1 : 0;
      },
    );

  signal
    .command("enc-key")
    .description("make a key-wrapping key pair, keep the private half in --out and register the public half")
    .addOption(credentialOption())
    .addOption(nodeOption())
    .requiredOption("--out <file>", "where to write the encryption private JWK (0600)")
    .action(async (o: { key?: string; out: string }) => {
      const { generateEncKeyPair, setEncKey } = await import("@eusn/client");
      const client = await clientFrom(o);
      const pair = await generateEncKeyPair();
      writeSecret(o.out, pair.privateJwk);
      print(report(await setEncKey(client, pair.publicJwk)));
    });

  signal
    .command("keys")
    .description("fetch, check and open the selector keys wrapped for you; write them to --out (0600)")
    .addOption(credentialOption())
    .addOption(nodeOption())
    .requiredOption("--enc-key <file>", "your encryption private JWK (from `eusn signal enc-key`)")
    .requiredOption("--out <file>", "selector-key file to write")
    .option(
      "--coordinator-jwks <file>",
      "pin the coordinator's public JWKS (else the node's registry is used)",
    )
    .action(async (o: { key?: string; encKey: string; out: string; coordinatorJwks?: string }) => {
      const { b64url, openSelectorKeys } = await import("@eusn/client");
      const client = await clientFrom(o);
      const pinned = o.coordinatorJwks
        ? readJson<{ keys: Record<string, unknown>[] }>(o.coordinatorJwks, "JWKS").keys
        : undefined;
      const opened = await openSelectorKeys(
        client,
        readJson(o.encKey, "encryption key"),
        pinned ? { coordinatorKeys: pinned } : {},
      );
      if (opened.keys.length === 0) {
        const listed = await client.get<{ versions: unknown[] }>("/v1/signals/keys");
        const versions = listed.ok ? listed.data.versions.length : 0;
        fail(
          versions === 0
            ? "no selector key has been published yet; nothing was written. Next: the coordinator runs `eusn signal publish-key` (platforms that registered with `eusn signal enc-key` get it), then run this again"
            : `the coordinator published ${versions} selector-key version(s), none wrapped for you; nothing was written. Next: register your encryption key (\`eusn signal enc-key\`), ask the coordinator to run \`eusn signal grant-key\`, then run this again`,
        );
      }
      const file: KeyFile = {
        current: opened.current,
        lookupVersions: opened.lookupVersions,
        keys: opened.keys.map((k) => ({ version: k.version, key: b64url(k.key) })),
      };
      writeSecret(o.out, file);
      process.stdout.write(
        `versions ${file.keys.map((k) => k.version).join(", ") || "none"}; current ${file.current}; lookups under ${file.lookupVersions.join(", ") || "none"}\n`,
      );
    });

  const selectorOptions = (cmd: Command) =>
    cmd
      .option("--handle <value>", "handle of the account (repeatable)", collect, [])
      .option("--email <value>", "e-mail address (repeatable)", collect, [])
      .option("--phone <value>", "phone number (repeatable)", collect, [])
      .option("--profile-url <value>", "profile URL (repeatable)", collect, [])
      .addOption(countryOption());

  type SelectorOpts = {
    handle: string[];
    email: string[];
    phone: string[];
    profileUrl: string[];
    countryCode?: string;
  };
  /** Pseudonyms of every selector given, under the given versions, each remembered with its input. */
  async function pseudonymsOf(o: SelectorOpts, keys: SelectorKey[]) {
    const { pseudonymiseForLookup } = await import("@eusn/client");
    const out = new Map<string, string>();
    const inputs: [SelectorKind, string[]][] = [
      ["handle", o.handle],
      ["email", o.email],
      ["phone", o.phone],
      ["profile_url", o.profileUrl],
    ];
    for (const [kind, values] of inputs) {
      for (const [i, v] of values.entries()) {
        const r = await pseudonymiseForLookup(
          keys,
          kind,
          v,
          o.countryCode ? { defaultCallingCode: o.countryCode } : {},
        );
        if (!r.ok) fail(`${kind} #${i + 1}: ${r.reason}`);
        for (const p of r.pseudonyms) out.set(p, `${kind} #${i + 1}`);
      }
    }
    return out;
  }

  selectorOptions(
    signal
      .command("submit")
      .description("sign and share a migration signal (selectors are pseudonymised here)")
      .addOption(credentialOption())
      .addOption(nodeOption())
      .requiredOption("--selector-keys <file>", "selector-key file")
      .addOption(
        new Option("--kind <kind>", "what happened")
          .choices(["account_removed", "migration_announced", "reappearance"])
          .default("account_removed"),
      )
      .addOption(
        new Option("--limb <a-e>", "TCO Art 2(7) limb of the content")
          .choices(["a", "b", "c", "d", "e"])
          .makeOptionMandatory(),
      )
      .option("--out-link <url>", "public URL seen in the removed content (repeatable)", collect, [])
      .option("--target <participantId>", "target platform on the network")
      .option("--target-host <host>", "target service host name, e.g. t.me")
      .option("--related <submissionId>", "related hash submission id (repeatable)", collect, [])
      .option("--expires-days <n>", "days until expiry (default 90, at most 180)"),
  ).action(
    async (
      o: SelectorOpts & {
        key?: string;
        selectorKeys: string;
        kind: "account_removed" | "migration_announced" | "reappearance";
        limb: "a" | "b" | "c" | "d" | "e";
        outLink: string[];
        target?: string;
        targetHost?: string;
        related: string[];
        expiresDays?: string;
      },
    ) => {
      const { normaliseOutLink, submitSignal } = await import("@eusn/client");
      const client = await clientFrom(o);
      const { file, keys } = await loadKeys(o.selectorKeys);
      const key = keys.find((k) => k.version === file.current);
      if (!key) fail("the key file has no current version; run `eusn signal keys` again");
      const selectors = [...(await pseudonymsOf(o, [key])).keys()];
      const outLinks = o.outLink.map((u, i) => {
        const n = normaliseOutLink(u);
        return n.ok ? n.value : fail(`out-link #${i + 1}: ${n.reason}`);
      });
      print(
        report(
          await submitSignal(client, {
            kind: o.kind,
            keyVersion: key.version,
            selectors,
            outLinks,
            reason: { tcoLimb: o.limb },
            relatedSubmissions: o.related,
            ...(o.target ? { targetPlatformId: o.target } : {}),
            ...(o.targetHost ? { targetHost: o.targetHost } : {}),
            ...(o.expiresDays ? { expiresInDays: Number(o.expiresDays) } : {}),
          }),
        ),
      );
    },
  );

  selectorOptions(
    signal
      .command("lookup")
      .description("ask which of these selectors / URLs appear in live signals (leads for human review)")
      .addOption(credentialOption())
      .addOption(nodeOption())
      .requiredOption("--selector-keys <file>", "selector-key file")
      .option("--url <url>", "URL to look up (repeatable)", collect, []),
  ).action(async (o: SelectorOpts & { key?: string; selectorKeys: string; url: string[] }) => {
    const { lookupSignals } = await import("@eusn/client");
    const client = await clientFrom(o);
    const { file, keys } = await loadKeys(o.selectorKeys);
    const labels = await pseudonymsOf(
      o,
      keys.filter((k) => file.lookupVersions.includes(k.version)),
    );
    const answer = report(await lookupSignals(client, { selectors: [...labels.keys()], urls: o.url }));
    // Say which of your inputs matched, locally; the node only ever saw pseudonyms.
    print({
      ...answer,
      hits: answer.hits.map((h) => ({ ...h, input: labels.get(h.matched) ?? h.matched })),
    });
  });

  signal
    .command("pull")
    .description("signals that name you as target platform, after a cursor")
    .addOption(credentialOption())
    .addOption(nodeOption())
    .option("--after <seq>", "cursor (the `next` of the previous page)", "0")
    .action(async (o: { key?: string; after: string }) => {
      const { pullTargetedSignals } = await import("@eusn/client");
      print(report(await pullTargetedSignals(await clientFrom(o), Number(o.after))));
    });

  signal
    .command("reversals")
    .description("retractions and reversals of signals you fetched or made, after a cursor")
    .addOption(credentialOption())
    .addOption(nodeOption())
    .option("--after <seq>", "cursor", "0")
    .action(async (o: { key?: string; after: string }) => {
      const { listSignalReversals } = await import("@eusn/client");
      print(report(await listSignalReversals(await clientFrom(o), Number(o.after))));
    });

  signal
    .command("retract")
    .description("retract a signal you made")
    .argument("<signalId>")
    .addOption(credentialOption())
    .addOption(nodeOption())
    .option("--reason <text>", "why (no personal data)")
    .action(async (signalId: string, o: { key?: string; reason?: string }) => {
      const { retractSignal } = await import("@eusn/client");
      print(report(await retractSignal(await clientFrom(o), signalId, o.reason)));
    });

  signal
    .command("publish-key")
    .description(
      "coordinator: make a new selector-key version, wrap it for every registered platform, publish",
    )
    .addOption(credentialOption())
    .addOption(nodeOption())
    .requiredOption("--key-version <n>", "the new version number")
    .requiredOption("--valid-until <iso>", "end of the window for new signals")
    .option("--valid-from <iso>", "start (default now)")
    .requiredOption("--out <file>", "where to keep the raw key (0600), needed for later grants")
    .action(
      async (o: {
        key?: string;
        keyVersion: string;
        validFrom?: string;
        validUntil: string;
        out: string;
      }) => {
        const { b64url, generateSelectorKey, publishSelectorKey } = await import("@eusn/client");
        const client = await clientFrom(o);
        const key = { version: Number(o.keyVersion), key: generateSelectorKey() };
        const validFrom = Math.floor((o.validFrom ? Date.parse(o.validFrom) : Date.now()) / 1000);
        const validUntil = Math.floor(Date.parse(o.validUntil) / 1000);
        if (!Number.isFinite(validFrom) || !Number.isFinite(validUntil)) fail("dates must be ISO 8601", 2);
        writeSecret(o.out, { version: key.version, key: b64url(key.key) });
        print(report(await publishSelectorKey(client, key, { validFrom, validUntil })));
      },
    );

  signal
    .command("grant-key")
    .description("coordinator: wrap an existing version for platforms that joined or changed keys")
    .addOption(credentialOption())
    .addOption(nodeOption())
    .requiredOption("--key-file <file>", "the raw key written by publish-key")
    .option(
      "--platform <participantId>",
      "only these platforms (repeatable; default all registered)",
      collect,
      [],
    )
    .action(async (o: { key?: string; keyFile: string; platform: string[] }) => {
      const { fromB64url, grantSelectorKey } = await import("@eusn/client");
      const k = readJson<{ version: number; key: string }>(o.keyFile, "key file");
      const res = await grantSelectorKey(
        await clientFrom(o),
        { version: k.version, key: fromB64url(k.key) },
        o.platform.length > 0 ? o.platform : undefined,
      );
      print(report(res));
    });

  signal
    .command("reverse")
    .description(
      "coordinator: reverse a signal (e.g. after an upheld appeal); every platform that fetched it is told",
    )
    .argument("<signalId>")
    .addOption(credentialOption())
    .addOption(nodeOption())
    .addOption(
      new Option("--ground <ground>", "why")
        .choices(["appeal_upheld", "court_ruling", "error", "other"])
        .makeOptionMandatory(),
    )
    .requiredOption("--reason <text>", "explanation (no personal data)")
    .action(
      async (
        signalId: string,
        o: { key?: string; ground: "appeal_upheld" | "court_ruling" | "error" | "other"; reason: string },
      ) => {
        const { reverseSignal } = await import("@eusn/client");
        print(report(await reverseSignal(await clientFrom(o), signalId, o.ground, o.reason)));
      },
    );

  // main.ts copies its settings onto this command only; its subcommands must throw on usage
  // errors too, so main can map them to exit status 2.
  for (const sub of signal.commands) sub.exitOverride().showHelpAfterError();
  return signal;
}
