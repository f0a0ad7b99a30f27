// A local node (wrangler dev) seeded as `npm start` seeds its demo network, with every key file
// written under `<node dir>/day/.eusn-demo/keys` as `npm start` writes them: what the guides in
// docs/ are run against (docs/cli.md, docs/accountability.md).
import path from "node:path";
import { type Credential, writeJson } from "../../scripts/demo-keys.ts";
import { seedDemoNetwork } from "../../scripts/seed-content.ts";
import { type LocalNode, startLocalNode } from "./local-node.ts";

export type SeededNode = {
  node: LocalNode;
  /** The working directory the guides run in (`.eusn-demo/keys` inside it). */
  dir: string;
  coordinator: Credential;
  /** The seeded participants' key files, by slug (the bootstrap coordinator is `coordinator`). */
  seeded: Record<string, Credential>;
};

export async function startSeededNode(): Promise<SeededNode> {
  const node = await startLocalNode();
  const dir = path.join(node.dir, "day");
  const keysDir = path.join(dir, ".eusn-demo", "keys");
  const coordinator: Credential = {
    participantId: node.coordinator.participantId,
    role: "coordinator",
    displayName: "EU coordinator (bootstrap)",
    nodeId: node.nodeId,
    baseUrl: node.baseUrl,
    privateJwk: node.coordinator.privateJwk,
  };
  writeJson(path.join(keysDir, "coordinator.json"), coordinator);
  const creds = await seedDemoNetwork({ coordinator, baseUrl: node.baseUrl, keysDir, log: () => {} });
  return { node, dir, coordinator, seeded: Object.fromEntries(creds.map((c) => [c.slug, c.cred])) };
}
