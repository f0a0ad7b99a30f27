// Selector normalisation (per kind, as documented in docs/signals.md), out-link normalisation,
// pseudonym format and determinism (known answers cross-checked with node:crypto), key-version
// handling, key wrapping, and the `eusn signal` commands that do this locally.
import { execFile } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import {
  generateEncKeyPair,
  normaliseEmail,
  normaliseHandle,
  normaliseOutLink,
  normalisePhone,
  normaliseProfileUrl,
  normaliseSelector,
  pseudonymFor,
  pseudonymise,
  pseudonymiseForLookup,
  type SelectorKey,
  unwrapSelectorKey,
  wrapSelectorKey,
} from "@eusn/client";
import { PSEUDONYM_PATTERN, parsePseudonym, type SelectorKind } from "@eusn/protocol";
import { describe, expect, it, onTestFinished } from "vitest";
import { EUSN, EUSN_LAUNCHER, REPO_ROOT } from "../helpers/cli.ts";

const ok = (r: { ok: true; value: string } | { ok: false; reason: string }) =>
  r.ok ? r.value : `!${r.reason}`;
const refused = (r: { ok: boolean }) => !r.ok;

describe("handle", () => {
  it.each([
    ["@Propaganda_Channel", "propaganda_channel"],
    ["  propaganda_channel  ", "propaganda_channel"],
    ["PROPAGANDA_CHANNEL", "propaganda_channel"],
    ["＠Ｐｒｏｐａｇａｎｄａ", "propaganda"], // full-width forms fold under NFKC
    ["pro\u200bpa\u200dganda", "propaganda"], // zero-width characters are invisible, so dropped
  ])("%j → %j", (input, expected) => {
    expect(ok(normaliseHandle(input))).toBe(expected);
  });

  it.each([
    "",
    "   ",
    "@",
    "@@double",
    "two words",
    "jane@example.org",
    "https://x.example/a",
    "a:b",
    "x".repeat(101),
  ])("refuses %j", (input) => {
    expect(refused(normaliseHandle(input))).toBe(true);
  });
});

describe("e-mail", () => {
  it.each([
    ["Jane.Doe@Example.ORG", "jane.doe@example.org"],
    ["  jane.doe+recruit@example.org ", "jane.doe@example.org"],
    ["mailto:Jane.Doe@example.org", "jane.doe@example.org"],
    ["jane.doe@example.org.", "jane.doe@example.org"],
    ["J.A.N.E+x@GoogleMail.com", "jane@gmail.com"],
    ["jane.doe@gmail.com", "janedoe@gmail.com"],
    ["jane.doe@outlook.com", "jane.doe@outlook.com"], // dots are kept except at Gmail
    ["user@bücher.de", "user@xn--bcher-kva.de"],
    ["ｊａｎｅ@example.org", "jane@example.org"],
  ])("%j → %j", (input, expected) => {
    expect(ok(normaliseEmail(input))).toBe(expected);
  });

  it.each(["", "jane", "@example.org", "jane@", "jane@localhost", "ja ne@example.org", "+tag@example.org"])(
    "refuses %j",
    (input) => {
      expect(refused(normaliseEmail(input))).toBe(true);
    },
  );
});

describe("phone", () => {
  it.each([
    ["+31 6 1234 5678", {}, "+31612345678"],
    ["+31 (0)6 1234 5678", {}, "+31612345678"],
    ["0031 6-1234-5678", {}, "+31612345678"],
    ["tel:+49-30-1234567", {}, "+49301234567"],
    ["(030) 123 4567", { defaultCallingCode: "49" }, "+49301234567"],
    ["06 12 34 56 78", { defaultCallingCode: "+33" }, "+33612345678"],
    ["06 1234 5678", { defaultCallingCode: "39" }, "+390612345678"], // Italy keeps the leading 0
    ["+39 06 1234 5678", {}, "+390612345678"],
    ["＋３１６１２３４５６７８", {}, "+31612345678"],
  ] as const)("%j %j → %j", (input, opts, expected) => {
    expect(ok(normalisePhone(input, opts))).toBe(expected);
  });

  it.each([
    ["0612345678", {}], // national without a calling code
    ["+31 6 CALL ME", {}],
    ["+31 12", {}], // too short
    ["+1234567890123456", {}], // 16 digits: longer than E.164 allows
    ["+0612345678", {}],
    ["0612345678", { defaultCallingCode: "abc" }],
  ] as const)("refuses %j %j", (input, opts) => {
    expect(refused(normalisePhone(input, opts))).toBe(true);
  });
});

