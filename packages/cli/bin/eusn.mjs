#!/usr/bin/env node
// Launcher for the `eusn` CLI: registers tsx so the TypeScript sources run directly on Node 20.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
