// IncidentWatch: a Durable Object per incident holding its followers' long-polls. A held wait is a
// promise resolved by `wake` (a write to the incident's feed) or by its one timer — no loop polls
// D1. The wait registers itself before it reads the feed's head from D1, so a write that lands
// between the read and the registration still wakes it (the wake finds it registered).
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env.ts";
import { incidentHead } from "../store/incidents.ts";
import type { IncidentWatchRpc } from "./types.ts";

export class IncidentWatch extends DurableObject<Env> implements IncidentWatchRpc {
  private readonly waiters = new Set<(changed: boolean) => void>();

  async wait(incidentId: string, after: number, timeoutMs: number): Promise<boolean> {
    let done!: (changed: boolean) => void;
    const answered = new Promise<boolean>((resolve) => {
      done = resolve;
    });
    const timer = setTimeout(() => done(false), Math.max(0, timeoutMs));
    const waiter = (changed: boolean) => done(changed);
    this.waiters.add(waiter);
    try {
      if ((await incidentHead(this.env.DB, incidentId, after)) > after) done(true);
      return await answered;
    } finally {
      clearTimeout(timer);
      this.waiters.delete(waiter);
    }
  }

  wake(): void {
    for (const w of this.waiters) w(true);
    this.waiters.clear();
  }
}