describe("profile URL", () => {
  it.each([
    ["https://www.Social.example/Propaganda_Channel/", "https://social.example/Propaganda_Channel"],
    ["http://social.example/Propaganda_Channel", "https://social.example/Propaganda_Channel"],
    ["social.example/Propaganda_Channel", "https://social.example/Propaganda_Channel"],
    [
      "https://m.social.example/Propaganda_Channel?utm_source=share#top",
      "https://social.example/Propaganda_Channel",
    ],
    ["https://mobile.social.example/@actor", "https://social.example/@actor"],
    ["https://m.facebook.com/profile.php?id=1000&fbclid=zz", "https://facebook.com/profile.php?id=1000"],
    ["https://user:pw@social.example:443/actor", "https://social.example/actor"],
  ])("%j → %j", (input, expected) => {
    expect(ok(normaliseProfileUrl(input))).toBe(expected);
  });

  it("keeps the case of the path (profile ids can be case-sensitive)", () => {
    expect(ok(normaliseProfileUrl("https://video.example/channel/UCabcDEF"))).toBe(
      "https://video.example/channel/UCabcDEF",
    );
  });

  it.each(["https://social.example/", "ftp://social.example/actor", "javascript:alert(1)", "actor", ""])(
    "refuses %j",
    (input) => {
      expect(refused(normaliseProfileUrl(input))).toBe(true);
    },
  );
});

describe("out-links", () => {
  it.each([
    ["HTTPS://WWW.T.ME/examplechannel/", "https://t.me/examplechannel"],
    ["t.me/examplechannel", "https://t.me/examplechannel"],
    ["https://t.me/examplechannel#join", "https://t.me/examplechannel"],
    [
      "https://site.example/p?utm_source=a&utm_medium=b&b=2&fbclid=x&gclid=y&a=1&msclkid=z&igshid=q&si=s",
      "https://site.example/p?a=1&b=2",
    ],
    [
      "https://site.example/p?mc_cid=1&mc_eid=2&_hsenc=3&_hsmi=4&mkt_tok=5&twclid=6&ttclid=7",
      "https://site.example/p",
    ],
    ["http://site.example:80/x", "http://site.example/x"],
    ["https://user:pw@site.example/x", "https://site.example/x"],
    ["https://bücher.example/Pfad", "https://xn--bcher-kva.example/Pfad"],
    ["https://site.example/", "https://site.example/"],
    ["https://site.example/CaseKept", "https://site.example/CaseKept"],
    ["t.me:443/x", "https://t.me/x"],
  ])("%j → %j", (input, expected) => {
    expect(ok(normaliseOutLink(input))).toBe(expected);
  });

  it("is idempotent", () => {
    for (const u of [
      "https://site.example/p?z=1&a=%20x&b=~",
      "HTTPS://WWW.T.ME/a/?utm_x=1",
      "site.example/a+b?q=a+b&q=c",
    ]) {
      const once = normaliseOutLink(u);
      expect(once.ok).toBe(true);
      if (once.ok) expect(ok(normaliseOutLink(once.value))).toBe(once.value);
    }
  });

  it.each([
    "",
    "javascript:alert(1)",
    "mailto:a@b.example",
    "data:text/html,hello.example",
    "tg://resolve?domain=x",
    "https://localhost/x",
    `https://x.example/${"a".repeat(2100)}`,
  ])("refuses %j", (input) => {
    expect(refused(normaliseOutLink(input))).toBe(true);
  });
});

