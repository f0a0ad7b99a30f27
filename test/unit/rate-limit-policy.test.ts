// The arithmetic of the per-participant rate limiter (workers/api/limits/policy.ts): rule
// parsing and GCRA's admit / refuse / exact Retry-After, without the Durable Object around it.
import { describe, expect, it } from "vitest";
import {
  DEFAULT_LIMITS,
  gcra,
  LIMIT_CLASSES,
  matchCost,
  parseRules,
  type Rule,
  tooCostly,
} from "../../workers/api/limits/policy.ts";

describe("parseRules", () => {
  it("reads rule lists in the units operators write", () => {
    expect(parseRules("600/min, 50000/day")).toEqual([
      { limit: 600, windowS: 60 },
      { limit: 50000, windowS: 86400 },
    ]);
    expect(parseRules("10/30s")).toEqual([{ limit: 10, windowS: 30 }]);
    expect(parseRules("100 / 2 hour")).toEqual([{ limit: 100, windowS: 7200 }]);
    expect(parseRules("off")).toEqual([]);
    expect(parseRules("")).toEqual([]);
  });

  it("refuses anything else, so a typo is loud", () => {
    for (const bad of [
      "lots",
      "10",
      "10/",
      "0/min",
      "10/fortnight",
      "-1/min",
      "10/min;5/day",
      "1e3/min",
      "10/0s",
    ]) {
      expect(parseRules(bad), bad).toBeNull();
    }
  });

  it("every default parses", () => {
    for (const c of LIMIT_CLASSES) expect(parseRules(DEFAULT_LIMITS[c])?.length).toBeGreaterThan(0);
  });
});

describe("gcra", () => {
  const rule: Rule = { limit: 3, windowS: 60 };

  function run(times: number[]) {
    let tat: number | undefined;
    return times.map((t) => {
      const r = gcra(tat, rule, t);
      if (r.ok) tat = r.tat;
      return r.ok ? "ok" : Math.ceil(r.retryAfterMs / 1000);
    });
  }

  it("admits a burst of `limit`, then one per window/limit, with the exact wait", () => {
    expect(run([0, 0, 0, 0])).toEqual(["ok", "ok", "ok", 20]);
    expect(run([0, 0, 0, 20_000, 20_000])).toEqual(["ok", "ok", "ok", "ok", 20]);
  });

  it("has no double burst at a window edge (unlike fixed windows)", () => {
    expect(run([59_000, 59_000, 59_000, 61_000])).toEqual(["ok", "ok", "ok", 18]);
  });

  it("refills fully after an idle window", () => {
    expect(run([0, 0, 0, 60_000, 60_000, 60_000])).toEqual(["ok", "ok", "ok", "ok", "ok", "ok"]);
  });

  it("starts over when the clock went back by more than a window, instead of locking the caller out", () => {
    const ahead = gcra(undefined, rule, 10 * 86_400_000);
    expect(ahead.ok).toBe(true);
    if (ahead.ok) expect(gcra(ahead.tat, rule, 0)).toEqual({ ok: true, tat: 20_000 });
  });
});

describe("work-weighted charges", () => {
  const rule: Rule = { limit: 100, windowS: 60 };

  it("a cost of n advances the bucket as n requests would, with the exact wait", () => {
    const a = gcra(undefined, rule, 0, 60);
    expect(a).toEqual({ ok: true, tat: 36_000 });
    if (!a.ok) return;
    // 40 units left of the burst: 60 more need 20 units back, 12 s at 0.6 s per unit.
    const b = gcra(a.tat, rule, 0, 60);
    expect(b.ok).toBe(false);
    if (!b.ok) expect(b.retryAfterMs).toBe(12_000);
    expect(gcra(a.tat, rule, 0, 40).ok).toBe(true);
    expect(gcra(a.tat, rule, 12_000, 60).ok).toBe(true);
  });

  it("matchCost counts items x variants, weighted by the threshold; exact hashes cost one", () => {
    const pdq = (variants: number) => ({
      type: "pdq",
      dihedral: Array.from({ length: variants }, () => "x"),
    });
    expect(matchCost({ threshold: 31, items: [pdq(0)] })).toBe(1);
    expect(matchCost({ threshold: 31, items: Array.from({ length: 1000 }, () => pdq(0)) })).toBe(1000);
    expect(matchCost({ threshold: 31, items: [pdq(7)] })).toBe(8);
    expect(matchCost({ threshold: 32, items: [pdq(0)] })).toBe(8);
    expect(matchCost({ threshold: 63, items: Array.from({ length: 1000 }, () => pdq(7)) })).toBe(64_000);
    expect(matchCost({ threshold: 63, items: [{ type: "md5" }, { type: "sha256" }] })).toBe(2);
  });

  it("the default match limit admits the largest ordinary batch and refuses 1,000 items x 8 variants at T = 63 outright", () => {
    const rules = parseRules(DEFAULT_LIMITS.match)!;
    const batch = (threshold: number, variants: number) =>
      matchCost({
        threshold,
        items: Array.from({ length: 1000 }, () => ({ type: "pdq", dihedral: Array(variants).fill("x") })),
      });
    // Every dihedral variant at T <= 31, or one hash per item above it: 8,000 units, admitted.
    expect(tooCostly(rules, batch(31, 7))).toBeUndefined();
    expect(tooCostly(rules, batch(63, 0))).toBeUndefined();
    // All eight variants scanned at T = 63 (64,000 units) exceeds any burst: never admitted.
    expect(tooCostly(rules, batch(63, 7))).toEqual({ limit: 8000, windowS: 5 });
    expect(tooCostly([{ limit: 100, windowS: 60 }], 101)).toEqual({ limit: 100, windowS: 60 });
  });
});
