/** @jsxImportSource hono/jsx */
// /docs: a browsable API reference rendered on the server from the generated OpenAPI document.
// Self-contained (no CDN scripts), so it works on an offline local node too.
import { type Handler, Hono } from "hono";
import type { FC } from "hono/jsx";
import type { AppEnv } from "../lib/hono.ts";

type Schema = Record<string, unknown>;
type Operation = {
  summary?: string;
  description?: string;
  tags?: string[];
  security?: unknown[];
  parameters?: { name: string; in: string; required?: boolean; schema?: Schema; description?: string }[];
  requestBody?: { description?: string; content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Schema }> }>;
};
type Doc = {
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
};

const css = `
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1a1a1a;background:#fff}
header,main{max-width:70rem;margin:0 auto;padding:1rem 1.5rem}
header{border-bottom:2px solid #003399}
h1{margin:.2rem 0;color:#003399}
h2{margin-top:2rem;border-bottom:1px solid #ccc}
section.op{border:1px solid #bbb;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
.m{display:inline-block;min-width:4.5rem;font-weight:700;font-family:monospace;color:#fff;border-radius:4px;padding:0 .4rem;text-align:center}
.get{background:#1c5d99}.post{background:#1e6b30}.put{background:#7a4b00}.delete{background:#9b1c1c}
code,pre{font-family:ui-monospace,monospace;font-size:.9rem}
pre{background:#f4f4f4;padding:.5rem;overflow:auto;border-radius:4px}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}
a{color:#003399}a:focus,summary:focus{outline:3px solid #f5a300}
`;

const SchemaView: FC<{ schema: Schema | undefined }> = ({ schema }) => {
  if (!schema) return <span>—</span>;
  const ref = schema.$ref;
  if (typeof ref === "string") {
    const name = ref.split("/").pop() ?? ref;
    return (
      <a href={`#schema-${name}`}>
        <code>{name}</code>
      </a>
    );
  }
  return <pre>{JSON.stringify(schema, null, 2)}</pre>;
};

const Page: FC<{ doc: Doc }> = ({ doc }) => {
  const byTag = new Map<string, { method: string; path: string; op: Operation }[]>();
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const tag = op.tags?.[0] ?? "other";
      byTag.set(tag, [...(byTag.get(tag) ?? []), { method, path, op }]);
    }
  }
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{doc.info.title} — API reference</title>
        <style>{css}</style>
      </head>
      <body>
        <header>
          <h1>{doc.info.title}</h1>
          <p>
            Version {doc.info.version}. {doc.info.description} Machine-readable:{" "}
            <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).
          </p>
          <nav aria-label="Sections">
            {[...byTag.keys()].map((t) => (
              <>
                <a href={`#tag-${t}`}>{t}</a>{" "}
              </>
            ))}
            <a href="#schemas">schemas</a>
          </nav>
        </header>
        <main>
          {[...byTag.entries()].map(([tag, ops]) => (
            <>
              <h2 id={`tag-${tag}`}>{tag}</h2>
              {ops.map(({ method, path, op }) => (
                <section class="op" aria-label={`${method.toUpperCase()} ${path}`}>
                  <h3>
                    <span class={`m ${method}`}>{method.toUpperCase()}</span> <code>{path}</code>
                  </h3>
                  <p>
                    <strong>{op.summary}</strong>
                    {op.security ? " — requires a participant bearer token." : ""}
                  </p>
                  {op.description ? <p>{op.description}</p> : null}
                  {op.parameters && op.parameters.length > 0 ? (
                    <table>
                      <caption>Parameters</caption>
                      <thead>
                        <tr>
                          <th scope="col">name</th>
                          <th scope="col">in</th>
                          <th scope="col">required</th>
                          <th scope="col">schema</th>
                        </tr>
                      </thead>
                      <tbody>
                        {op.parameters.map((p) => (
                          <tr>
                            <td>
                              <code>{p.name}</code>
                            </td>
                            <td>{p.in}</td>
                            <td>{p.required ? "yes" : "no"}</td>
                            <td>
                              <code>{JSON.stringify(p.schema ?? {})}</code>
                            </td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  ) : null}
                  {op.requestBody ? (
                    <details>
                      <summary>Request body</summary>
                      {op.requestBody.description ? <p>{op.requestBody.description}</p> : null}
                      {Object.entries(op.requestBody.content ?? {}).map(([mt, c]) => (
                        <div>
                          <code>{mt}</code>: <SchemaView schema={c.schema} />
                        </div>
                      ))}
                    </details>
                  ) : null}
                  <details>
                    <summary>Responses</summary>
                    <ul>
                      {Object.entries(op.responses ?? {}).map(([status, r]) => (
                        <li>
                          <strong>{status}</strong> {r.description}{" "}
                          {Object.entries(r.content ?? {}).map(([mt, c]) => (
                            <span>
                              <code>{mt}</code> <SchemaView schema={c.schema} />
                            </span>
                          ))}
                        </li>
                      ))}
                    </ul>
                  </details>
                </section>
              ))}
            </>
          ))}
          <h2 id="schemas">Schemas</h2>
          {Object.entries(doc.components?.schemas ?? {}).map(([name, s]) => (
            <section id={`schema-${name}`} aria-label={`schema ${name}`}>
              <h3>
                <code>{name}</code>
              </h3>
              <pre>{JSON.stringify(s, null, 2)}</pre>
            </section>
          ))}
        </main>
      </body>
    </html>
  );
};

/** GET /docs: the reference page of the OpenAPI document `getDoc` returns. */
export function docsPage(getDoc: () => unknown): Handler<AppEnv> {
  return (c) => c.html(<Page doc={getDoc() as Doc} />);
}

/** The docs page for the app whose OpenAPI document `getDoc` returns. */
export function docsRoutes(getDoc: () => unknown) {
  const app = new Hono<AppEnv>();
  app.get("/docs", docsPage(getDoc));
  return app;
}
