// The accountability documents as pure functions, in Node: every DSA statement the node can render
// validates against the JSON Schema written from the DSA Transparency Database's API documentation
// (packages/protocol/schemas/dsa-statement-of-reasons.schema.json), and that schema refuses what
// the documentation refuses; the user-readable statement in each language; what free text may not
// carry.
import { readFileSync } from "node:fs";
import path from "node:path";
import {
  EU_SCOPE,
  identifierIn,
  STATEMENT_ACTIONS,
  STATEMENT_LANGUAGES,
  StatementRecord,
} from "@eusn/protocol";
import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import { describe, expect, it } from "vitest";
import { dsaStatement } from "../../workers/api/accountability/dsa.ts";
import { type StatementInput, userStatement } from "../../workers/api/accountability/statement-text.ts";
import { errorRate, wilson } from "../../workers/api/store/error-rates.ts";

const root = path.join(import.meta.dirname, "../..");
const schema = JSON.parse(
  readFileSync(path.join(root, "packages/protocol/schemas/dsa-statement-of-reasons.schema.json"), "utf8"),
) as Record<string, unknown>;
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
addFormats(ajv, { keywords: true });
const validate = ajv.compile(schema);
const errors = (doc: unknown) =>
  validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);

function input(
  over: Partial<StatementInput["record"]> = {},
  ground: Partial<StatementInput["ground"]> = {},
): StatementInput {
  return {
    id: "stm_01jd0000000000000000000000",
    platformName: "Demo Social",
    record: StatementRecord.parse({
      submissionId: "hsh_01jd0000000000000000000000",
      contentRef: "post-4711",
      actions: ["content_removed"],
      language: "en",
      reviewer: "Trust & Safety analyst R-41",
      reviewedAt: "2026-03-02T10:00:00Z",
      contentDate: "2026-03-01",
      appliedOn: "2026-03-02",
      complaintUrl: "https://social.example/appeals",
      ...over,
    }),
    ground: {
      limbs: ["a", "c"],
      nationalProvision: "NL Wetboek van Strafrecht art. 131 / 134a",
      memberState: "NL",
      authority: "ATKM",
      contentType: "image",
      ...ground,
    },
  };
}

describe("the DSA form against the schema written from the DSA Transparency Database documentation", () => {
  it("every action, every combination, every content type and scope validates", () => {
    const combos: string[][] = [];
    for (let mask = 1; mask < 1 << STATEMENT_ACTIONS.length; mask++) {
      const c = STATEMENT_ACTIONS.filter((_, i) => mask & (1 << i));
      if (c.includes("account_suspended") && c.includes("account_terminated")) continue;
      combos.push(c);
    }
    let n = 0;
    for (const actions of combos)
      for (const contentType of ["image", "video", "audio", "document", "text", "other"])
        for (const territorialScope of [[...EU_SCOPE], ["NL"], ["DE", "AT", "NO"]])
          for (const accountType of [undefined, "business", "private"] as const) {
            const doc = dsaStatement(
              input(
                {
                  actions: actions as never,
                  territorialScope: territorialScope as never,
                  ...(accountType ? { accountType } : {}),
                },
                { contentType },
              ),
            );
            expect(errors(doc), JSON.stringify(doc)).toEqual([]);
            n++;
          }
    expect(n).toBe(combos.length * 6 * 3 * 3);
  });

  it("stays within the documented lengths with the longest national provision", () => {
    const doc = dsaStatement(
      input({}, { nationalProvision: "x".repeat(300), limbs: ["a", "b", "c", "d", "e"] }),
    );
    expect(errors(doc)).toEqual([]);
    expect((doc.illegal_content_legal_ground as string).length).toBeLessThanOrEqual(500);
  });

  const good = dsaStatement(input());
  const without = (k: string) => Object.fromEntries(Object.entries(good).filter(([key]) => key !== k));
  it.each([
    ["no decision of any of the four kinds", without("decision_visibility")],
    ["no PUID", without("puid")],
    ["a PUID with a space", { ...good, puid: "stm 1" }],
    [
      "a v1 category the v2 API dropped",
      { ...good, category: "STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT" },
    ],
    ["an unknown keyword", { ...good, category_specification: ["KEYWORD_TERRORISM"] }],
    ["illegal content without its legal ground", without("illegal_content_legal_ground")],
    ["illegal content without its explanation", without("illegal_content_explanation")],
    ["content type other, unnamed", { ...good, content_type: ["CONTENT_TYPE_OTHER"] }],
    ["visibility other, unnamed", { ...good, decision_visibility: ["DECISION_VISIBILITY_OTHER"] }],
    ["a date in another format", { ...good, application_date: "02/03/2026" }],
    ["content from before 2000", { ...good, content_date: "1999-12-31" }],
    ["a decision applied before 2020", { ...good, application_date: "2019-12-31" }],
    ["a country outside the EU/EEA", { ...good, territorial_scope: ["CH"] }],
    ["automated decision as yes/no (the v1 form)", { ...good, automated_decision: "Yes" }],
    ["a field the API does not have", { ...good, reviewer: "R-41" }],
    ["facts over 5,000 characters", { ...good, decision_facts: "x".repeat(5001) }],
  ])("the schema refuses %s", (_label, doc) => {
    expect(errors(doc).length).toBeGreaterThan(0);
  });
});

