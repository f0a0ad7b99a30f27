// @eusn/client: the SDK that authorities, platforms and coordinators use to talk to a node.

export * from "./actions.ts";
export * from "./api-credentials.ts";
export * from "./client.ts";
export * from "./evidence.ts";
export * from "./hash-list.ts";
export * from "./incidents.ts";
export * from "./key-client.ts";
export * from "./key-signer.ts";
export * from "./keys.ts";
export * from "./log.ts";
export * from "./sign.ts";
export * from "./signals.ts";
export * from "./webhooks.ts";
