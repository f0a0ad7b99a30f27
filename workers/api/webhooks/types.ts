// What the Worker says to the webhook dispatcher (webhooks/dispatcher.ts) over Durable Object RPC.
// A leaf module: env.ts types the WEBHOOKS binding with it, independent of the implementation.

/** What one turn of the dispatcher did. */
export type TurnReport = {
  /** Deliveries made from new events. */
  made: number;
  /** Attempts made, and how many of them the receiver accepted. */
  attempted: number;
  delivered: number;
  /** When the next pending delivery is due (unix ms), if any. */
  nextAt: number | null;
};

export interface WebhookDispatcherRpc extends Rpc.DurableObjectBranded {
  /** Runs a turn soon (sets the alarm to now unless it is already due): cheap, never delivers itself. */
  kick(): Promise<void>;
}
