import { describe, expect, it } from "vitest";
import { formatProgress, Progress, type ProgressSnapshot } from "../../scripts/demo/progress.ts";

const SNAPSHOT: ProgressSnapshot = {
  elapsedMs: 1234,
  actors: [
    { actor: "split", received: 3, done: 2, failed: 1 },
    { actor: "router", received: 5, done: 5, failed: 0 },
  ],
  stored: 4,
};

describe("formatProgress", () => {
  it("shows done, received and failures", () => {
    expect(formatProgress(SNAPSHOT)).toBe("[  1.2s] split 2/3 (1 failed) | router 5/5 | stored 4/?");
  });

  it("shows the expected count once known", () => {
    expect(formatProgress({ ...SNAPSHOT, expected: 9 })).toMatch(/stored 4\/9$/);
  });
});

describe("Progress", () => {
  it("rewrites one line on a terminal", () => {
    const output: string[] = [];
    const progress = new Progress((text) => output.push(text), true);
    progress.update(SNAPSHOT);
    progress.note("done");
    expect(output[0].startsWith("\r\x1b[2K[")).toBe(true);
    expect(output.slice(1)).toEqual(["\n", "done\n"]);
  });

  it("prints changed lines at an interval otherwise", () => {
    const output: string[] = [];
    const progress = new Progress((text) => output.push(text), false);
    progress.update(SNAPSHOT);
    progress.update({ ...SNAPSHOT, elapsedMs: 2000, stored: 5 });
    progress.update({ ...SNAPSHOT, elapsedMs: 2500, stored: 6 }, true);
    progress.update({ ...SNAPSHOT, elapsedMs: 9000, stored: 6 });
    expect(output).toEqual([
      "[  1.2s] split 2/3 (1 failed) | router 5/5 | stored 4/?\n",
      "[  2.5s] split 2/3 (1 failed) | router 5/5 | stored 6/?\n",
    ]);
  });
});