describe("the user-readable statement", () => {
  it("has the same variable parts in every language and no English left in the others", () => {
    const s = input({ outOfCourtBody: "Appeals Centre Europe", territorialScope: ["NL", "BE"] });
    const en = userStatement(s, "en").text;
    for (const lang of STATEMENT_LANGUAGES) {
      const t = userStatement(s, lang);
      expect(t.language).toBe(lang);
      for (const part of [
        "post-4711",
        "2026-03-01",
        "2026-03-02",
        "NL Wetboek van Strafrecht art. 131 / 134a",
        "ATKM",
        "Trust & Safety analyst R-41",
        "https://social.example/appeals",
        "Appeals Centre Europe",
        "stm_01jd0000000000000000000000",
        "Demo Social",
        "2021/784",
        "2022/2065",
      ])
        expect(t.text, `${lang}: ${part}`).toContain(part);
      expect(t.sections).toHaveLength(4);
      if (lang !== "en") {
        for (const english of ["We removed", "What you can do", "competent authority", "go to court"])
          expect(t.text, `${lang} still says "${english}"`).not.toContain(english);
        expect(t.text).not.toBe(en);
      }
    }
  });

  it("names each limb in plain words and joins several", () => {
    const one = userStatement(input({}, { limbs: ["e"] }), "en").text;
    expect(one).toContain("Article 2(7)(e)");
    expect(one).toContain("threatens to commit a terrorist offence");
    const all = userStatement(input({}, { limbs: ["e", "a", "d", "b", "c"] }), "de").text;
    expect(all).toContain("Artikel 2 Nummer 7 Buchstaben a und b und c und d und e");
  });

  it("is the same text for the same inputs", () => {
    expect(userStatement(input(), "fr")).toEqual(userStatement(input(), "fr"));
  });
});

describe("free text that would identify someone", () => {
  it.each([
    ["jane.doe@example.org", "an e-mail address or handle (@)"],
    ["@jane", "an e-mail address or handle (@)"],
    ["see https://example.org/u/1", "a URL"],
    ["www.example.org", "a URL"],
    ["v1:email:3q2-7wV0ZVb6h0bQ8dHgK4l1T0pG9m3cB2aXyZ1w0kA", "a selector pseudonym"],
    ["a".repeat(10) + "0123456789abcdef0123456789abcdef", "a hash value"],
    ["+31 (6) 1234-5678", "a phone number or account number"],
    ["tab\there", "a control character"],
  ])("%s is refused as %s", (s, why) => {
    expect(identifierIn(s)).toBe(why);
  });
  it.each([
    "Trust & Safety analyst R-41",
    "Appeals Centre Europe",
    "Team 7, shift B",
    "Modération (équipe FR)",
  ])("%s is fine", (s) => {
    expect(identifierIn(s)).toBeUndefined();
  });
});

describe("the Wilson score interval (95 %)", () => {
  it.each([
    [0, 10, 0, 0.2775],
    [5, 10, 0.2366, 0.7634],
    [1, 4, 0.0456, 0.6994],
    [10, 10, 0.7225, 1],
  ])("%i of %i is [%f, %f]", (k, n, low, high) => {
    const w = wilson(k, n)!;
    expect(w.low).toBeCloseTo(low, 4);
    expect(w.high).toBeCloseTo(high, 4);
  });
  it("has no interval without reports, and a rate needs the minimum", () => {
    expect(wilson(0, 0)).toBeNull();
    expect(errorRate(0, 0, 2, 3)).toMatchObject({ reports: 2, enough: false, falsePositiveRate: null });
    expect(errorRate(0, 2, 0, 3).summary).toBe("too few reports (2 of 3 needed)");
    expect(errorRate(3, 0, 0, 3)).toMatchObject({ enough: true, falsePositiveRate: 0 });
    // A policy of 0 still needs one report before it gives a rate.
    expect(errorRate(0, 0, 0, 0).enough).toBe(false);
  });
});
