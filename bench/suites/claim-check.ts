import type { Suite } from "../lib/suite.ts";
export const claimCheckSuite: Suite = { id: "claim-check", title: "claim-check", run() { throw new Error("not built yet"); } };
