import { defineConfig } from "vitest/config";

// Integration tests start real processes (Deno sidecars, Python runtimes,
// the local SQS and S3 servers), so files run in separate forks with
// generous per-test time limits. Speed goals live in bench/, not here.
export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
