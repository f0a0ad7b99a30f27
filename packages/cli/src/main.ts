// Entry point of the `eusn` command line (started by bin/eusn.mjs): builds the commander program
// from the modules of the commands it needs (registry.ts) and maps errors to exit statuses (0 ok,
// 1 a command failed, 2 usage).
import { Command, CommanderError } from "commander";
import pkg from "../package.json" with { type: "json" };
import { commandsOf, modulesFor } from "./registry.ts";

export async function main(argv: readonly string[]): Promise<void> {
  const program = new Command("eusn")
    .description(
      "EU Signal Network command line: hashing (local), and every participant's day on a node: authorities submit and assess, coordinators admit and decide, platforms match and follow reversals (docs/cli.md)",
    )
    .version(pkg.version)
    .showHelpAfterError()
    .exitOverride();
  const needed = modulesFor(argv);
  const modules = await Promise.all(needed.map(([load]) => load()));
  for (const [i, [, exports]] of needed.entries()) {
    for (const command of commandsOf(modules[i]!, exports)) {
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
