// The `eusn` commands: which module defines which top-level commands, and which modules a start
// needs (main.ts builds the program from them).
import type { Command } from "commander";

/**
 * One line per module of commands: how to load it, the exports that return its commander
 * Commands, and the names of those commands. Heavy dependencies (sharp, crypto keys) are loaded
 * inside the actions, so `eusn --help` stays fast. The order is the order of `eusn --help`: local
 * tools, then everyone's, then each role's.
 *
 * A start loads only the module of the command named first on the command line (`eusn hash …`,
 * `eusn help hash`): the networked commands' modules bring the client SDK and jose with them (and
 * load a protocol schema only where they check with one: @eusn/protocol/plain), and `eusn hash` or
 * `eusn video compare` need none of them. Anything else (`eusn --help`, no command, a name that is no command) loads every module,
 * so the overview, the "unknown command" message and its suggestion are those of the whole
 * program. The names are checked against the commands each module builds (test/unit/cli-hash.test.ts).
 */
type Module = Record<string, unknown>;
export const COMMANDS: ReadonlyArray<
  readonly [load: () => Promise<Module>, exports: readonly string[], names: readonly string[]]
> = [
  [() => import("./commands/hash.ts"), ["default"], ["hash"]],
  [() => import("./commands/video.ts"), ["default"], ["video"]],
  [() => import("./commands/keygen.ts"), ["default"], ["keygen"]],
  [() => import("./commands/whoami.ts"), ["default"], ["whoami"]],
  [() => import("./commands/records.ts"), ["default"], ["records"]],
  [() => import("./commands/apicred.ts"), ["default"], ["apicred"]],
  [() => import("./commands/webhook.ts"), ["default"], ["webhook"]],
  [() => import("./commands/log.ts"), ["default"], ["log"]],
  [() => import("./commands/submit.ts"), ["default"], ["submit"]],
  [
    () => import("./commands/authority.ts"),
    ["assessCommand", "withdrawCommand", "submissionsCommand"],
    ["assess", "withdraw", "submissions"],
  ],
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
    [
      "admit",
      "revoke",
      "requests",
      "countersign",
      "withdraw-request",
      "decide",
      "reverse",
      "curation",
      "audit",
    ],
  ],
  [() => import("./commands/match.ts"), ["default"], ["match"]],
  [
    () => import("./commands/platform.ts"),
    ["feedbackCommand", "reversalsCommand", "baselineCommand", "exportCommand"],
    ["feedback", "reversals", "baseline", "export"],
  ],
  [() => import("./commands/evidence.ts"), ["default"], ["evidence"]],
  [() => import("./commands/signal.ts"), ["default"], ["signal"]],
  [() => import("./commands/statement.ts"), ["default"], ["statement"]],
  [() => import("./commands/report.ts"), ["default"], ["report"]],
  [() => import("./commands/incident.ts"), ["default"], ["incident"]],
];

/**
 * The modules a start needs: the one defining the command that `argv` names first (after `help`,
 * which shows that command's help), or all of them when the first word is an option, missing, or
 * no command's name.
 */
export function modulesFor(argv: readonly string[]): typeof COMMANDS {
  const args = argv.slice(2);
  const name = args[0] === "help" && args.length > 1 ? args[1] : args[0];
  const one = COMMANDS.find(([, , names]) => name !== undefined && names.includes(name));
  return one ? [one] : COMMANDS;
}

/** Builds a module's commands, in the order of its exports. */
export function commandsOf(module: Module, exports: readonly string[]): Command[] {
  return exports.map((name) => (module[name] as () => Command)());
}
