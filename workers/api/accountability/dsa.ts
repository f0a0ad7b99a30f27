// A statement of reasons as the DSA Transparency Database's statement API (v2) takes it
// (https://transparency.dsa.ec.europa.eu/page/api-documentation-two; the JSON Schema written from
// that documentation is packages/protocol/schemas/dsa-statement-of-reasons.schema.json). EUSN does
// not send it: the platform files it itself (DSA Art. 24(5)). The database takes no personal data,
// so this form names neither the reviewer nor the platform's content reference: the PUID is the
// statement's own id, which the platform can look up here.
import type { StatementAction } from "@eusn/protocol";
import type { StatementInput } from "./statement-text.ts";

/** The Regulation the legal ground is in (EUR-Lex ELI). */
export const TCO_URL = "https://eur-lex.europa.eu/eli/reg/2021/784/oj";

const VISIBILITY: Partial<Record<StatementAction, string>> = {
  content_removed: "DECISION_VISIBILITY_CONTENT_REMOVED",
  access_disabled: "DECISION_VISIBILITY_CONTENT_DISABLED",
};
const ACCOUNT: Partial<Record<StatementAction, string>> = {
  account_suspended: "DECISION_ACCOUNT_SUSPENDED",
  account_terminated: "DECISION_ACCOUNT_TERMINATED",
};
const CONTENT_TYPE: Record<string, string> = {
  image: "CONTENT_TYPE_IMAGE",
  video: "CONTENT_TYPE_VIDEO",
  audio: "CONTENT_TYPE_AUDIO",
  text: "CONTENT_TYPE_TEXT",
};

/** The DSA Transparency Database statement of the platform's action. */
export function dsaStatement(s: StatementInput): Record<string, unknown> {
  const r = s.record;
  const g = s.ground;
  const limbs = [...g.limbs].sort();
  const visibility = r.actions.flatMap((a) => VISIBILITY[a] ?? []);
  const account = r.actions.map((a) => ACCOUNT[a]).find(Boolean);
  const contentType = CONTENT_TYPE[g.contentType] ?? "CONTENT_TYPE_OTHER";
  const legalGround = `Regulation (EU) 2021/784 (terrorist content online), Article 2(7)(${limbs.join(")(")}); ${g.nationalProvision} (${g.memberState})`;
  return {
    ...(visibility.length > 0 ? { decision_visibility: visibility } : {}),
    ...(account ? { decision_account: account } : {}),
    ...(r.accountType
      ? { account_type: r.accountType === "business" ? "ACCOUNT_TYPE_BUSINESS" : "ACCOUNT_TYPE_PRIVATE" }
      : {}),
    decision_ground: "DECISION_GROUND_ILLEGAL_CONTENT",
    decision_ground_reference_url: TCO_URL,
    illegal_content_legal_ground: legalGround.slice(0, 500),
    illegal_content_explanation:
      `The competent authority of ${g.memberState} assessed the matched material as terrorist content under Article 2(7)(${limbs.join(")(")}) of Regulation (EU) 2021/784 and ${g.nationalProvision}. The content was found to match that material by its hash, and a person reviewed the match before the decision.`.slice(
        0,
        2000,
      ),
    content_type: [contentType],
    ...(contentType === "CONTENT_TYPE_OTHER"
      ? { content_type_other: g.contentType === "document" ? "Document" : "Other" }
      : {}),
    category: "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
    category_specification: ["KEYWORD_TERRORIST_CONTENT"],
    territorial_scope: [...r.territorialScope].sort(),
    content_date: r.contentDate,
    application_date: r.appliedOn,
    decision_facts:
      "The content matched, by its perceptual or cryptographic hash, an entry that a competent authority under Regulation (EU) 2021/784 submitted to the EU Signal Network (EUSN) as terrorist content and that other member states' authorities assessed. The hash contains no content. The automated match was reviewed by a person at the provider before the decision was taken; the match alone did not decide.",
    source_type: "SOURCE_VOLUNTARY",
    automated_detection: "Yes",
    automated_decision: "AUTOMATED_DECISION_PARTIALLY",
    puid: s.id,
  };
}
