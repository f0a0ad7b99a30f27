// The RPC interface of the IncidentWatch Durable Object (a leaf module: env.ts types its binding
// by it without importing the class, which itself reads Env).

export interface IncidentWatchRpc extends Rpc.DurableObjectBranded {
  /**
   * Answers true as soon as the incident's hash feed has a change after `after`: at once if D1
   * already holds one, otherwise when a write wakes the object; false after `timeoutMs`.
   */
  wait(incidentId: string, after: number, timeoutMs: number): Promise<boolean>;
  /** A write changed the incident's feed: every held wait answers now. */
  wake(): void;
}
