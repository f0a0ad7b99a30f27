// Entry point of the `eusn` command line (started by bin/eusn.mjs): builds the commander program
// from one module per command and maps errors to exit statuses (0 ok, 1 a command failed, 2 usage).
import { Command, CommanderError } from "commander";
import pkg from "../package.json" with { type: "json" };

/**
 * One line per command. Each module default-exports a function returning its commander Command;
 * heavy dependencies (sharp, crypto keys) are loaded inside the actions, so `eusn --help` stays fast.
 */
const COMMANDS: ReadonlyArray<() => Promise<{ default: () => Command }>> = [
  () => import("./commands/hash.ts"),
  () => import("./commands/signal.ts"),
  () => import("./commands/keygen.ts"),
  () => import("./commands/submit.ts"),
  () => import("./commands/match.ts"),
  () => import("./commands/video.ts"),
];

export async function main(argv: readonly string[]): Promise<void> {
  const program = new Command("eusn")
    .description("EU Signal Network command line: local hashing, signed submission, matching, signals")
    .version(pkg.version)
    .showHelpAfterError()
    .exitOverride();
  for (const load of COMMANDS) {
    const command = (await load()).default();
    // addCommand does not copy settings; the subcommands (and theirs, as `video compare`) must
    // throw rather than exit too.
    inheritSettings(command, program);
    program.addCommand(command);
  }
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    // --help and --version arrive here with exit code 0; everything else is a usage error.
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  }
}

function inheritSettings(command: Command, parent: Command): void {
  command.copyInheritedSettings(parent);
  for (const sub of command.commands) inheritSettings(sub, command);
}

await main(process.argv);
