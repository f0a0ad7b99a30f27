// What every networked command shares: the --key/--node/--json options, an example in --help,
// printing answers (text or --json), and problems and failures told in the user's terms (flags as
// typed, the field they filled in, the URL that could not be reached), with exit statuses
// 0 ok, 1 refused or failed, 2 usage.
import { NodeUnreachableError, type Result } from "@eusn/client";
import type { Problem } from "@eusn/protocol";
import { type Command, Option } from "commander";
import { type CredentialFile, type Loaded, loadClient, UsageError, writeKeyFile } from "./credential.ts";

export type CommonOpts = { key?: string; node?: string; json?: boolean };

/** Adds --key, --node and --json, and an "Example:" section to --help. */
export function networked(cmd: Command, examples: string[]): Command {
  return withExamples(
    cmd
      .addOption(new Option("--key <file>", "your key file (default $EUSN_KEY)"))
      .addOption(new Option("--node <url>", "the node's URL, instead of the key file's (default $EUSN_NODE)"))
      .option("--json", "print the node's answer as JSON", false),
    examples,
  );
}

export function withExamples(cmd: Command, examples: string[]): Command {
  return cmd.addHelpText(
    "after",
    `\nExample${examples.length > 1 ? "s" : ""}:\n${examples.map((e) => `  $ ${e}`).join("\n")}\n`,
  );
}

/** A command failed in a way the user must hear about, with exit status 1. */
export class Failure extends Error {}

/**
 * Runs a command body: maps errors to messages and exit statuses. `name` is what the user typed
 * (e.g. "eusn decide"), so every message says where it came from.
 */
export function run<A extends unknown[]>(name: string, body: (...args: A) => Promise<number | undefined>) {
  return async (...args: A) => {
    try {
      process.exitCode = (await body(...args)) ?? 0;
    } catch (e) {
      if (e instanceof NodeUnreachableError) {
        process.stderr.write(
          `${name}: ${e.message}\n  is the node running? (\`npm start\` serves http://localhost:8787; --node URL or EUSN_NODE points elsewhere)\n`,
        );
        process.exitCode = 1;
        return;
      }
      process.stderr.write(`${name}: ${(e as Error).message}\n`);
      process.exitCode = e instanceof UsageError ? 2 : 1;
    }
  };
}

/** The client, saying on stderr what was learned from the node that the key file does not record. */
export async function connect(name: string, opts: CommonOpts): Promise<Loaded> {
  const loaded = await loadClient(opts);
  if (loaded.learned.participantId && !opts.json) {
    process.stderr.write(
      `${name}: this key is ${loaded.learned.participantId} on ${loaded.client.baseUrl}; \`eusn whoami --save\` records it in ${loaded.key.file}\n`,
    );
  }
  return loaded;
}

/** Records what was learned from the node in the key file (kept encrypted if it was). */
export async function saveLearned(loaded: Loaded): Promise<Partial<CredentialFile>> {
  const { learned, key } = loaded;
  if (Object.keys(learned).length === 0) return {};
  await writeKeyFile(key.file, { ...key.content, ...learned });
  return learned;
}

/** Prints JSON (pretty, one value). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * A problem in the user's terms: "409 conflict: detail", then each `errors[]` entry as the flag or
 * argument the user filled in (`fields` maps a record member to it; a member not listed becomes
 * --its-name), never a JSON Pointer into a record the user never saw.
 */
export function problemText(p: Problem, fields: Record<string, string> = {}): string {
  const head = `${p.status} ${p.code}: ${p.detail ?? p.title}`;
  const lines = (p.errors ?? []).slice(0, 10).map((e) => `  ${fieldName(e.path, fields)}: ${e.message}`);
  const more = (p.errors?.length ?? 0) > 10 ? [`  … and ${p.errors!.length - 10} more`] : [];
  return [head, ...lines, ...more].join("\n");
}

export function fieldName(pointer: string, fields: Record<string, string>): string {
  const parts = pointer.split("/").filter(Boolean);
  const member = parts[0] === "record" ? parts.slice(1) : parts;
  const key = member.join(".");
  if (key in fields) return fields[key]!;
  // A path parameter (the id typed as an argument), not a member of the record.
  if (parts[0] !== "record" && key === "id") return "the id given";
  const last = member[0];
  if (last && last in fields) return fields[last]!;
  if (last && /^[a-zA-Z]+$/.test(last)) return `--${last.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  return pointer || "request";
}

/** The answer's data, or a Failure carrying the problem in the user's terms. */
export function must<T>(res: Result<T>, fields?: Record<string, string>): T {
  if (!res.ok) throw new Failure(problemText(res.problem, fields));
  return res.data;
}

/** Prints `value` as JSON with --json, else the text lines. */
export function show(opts: { json?: boolean }, value: unknown, text: () => string): void {
  if (opts.json) printJson(value);
  else process.stdout.write(`${text()}\n`);
}

/** A positive integer option, or a usage error naming the flag. */
export function intOption(
  flag: string,
  raw: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^[0-9]+$/.test(raw.trim()) || n < min || n > max)
    throw new UsageError(`${flag} must be a whole number ${min}..${max}`);
  return n;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
