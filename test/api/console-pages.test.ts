// The console's front door and its not-found page, through the real Worker: the node's root
// sends people to the console, a mistyped console path is an HTML page in the console's frame
// (under the console's CSP), and the API keeps answering problems in JSON.
import { describe, expect, it } from "vitest";
import { BASE, expectProblem, nodeFetch } from "../helpers/node.ts";

describe("the console's front door", () => {
  it("/ redirects to the console's sign-in page", async () => {
    // The worker is called like any fetch: ask it not to follow the redirect.
    const res = await nodeFetch(`${BASE}/`, { redirect: "manual" });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/console");
  });

  it("a mistyped console path is an HTML 404 page inside the console", async () => {
    for (const path of ["/console/curaton", "/console/entrees", "/console/a/b/c"]) {
      const res = await nodeFetch(`${BASE}${path}`);
      expect(res.status, path).toBe(404);
      expect(res.headers.get("content-type"), path).toMatch(/^text\/html/);
      expect(res.headers.get("content-security-policy"), path).toContain("script-src 'self'");
      const html = await res.text();
      expect(html).toContain("<title>Page not found — EUSN console</title>");
      expect(html).toContain('href="/console"');
      // The path is shown as text, never as markup.
      expect(html).toContain(`<code>${path}</code>`);
    }
    const hostile = await nodeFetch(`${BASE}/console/%3Cscript%3Ealert(1)%3C%2Fscript%3E`);
    expect(hostile.status).toBe(404);
    expect(await hostile.text()).not.toContain("<script>alert(1)");
  });

  it("API paths still answer problems in JSON", async () => {
    await expectProblem(await nodeFetch(`${BASE}/v1/nothing-here`), 404, "not_found");
    await expectProblem(
      await nodeFetch(`${BASE}/console/stats`, { method: "POST" }),
      405,
      "method_not_allowed",
    );
  });
});
