// @eusn/protocol: the wire contract between an EUSN node and its clients (no bindings, no Hono).

export * from "./accountability.ts";
export * from "./baseline.ts";
export * from "./entry-state.ts";
export * from "./evidence.ts";
export * from "./incidents.ts";
export * from "./log.ts";
export * from "./match.ts";
export * from "./plain.ts";
export * from "./review.ts";
export * from "./schemas.ts";
export * from "./signals.ts";
export * from "./stats.ts";
export * from "./submissions.ts";
export * from "./taxii.ts";
export * from "./webhooks.ts";
