// A valid statement of reasons (DSA Art. 17) for tests that need one to be accepted: the platform
// must have matched the entry. Pure data, usable in workerd and in Node.

/** A statement.create record for entry `submissionId`, naming the platform's content `contentRef`. */
export const statementRecord = (submissionId: string, contentRef = "post-1") => ({
  submissionId,
  contentRef,
  actions: ["content_removed"],
  language: "en",
  reviewer: "Trust & Safety analyst",
  reviewedAt: new Date(Date.now() - 60_000).toISOString(),
  contentDate: "2026-01-02",
  appliedOn: new Date().toISOString().slice(0, 10),
  complaintUrl: "https://platform.example/appeals",
});