describe("pseudonyms", () => {
  const key: SelectorKey = { version: 1, key: Uint8Array.from({ length: 32 }, (_, i) => i) };
  const other: SelectorKey = { version: 2, key: Uint8Array.from({ length: 32 }, (_, i) => 255 - i) };

  // Known answers: HMAC-SHA-256(key 00..1f, "eusn-selector\0<kind>\0<normalised>"), base64url.
  const KNOWN: [SelectorKind, string, string][] = [
    ["email", "Jane.Doe+x@Example.org", "v1:email:6cLqXecOpSOvUW9V-4it3DcPuhZcw4tCHz26ovPaLtU"],
    ["phone", "+31 (0)6 1234 5678", "v1:phone:dnAdwnKnyuJ7GOa8ZBM9BmQpRd6fVJqF3EDT3ai8SCw"],
    ["handle", "@Propaganda_Channel", "v1:handle:76ypvrSEXjWLAq84awOUIkGGxM1_hM__Gnr7On3AAbQ"],
    [
      "profile_url",
      "https://www.social.example/Propaganda_Channel/",
      "v1:profile_url:jbSx6BnP1t9pEuXvziFM57FvjPGBaW-6v_1-5czgH3s",
    ],
  ];

  it.each(KNOWN)("%s %j has the known pseudonym", async (kind, raw, expected) => {
    const p = await pseudonymise(key, kind, raw);
    expect(p.ok && p.pseudonym).toBe(expected);
    // Cross-check with an independent HMAC implementation.
    const n = normaliseSelector(kind, raw);
    if (!n.ok) throw new Error(n.reason);
    const mac = createHmac("sha256", Buffer.from(key.key))
      .update(`eusn-selector\u0000${kind}\u0000${n.value}`)
      .digest("base64url");
    expect(expected).toBe(`v1:${kind}:${mac}`);
  });

  it("is deterministic, has the strict wire format, and parses back", async () => {
    for (let i = 0; i < 200; i++) {
      const raw = `user${i}@example.org`;
      const a = await pseudonymise(key, "email", raw);
      const b = await pseudonymise(key, "email", raw.toUpperCase());
      if (!a.ok || !b.ok) throw new Error("refused");
      expect(a.pseudonym).toBe(b.pseudonym);
      expect(a.pseudonym).toMatch(PSEUDONYM_PATTERN);
      expect(a.pseudonym).toHaveLength("v1:email:".length + 43);
      expect(parsePseudonym(a.pseudonym)).toMatchObject({ version: 1, kind: "email" });
    }
  });

  it("differs by key version and by kind (the kind is inside the MAC)", async () => {
    const a = await pseudonymFor(key, "handle", "same");
    const b = await pseudonymFor({ version: 2, key: key.key }, "handle", "same");
    const c = await pseudonymFor(other, "handle", "same");
    const d = await pseudonymFor(key, "email", "same");
    expect(a.split(":")[2]).toBe(b.split(":")[2]); // same key, only the label differs
    expect(b.split(":")[0]).toBe("v2");
    expect(new Set([a.split(":")[2], c.split(":")[2], d.split(":")[2]]).size).toBe(3);
  });

  it("pseudonymises a lookup under every live version, in order", async () => {
    const r = await pseudonymiseForLookup([key, other], "email", "Jane.Doe@example.org");
    expect(r.ok && r.pseudonyms.map((p) => parsePseudonym(p)?.version)).toEqual([1, 2]);
    expect(r.ok && r.pseudonyms[0]).toBe(KNOWN[0]![2]);
  });

  it("refuses raw values that do not normalise, and keys of the wrong size", async () => {
    expect((await pseudonymise(key, "email", "not an address")).ok).toBe(false);
    await expect(
      pseudonymFor({ version: 1, key: new Uint8Array(16) }, "email", "a@b.example"),
    ).rejects.toThrow();
  });

  it.each([
    "jane.doe@example.org",
    "+31612345678",
    `v1:email:${"A".repeat(42)}B`,
    `v1:email:${"A".repeat(44)}`,
    `v1:nick:${"A".repeat(43)}`,
    `v1000000:email:${"A".repeat(43)}`,
  ])("parsePseudonym refuses %j", (s) => {
    expect(parsePseudonym(s)).toBeUndefined();
  });
});

