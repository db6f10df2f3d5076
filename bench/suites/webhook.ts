import type { Suite } from "../lib/suite.ts";
export const webhookSuite: Suite = { id: "webhook", title: "webhook", run() { throw new Error("not built yet"); } };
