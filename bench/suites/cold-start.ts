import type { Suite } from "../lib/suite.ts";
export const coldStartSuite: Suite = { id: "cold-start", title: "cold-start", run() { throw new Error("not built yet"); } };
