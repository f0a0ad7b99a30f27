// All D1 tables of an EUSN node (drizzle). See schema/README.md for what each one holds and why.

export * from "./accountability.ts";
export * from "./credentials.ts";
export * from "./evidence.ts";
export * from "./federation.ts";
export * from "./incidents.ts";
export * from "./log.ts";
export * from "./participants.ts";
export * from "./records.ts";
export * from "./review.ts";
export * from "./signals.ts";
export * from "./submissions.ts";
export * from "./videos.ts";
export * from "./webhooks.ts";
