// A local node (wrangler dev) seeded as `npm start` seeds its demo network, with every key file
// written under `<node dir>/day/.eusn-demo/keys` as `npm start` writes them: what the guides in
// docs/ are run against (docs/cli.md, docs/accountability.md).
//
// The demo network is seeded once per test run (buildOnce): on a node that is then stopped, its
// state, keys and key files kept. Each file's node starts from a copy of that state with the same
// keys, and seedDemoNetwork runs again on it as on every `npm start` of a seeded node: it finds
// the network seeded and only rewrites the key files' node URL (the port differs).
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { type Credential, writeJson } from "../../scripts/demo-keys.ts";
import { seedDemoNetwork } from "../../scripts/seed-content.ts";
import { buildOnce, type LocalNode, type LocalNodeKeys, startLocalNode } from "./local-node.ts";

export type SeededNode = {
  node: LocalNode;
  /** The working directory the guides run in (`.eusn-demo/keys` inside it). */
  dir: string;
  coordinator: Credential;
  /** The seeded participants' key files, by slug (the bootstrap coordinator is `coordinator`). */
  seeded: Record<string, Credential>;
};

/** The bootstrap coordinator's key file for `node`, written where `npm start` writes it. */
function writeCoordinator(node: LocalNode, keysDir: string): Credential {
  const coordinator: Credential = {
    participantId: node.coordinator.participantId,
    role: "coordinator",
    displayName: "EU coordinator (bootstrap)",
    nodeId: node.nodeId,
    baseUrl: node.baseUrl,
    privateJwk: node.coordinator.privateJwk,
  };
  writeJson(path.join(keysDir, "coordinator.json"), coordinator);
  return coordinator;
}

/** The seeded network, once per run: `state` (a persist dir), `keys` (key files), `node-keys.json`. */
function seededTemplate(): Promise<string> {
  return buildOnce("seeded-demo-network", async (out) => {
    const node = await startLocalNode();
    try {
      const keysDir = path.join(out, "keys");
      const coordinator = writeCoordinator(node, keysDir);
      await seedDemoNetwork({ coordinator, baseUrl: node.baseUrl, keysDir, log: () => {} });
      await node.halt();
      cpSync(node.persistDir, path.join(out, "state"), { recursive: true });
      writeFileSync(path.join(out, "node-keys.json"), JSON.stringify(node.keys));
    } finally {
      await node.stop();
    }
  });
}

export async function startSeededNode(): Promise<SeededNode> {
  const template = await seededTemplate();
  const node = await startLocalNode({
    state: path.join(template, "state"),
    keys: JSON.parse(readFileSync(path.join(template, "node-keys.json"), "utf8")) as LocalNodeKeys,
  });
  try {
    const dir = path.join(node.dir, "day");
    const keysDir = path.join(dir, ".eusn-demo", "keys");
    cpSync(path.join(template, "keys"), keysDir, { recursive: true });
    const coordinator = writeCoordinator(node, keysDir);
    const creds = await seedDemoNetwork({ coordinator, baseUrl: node.baseUrl, keysDir, log: () => {} });
    return { node, dir, coordinator, seeded: Object.fromEntries(creds.map((c) => [c.slug, c.cred])) };
  } catch (e) {
    // The caller never gets the node to stop.
    await node.stop();
    throw e;
  }
}
