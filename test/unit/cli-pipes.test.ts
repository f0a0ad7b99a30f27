// Every way `eusn hash` output reaches `eusn submit` and `eusn match`, run as people run it (bash
// pipes, the bundled CLI) against a real local node, checking what the node STORED against what
// was hashed: PDQ with its quality from every format (plain, --exact, --dihedral, --header,
// --format json and jsonl), MD5 and SHA-256 from --exact output, dihedral variants carried to the
// match so a rotated copy matches, upper-case hex folded (and said), and every row that cannot be
// read exactly refused with its line named and nothing stored.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { EusnClient, generateParticipantKey, listSubmissions } from "@eusn/client";
import type { SubmissionView, SubmitResult, WriteReceipt } from "@eusn/protocol";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sh } from "../helpers/cli-shell.ts";
import { pdqItem } from "../helpers/hashes.ts";
import { freePort, type LocalNode, secondSignatureOn, sharedLocalNode } from "../helpers/local-node.ts";

let node: LocalNode;
let dir: string;
let nl: EusnClient;
/** What `eusn hash photos/` printed (hash, quality) for each picture, by file name. */
let hashed: Record<string, [string, string]>;

async function admitTo(role: "authority" | "platform", memberState?: string) {
  const coordinator = new EusnClient({ baseUrl: node.baseUrl, nodeId: node.nodeId, ...node.coordinator });
  const key = await generateParticipantKey();
  const res = await coordinator.write<WriteReceipt>("/v1/participants", "participant.admit", {
    role,
    ...(memberState ? { memberState } : {}),
    displayName: `${role} ${memberState ?? ""} for the pipe tests`,
    jwks: { keys: [key.publicJwk] },
  });
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  await secondSignatureOn(node, res.data);
  const file = path.join(dir, `${memberState ?? role}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      participantId: res.data.subjectId,
      nodeId: node.nodeId,
      baseUrl: node.baseUrl,
      privateJwk: key.privateJwk,
    }),
  );
  return new EusnClient({
    baseUrl: node.baseUrl,
    nodeId: node.nodeId,
    participantId: res.data.subjectId,
    privateJwk: key.privateJwk,
  });
}

/** A noise picture (high PDQ quality), different for every seed. */
async function picture(name: string, seed: number): Promise<string> {
  const w = 96;
  const h = 64;
  const px = Buffer.alloc(w * h * 3);
  let s = seed;
  for (let i = 0; i < px.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    px[i] = (s >> 16) & 0xff;
  }
  const file = path.join(dir, "photos", name);
  await sharp(px, { raw: { width: w, height: h, channels: 3 } })
    .blur(1.2)
    .png()
    .toFile(file);
  return file;
}

async function mine(): Promise<SubmissionView[]> {
  const res = await listSubmissions(nl, { scope: "mine", limit: 500 });
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data.submissions;
}

const sha = (alg: string, file: string) => createHash(alg).update(readFileSync(file)).digest("hex");
const SUBMIT = 'eusn submit --key NL.json --limbs a --provision "NL Sr. art. 131"';

beforeAll(async () => {
  // The run's shared node: this file uses its own participants and entries, and counts nothing else.
  node = await sharedLocalNode();
  dir = node.dir;
  mkdirSync(path.join(dir, "photos"));
  writeFileSync(
    path.join(dir, "coordinator.json"),
    JSON.stringify({ ...node.coordinator, nodeId: node.nodeId, baseUrl: node.baseUrl }),
  );
  nl = await admitTo("authority", "NL");
  await admitTo("platform");
  for (let i = 1; i <= 6; i++) await picture(`p${i}.png`, i * 7919);
  // A rotated copy of p6: its PDQ hash is far from p6's, its dihedral variant is p6's hash.
  await sharp(path.join(dir, "photos/p6.png")).rotate(90).toFile(path.join(dir, "photos/p6-rotated.png"));
  // The CLI's own hashes of the pictures, printed once: what the pipes must store.
  const all = await sh("eusn hash photos/", dir);
  if (all.code !== 0) throw new Error(all.stderr);
  hashed = Object.fromEntries(
    all.stdout
      .trim()
      .split("\n")
      .map((l) => l.split(","))
      .map(([hash, quality, file]) => [path.basename(file!), [hash!, quality!]]),
  );
  expect(Object.keys(hashed).sort()).toEqual(
    ["p1", "p2", "p3", "p4", "p5", "p6", "p6-rotated"].map((n) => `${n}.png`).sort(),
  );
}, 300_000);

afterAll(async () => {
  await node?.stop();
});

// Each test starts the CLI a few times; on a loaded 2-core machine one start can take seconds.
describe("eusn hash | eusn submit stores exactly what was hashed", { timeout: 240_000 }, () => {
  it("plain output: the PDQ hash and its quality", async () => {
    const [hash, quality] = hashed["p1.png"]!;
    const r = await sh(`eusn hash photos/p1.png | ${SUBMIT} -`, dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/1 created, 0 already submitted/);
    const stored = (await mine()).find((s) => s.value === hash);
    expect(stored).toMatchObject({ signalType: "pdq", value: hash, quality: Number(quality) });
    // stdout names the entry, for the next command in a pipe.
    expect(r.stdout.trim()).toBe(`${stored!.id},pdq,${hash},created,photos/p1.png`);
  });

  it("--exact output with --type sha256 and --type md5: the file's digests, never the PDQ hash", async () => {
    const file = path.join(dir, "photos/p2.png");
    for (const type of ["sha256", "md5"] as const) {
      const r = await sh(`eusn hash --exact photos/p2.png | ${SUBMIT} --type ${type} -`, dir);
      expect(r.code, r.stderr).toBe(0);
      const stored = (await mine()).filter((s) => s.signalType === type);
      expect(stored.map((s) => s.value)).toContain(sha(type, file));
    }
    const pdq = hashed["p2.png"]![0];
    expect((await mine()).some((s) => s.signalType === "sha256" && s.value === pdq)).toBe(false);
  });

  it("--exact output with the default type: the PDQ hash with its quality", async () => {
    const [hash, quality] = hashed["p3.png"]!;
    const r = await sh(`eusn hash --exact photos/p3.png | ${SUBMIT} -`, dir);
    expect(r.code, r.stderr).toBe(0);
    expect((await mine()).find((s) => s.value === hash)).toMatchObject({
      signalType: "pdq",
      quality: Number(quality),
    });
  });

  it("--dihedral output: the original hash and the real quality (no variant read as a quality)", async () => {
    const [hash, quality] = hashed["p4.png"]!;
    const r = await sh(`eusn hash --dihedral photos/p4.png | ${SUBMIT} -`, dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/submitted as its original hash/);
    expect(r.stderr).not.toMatch(/force/);
    expect((await mine()).find((s) => s.value === hash)).toMatchObject({
      signalType: "pdq",
      quality: Number(quality),
    });
  });

  it("--header, --format json and --format jsonl, with --exact and --dihedral: the same stored entries", async () => {
    const [hash] = hashed["p5.png"]!;
    const first = await sh(
      `eusn hash --header --dihedral --exact photos/p5.png | ${SUBMIT} --type sha256 -`,
      dir,
    );
    expect(first.code, first.stderr).toBe(0);
    // One shell for the four pipes: each CLI start costs about 0.3 s of CPU.
    const r = await sh(
      [
        `eusn hash --format json photos/p5.png | ${SUBMIT} -`,
        `eusn hash --format json --exact --dihedral photos/p5.png | ${SUBMIT} -`,
        `eusn hash --format jsonl --dihedral photos/p5.png | ${SUBMIT} -`,
        `eusn hash --format jsonl --exact photos/p5.png | ${SUBMIT} --type sha256 -`,
      ].join("\n"),
      dir,
    );
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout.trim().split("\n");
    expect(out).toHaveLength(4);
    for (const l of out.slice(0, 3))
      expect(l).toMatch(new RegExp(`^hsh_\\w+,pdq,${hash},(created|existing),photos/p5.png$`));
    expect(out[3]).toMatch(/^hsh_\w+,sha256,[0-9a-f]{64},existing,photos\/p5.png$/);
    const stored = (await mine()).filter(
      (s) => s.value === hash || s.value === sha("sha256", path.join(dir, "photos/p5.png")),
    );
    expect(stored.map((s) => s.signalType).sort()).toEqual(["pdq", "sha256"]);
  });

  it("a list of several records (--batch 2, two in flight): every row answered, in the list's order", async () => {
    // Not p6 and its rotated copy: the match tests below need them to themselves.
    const files = ["p1.png", "p2.png", "p3.png", "p4.png", "p5.png"];
    const r = await sh(`eusn hash ${files.map((f) => `photos/${f}`).join(" ")} | ${SUBMIT} --batch 2 -`, dir);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => l.split(","));
    expect(lines.map((l) => path.basename(l[4]!))).toEqual(files);
    expect(lines.map((l) => l[2])).toEqual(files.map((f) => hashed[f]![0]));
    const counts = /(\d+) created, (\d+) already submitted \(of (\d+)\)/.exec(r.stderr);
    expect(counts && Number(counts[1]) + Number(counts[2])).toBe(files.length);
    expect(counts?.[3]).toBe(String(files.length));
    const stored = new Map((await mine()).map((s) => [s.value, s.id]));
    for (const l of lines) expect(stored.get(l[2]!), l.join(",")).toBe(l[0]);
  });

  it("upper-case hex is folded to lower case, and the CLI says so", async () => {
    const md5 = sha("md5", path.join(dir, "photos/p6.png"));
    writeFileSync(path.join(dir, "upper.txt"), `${md5.toUpperCase()}\n`);
    const r = await sh(`${SUBMIT} --type md5 upper.txt`, dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /upper-case hex folded to lower case on 1 row\(s\) \(first: upper\.txt line 1\)/,
    );
    expect((await mine()).some((s) => s.signalType === "md5" && s.value === md5)).toBe(true);
  });
});

describe("rows that cannot be read exactly are refused, naming the line, and nothing is stored", {
  timeout: 120_000,
}, () => {
  const cases: [string, string, RegExp][] = [
    [
      "plain output as --type sha256",
      `eusn hash photos/p6.png | ${SUBMIT} --type sha256 -`,
      /line 1: a hash,quality,file row has no sha256 value: hash the files with `eusn hash --exact`/,
    ],
    [
      "--dihedral output as --type md5",
      `eusn hash --dihedral photos/p6.png | ${SUBMIT} --type md5 -`,
      /line 1: a 8 dihedral hashes,quality,file \(--dihedral\) row has no md5 value/,
    ],
    [
      "a header without the column",
      `printf 'hash,quality,file\\n%s,90,x\\n' "$(printf 'a%.0s' {1..64})" | ${SUBMIT} --type md5 -`,
      /line 1: the header \(hash, quality, file\) has no md5 column/,
    ],
    [
      "two fields",
      `printf '%s,90\\n' "$(printf 'a%.0s' {1..64})" | ${SUBMIT} -`,
      /line 1: 2 fields is not a layout `eusn hash` writes/,
    ],
    [
      "a bare PDQ hash (no quality)",
      `printf '%s\\n' "$(printf 'ab%.0s' {1..32})" | ${SUBMIT} -`,
      /line 1: a PDQ hash without its quality/,
    ],
    [
      "a quality that is not a number",
      `printf '%s,high,x.png\\n' "$(printf 'ab%.0s' {1..32})" | ${SUBMIT} -`,
      /line 1: quality "high" is not a whole number/,
    ],
    [
      "a row of another width under a header",
      `eusn hash --header photos/p6.png > h.csv; echo 'x,y' >> h.csv; ${SUBMIT} h.csv`,
      /h\.csv line 3: 2 field\(s\), but the header on line 1 names 3/,
    ],
  ];
  for (const [name, script, message] of cases) {
    it(name, async () => {
      const before = (await mine()).length;
      const r = await sh(script, dir);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/nothing was sent/);
      expect(r.stderr).toMatch(message);
      expect((await mine()).length).toBe(before);
    });
  }
});

describe("eusn hash | eusn match", { timeout: 240_000 }, () => {
  it("carries --dihedral variants, so a rotated copy matches and the hit names the variant", async () => {
    const sub = await sh(`eusn hash photos/p6.png | ${SUBMIT} -`, dir);
    expect(sub.code, sub.stderr).toBe(0);
    const entry = sub.stdout.split(",")[0]!;
    const plain = await sh(
      "eusn hash photos/p6-rotated.png | eusn match --key platform.json --scope all --threshold 10 -",
      dir,
    );
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).not.toContain(entry);
    const dihedral = await sh(
      "eusn hash --dihedral photos/p6-rotated.png | eusn match --key platform.json --scope all --threshold 10 -",
      dir,
    );
    expect(dihedral.code, dihedral.stderr).toBe(0);
    const [header, hit] = dihedral.stdout.trim().split("\n");
    expect(header).toBe("label,value,entry,distance,baselineState,memberState,limbs,variant");
    expect(hit).toMatch(
      new RegExp(`^photos/p6-rotated.png,[0-9a-f]{64},${entry},\\d+,none,NL,a,(rotate90|rotate270)$`),
    );
    const json = await sh(
      "eusn hash --format jsonl --dihedral photos/p6-rotated.png | eusn match --key platform.json --scope all --threshold 10 --json -",
      dir,
    );
    const answer = JSON.parse(json.stdout) as { hits: { submissionId: string; variantName: string }[] };
    expect(answer.hits.map((h) => h.submissionId)).toEqual([entry]);
  });

  it("--exact output matches by SHA-256 with --type sha256", async () => {
    const r = await sh(
      "eusn hash --exact photos/p2.png | eusn match --key platform.json --scope all --type sha256 -",
      dir,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`,${sha("sha256", path.join(dir, "photos/p2.png"))},hsh_`);
  });
});

describe("key files, nodes and the messages that send users the right way", { timeout: 240_000 }, () => {
  const PASS = { EUSN_PASSPHRASE: "a long enough passphrase" };

  it("an encrypted key file works with the passphrase, is refused with another before anything is sent", async () => {
    const made = await sh(
      `eusn keygen --encrypt --node ${node.baseUrl} --out enc.key.json > enc.pub.json`,
      dir,
      PASS,
    );
    expect(made.code, made.stderr).toBe(0);
    const file = JSON.parse(readFileSync(path.join(dir, "enc.key.json"), "utf8")) as Record<string, string>;
    expect(file.privateKeyJwe!.split(".")).toHaveLength(5);
    expect(JSON.parse(Buffer.from(file.privateKeyJwe!.split(".")[0]!, "base64url").toString())).toMatchObject(
      {
        alg: "PBES2-HS512+A256KW",
        enc: "A256GCM",
        p2c: 210000,
      },
    );
    // Not admitted yet: the node has no participant with this key, and says what to do.
    const stranger = await sh("eusn whoami --key enc.key.json", dir, PASS);
    expect(stranger.code).toBe(1);
    expect(stranger.stderr).toMatch(
      /no active participant on http:\/\/127\.0\.0\.1:\d+ has this key .*`eusn admit`/,
    );
    const admitted = await sh(
      `eusn admit --key coordinator.json --role platform --name "Encrypted platform" --jwk enc.pub.json`,
      dir,
    );
    expect(admitted.code, admitted.stderr).toBe(0);
    const id = admitted.stdout.split("\n")[0]!.split(" ")[1]!;
    // A platform's admission waits for a second coordinator's signature.
    const pending = admitted.stdout.split("\n").find((l) => l.startsWith("pending "));
    expect(pending, admitted.stdout).toBeDefined();
    await secondSignatureOn(node, { recordId: pending!.split(" ")[1]! });
    const who = await sh("eusn whoami --key enc.key.json --save --json", dir, PASS);
    expect(who.code, who.stderr).toBe(0);
    expect(JSON.parse(who.stdout).participant).toMatchObject({ id, role: "platform", status: "active" });
    const saved = JSON.parse(readFileSync(path.join(dir, "enc.key.json"), "utf8")) as Record<string, string>;
    expect(saved).toMatchObject({
      participantId: id,
      nodeId: node.nodeId,
      privateKeyJwe: file.privateKeyJwe,
    });
    const wrong = await sh("eusn whoami --key enc.key.json", dir, { EUSN_PASSPHRASE: "not the passphrase" });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/cannot open key file enc\.key\.json: wrong passphrase/);
    // No terminal and no EUSN_PASSPHRASE: told how to give it.
    const none = await sh("eusn whoami --key enc.key.json < /dev/null", dir, { EUSN_PASSPHRASE: "" });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/is encrypted: set EUSN_PASSPHRASE, or run in a terminal/);
  });

  it("--node and EUSN_NODE override the key file's URL; an unreachable node is named with the cause", async () => {
    // A port nothing listens on (fetch refuses "bad" ports such as 9 before connecting).
    const closed = await freePort();
    writeFileSync(
      path.join(dir, "moved.json"),
      JSON.stringify({
        ...JSON.parse(readFileSync(path.join(dir, "platform.json"), "utf8")),
        baseUrl: `http://127.0.0.1:${closed}`,
      }),
    );
    const down = await sh("eusn whoami --key moved.json", dir);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(
      new RegExp(
        `cannot reach the node at http://127\\.0\\.0\\.1:${closed}: connect ECONNREFUSED 127\\.0\\.0\\.1:${closed}`,
      ),
    );
    expect(down.stderr).toMatch(/--node URL or EUSN_NODE/);
    const flag = await sh(`eusn whoami --key moved.json --node ${node.baseUrl}`, dir);
    expect(flag.code, flag.stderr).toBe(0);
    const env = await sh("eusn whoami --key moved.json", dir, { EUSN_NODE: node.baseUrl });
    expect(env.code, env.stderr).toBe(0);
    expect(env.stdout).toContain(`node ${node.nodeId} at ${node.baseUrl}`);
  });

  it("signal keys before a selector key is published: an error with the next step, and no file", async () => {
    const enc = await sh("eusn signal enc-key --key platform.json --out platform.enc.json", dir);
    expect(enc.code, enc.stderr).toBe(0);
    const r = await sh("eusn signal keys --key platform.json --enc-key platform.enc.json --out sk.json", dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /no selector key has been published yet; nothing was written\. Next: the coordinator runs `eusn signal publish-key`/,
    );
    expect(() => readFileSync(path.join(dir, "sk.json"))).toThrow();
  });

  it("a refused write names the flag the user typed", async () => {
    // An entry of NL's to withdraw, stored through the API (the withdrawal is what is tested).
    const sub = await nl.write<SubmitResult>("/v1/submissions", "submission.create", {
      items: [pdqItem(hashed["p1.png"]![0])],
    });
    if (!sub.ok) throw new Error(JSON.stringify(sub.problem));
    const entry = sub.data.submissions[0]!.id;
    const r = await sh(`eusn withdraw ${entry} --key NL.json --reason x`, dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/400 validation_failed/);
    expect(r.stderr).toMatch(/^ {2}--reason: /m);
  });
});
