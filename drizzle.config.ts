// drizzle-kit configuration: table definitions in schema/, SQL migrations in schema/migrations (applied by wrangler).
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./schema/index.ts",
  out: "./schema/migrations",
});