describe("key wrapping", () => {
  it("round-trips to the intended platform only, and checks version and recipient", async () => {
    const platform = await generateEncKeyPair();
    const stranger = await generateEncKeyPair();
    const key: SelectorKey = { version: 3, key: crypto.getRandomValues(new Uint8Array(32)) };
    const w = await wrapSelectorKey(key, { participantId: "par_platform1", jwk: platform.publicJwk });
    expect(w.kid).toBe(platform.kid);
    const opened = await unwrapSelectorKey(w.jwe, platform.privateJwk, {
      version: 3,
      participantId: "par_platform1",
    });
    expect([...opened.key]).toEqual([...key.key]);
    await expect(
      unwrapSelectorKey(w.jwe, stranger.privateJwk, { version: 3, participantId: "par_platform1" }),
    ).rejects.toThrow();
    await expect(
      unwrapSelectorKey(w.jwe, platform.privateJwk, { version: 4, participantId: "par_platform1" }),
    ).rejects.toThrow(/expected v4/);
    await expect(
      unwrapSelectorKey(w.jwe, platform.privateJwk, { version: 3, participantId: "par_platform2" }),
    ).rejects.toThrow();
  });
});

describe("eusn signal (local commands)", () => {
  // The CLI bundled once per run (test/helpers/cli.ts); `viaLauncher` runs bin/eusn.mjs (tsx).
  const runWith = async (entry: string, args: string[]) => {
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [entry, ...args], {
        cwd: REPO_ROOT,
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };
  const run = (...args: string[]) => runWith(EUSN, args);
  const viaLauncher = (...args: string[]) => runWith(EUSN_LAUNCHER, args);

  it("normalises selectors and URLs", async () => {
    const r = await viaLauncher(
      "signal",
      "normalise",
      "--kind",
      "email",
      "Jane.Doe+x@Example.org",
      "J.Doe@GMail.com",
    );
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual(["jane.doe@example.org", "jdoe@gmail.com"]);
    const u = await run("signal", "normalise", "--kind", "url", "HTTPS://WWW.T.ME/x/?utm_source=a");
    expect(u.stdout.trim()).toBe("https://t.me/x");
    const bad = await run("signal", "normalise", "--kind", "phone", "0612345678");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/calling code/);
  });

  it("pseudonymises locally with a key file, under every version it holds", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "eusn-signal-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const keyFile = path.join(dir, "selector-keys.json");
    const k1 = Buffer.from(Uint8Array.from({ length: 32 }, (_, i) => i)).toString("base64url");
    const k2 = Buffer.alloc(32, 9).toString("base64url");
    writeFileSync(
      keyFile,
      JSON.stringify({
        current: 2,
        lookupVersions: [1, 2],
        keys: [
          { version: 1, key: k1 },
          { version: 2, key: k2 },
        ],
      }),
    );
    const one = await run(
      "signal",
      "pseudonymise",
      "--selector-keys",
      keyFile,
      "--key-version",
      "1",
      "--kind",
      "email",
      "Jane.Doe+x@Example.org",
    );
    expect(one.code).toBe(0);
    expect(one.stdout.trim()).toBe(KNOWN_EMAIL);
    const all = await run(
      "signal",
      "pseudonymise",
      "--selector-keys",
      keyFile,
      "--lookup",
      "--kind",
      "email",
      "Jane.Doe@example.org",
    );
    const lines = all.stdout.trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(KNOWN_EMAIL);
    expect(lines[1]).toMatch(/^v2:email:/);
    // The raw value is never printed.
    expect(all.stdout + all.stderr).not.toContain("jane");
  });
});

const KNOWN_EMAIL = "v1:email:6cLqXecOpSOvUW9V-4it3DcPuhZcw4tCHz26ovPaLtU";
