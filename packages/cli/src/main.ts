// Entry point of the `eusn` command line (started by bin/eusn.mjs): builds the commander program
// from one module per command and maps errors to exit statuses (0 ok, 1 a command failed, 2 usage).
import { Command, CommanderError } from "commander";
import pkg from "../package.json" with { type: "json" };

/**
 * One line per module of commands. Each module's exports return commander Commands; heavy
 * dependencies (sharp, crypto keys) are loaded inside the actions, so `eusn --help` stays fast.
 * The order is the order of `eusn --help`: local tools, then everyone's, then each role's.
 */
type Module = Record<string, unknown>;
const COMMANDS: ReadonlyArray<readonly [() => Promise<Module>, readonly string[]]> = [
  [() => import("./commands/hash.ts"), ["default"]],
  [() => import("./commands/video.ts"), ["default"]],
  [() => import("./commands/keygen.ts"), ["default"]],
  [() => import("./commands/whoami.ts"), ["default"]],
  [() => import("./commands/records.ts"), ["default"]],
  [() => import("./commands/apicred.ts"), ["default"]],
  [() => import("./commands/webhook.ts"), ["default"]],
  [() => import("./commands/log.ts"), ["default"]],
  [() => import("./commands/submit.ts"), ["default"]],
  [() => import("./commands/authority.ts"), ["assessCommand", "withdrawCommand", "submissionsCommand"]],
  [
    () => import("./commands/coordinator.ts"),
    [
      "admitCommand",
      "revokeCommand",
      "requestsCommand",
      "countersignCommand",
      "withdrawRequestCommand",
      "decideCommand",
      "reverseCommand",
      "curationCommand",
      "auditCommand",
    ],
  ],
  [() => import("./commands/match.ts"), ["default"]],
  [
    () => import("./commands/platform.ts"),
    ["feedbackCommand", "reversalsCommand", "baselineCommand", "exportCommand"],
  ],
  [() => import("./commands/evidence.ts"), ["default"]],
  [() => import("./commands/signal.ts"), ["default"]],
  [() => import("./commands/statement.ts"), ["default"]],
  [() => import("./commands/report.ts"), ["default"]],
  [() => import("./commands/incident.ts"), ["default"]],
];

export async function main(argv: readonly string[]): Promise<void> {
  const program = new Command("eusn")
    .description(
      "EU Signal Network command line: hashing (local), and every participant's day on a node: authorities submit and assess, coordinators admit and decide, platforms match and follow reversals (docs/cli.md)",
    )
    .version(pkg.version)
    .showHelpAfterError()
    .exitOverride();
  const modules = await Promise.all(COMMANDS.map(([load]) => load()));
  for (const [i, [, names]] of COMMANDS.entries()) {
    for (const name of names) {
      const command = (modules[i]![name] as () => Command)();
      // addCommand does not copy settings; the subcommands (and theirs, as `video compare`) must
      // throw rather than exit too.
      inheritSettings(command, program);
      program.addCommand(command);
    }
  }
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (!(err instanceof CommanderError)) {
      // A command that let an error through (a node that cannot be reached, a bug): one line
      // naming it, not a stack trace.
      process.stderr.write(`eusn: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
      return;
    }
    // --help and --version arrive here with exit code 0; everything else is a usage error.
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  }
}

function inheritSettings(command: Command, parent: Command): void {
  command.copyInheritedSettings(parent);
  for (const sub of command.commands) inheritSettings(sub, command);
}

await main(process.argv);
