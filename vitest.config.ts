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
    // The AWS SDK warns once per process that its releases after January
    // 2027 need Node 22. package-lock.json pins a version that runs on
    // Node 20, so the warning only clutters test output.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});
