// @eusn/merkle: the binding-free core of EUSN's transparency log — RFC 6962 hashing, proofs and
// their RFC 9162 verification, storage-agnostic proof assembly from perfect subtrees, signed
// checkpoints, fork detection and receipt verification. WebCrypto only: Worker, Node, browser.
export * from "./bytes.ts";
export * from "./checkpoint.ts";
export * from "./compact.ts";
export * from "./hash.ts";
export * from "./memory.ts";
export * from "./receipt.ts";
export * from "./result.ts";
export * from "./tree.ts";
export * from "./verify.ts";
