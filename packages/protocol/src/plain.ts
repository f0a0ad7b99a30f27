// @eusn/protocol/plain: the part of the wire contract that needs no zod: constants and closed
// lists, formats, ids, problem codes, the JOSE and key helpers. Importing the package's index
// builds every wire schema, about 0.2 s of CPU at the start of each process that does (zod's own
// modules 0.05 s of it; measured at load 8-10), which every `eusn` command that talks to a node
// paid. The client SDK and the CLI import from here, and load the one schema module they check
// with (`await import("@eusn/protocol/match")`, package.json "exports") only where they check.
// The package's index re-exports all of this.
export * from "./constants.ts";
export * from "./evidence-format.ts";
export * from "./ids.ts";
export * from "./jose.ts";
export * from "./keys.ts";
export * from "./node-local-kinds.ts";
export * from "./problems.ts";
export * from "./signal-format.ts";
export * from "./vpdq-text.ts";
