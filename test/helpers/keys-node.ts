// Generates throwaway keys for a test run (runs in Node, inside vitest.config.ts).
import { exportJWK, generateKeyPair } from "jose";

export async function makeTestKeys() {
  const node = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const coordinator = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  return {
    nodePrivateJwk: { ...(await exportJWK(node.privateKey)), alg: "EdDSA" },
    coordinatorPrivateJwk: { ...(await exportJWK(coordinator.privateKey)), alg: "EdDSA" },
    coordinatorPublicJwk: { ...(await exportJWK(coordinator.publicKey)), alg: "EdDSA" },
  };
}
