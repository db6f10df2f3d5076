import { describe, expect, it } from "vitest";
import { summarize } from "../../bench/lib/stats.ts";
import {
  formatGoal,
  formatNumber,
  formatRatio,
  type Measurement,
  renderMeasurement,
  renderPage,
  renderTable,
  type RunInfo,
  TABLE_HEADER,
} from "../../bench/lib/table.ts";

/** Splits a Markdown table line into its cells, honouring escaped pipes. */
function cells(line: string): string[] {
  return line.slice(2, -2).split(/(?<!\\) \| /);
}

describe("formatNumber", () => {
  it.each([
    [1234.5, "1235"],
    [100, "100"],
    [12.345, "12.3"],
    [1.2345, "1.23"],
    [0.5, "0.5"],
    [0.012345, "0.0123"],
    [0, "0"],
    [-3.456, "-3.46"],
    [-150.4, "-150"],
  ])("formats %s as %s", (value, text) => {
    expect(formatNumber(value)).toBe(text);
  });

  it("shows a dash for missing and non-finite values", () => {
    expect(formatNumber(undefined)).toBe("–");
    expect(formatNumber(Number.NaN)).toBe("–");
    expect(formatNumber(Infinity)).toBe("–");
  });
});

describe("formatRatio and formatGoal", () => {
  it("marks a ratio with ×", () => {
    expect(formatRatio(0.0812)).toBe("0.0812×");
    expect(formatRatio(undefined)).toBe("–");
  });

  it("writes met plainly and not met in bold", () => {
    expect(formatGoal({ text: "< 2 ms", met: true })).toBe("< 2 ms: met");
    expect(formatGoal({ text: "< 2 ms", met: false })).toBe(
      "< 2 ms: **not met**",
    );
    expect(formatGoal(undefined)).toBe("–");
  });
});

describe("renderTable", () => {
  const table = renderTable([
    {
      figure: "chain",
      unit: "ms",
      summary: summarize([1, 2, 3]),
      baseline: 1.5,
      ratio: 2 / 1.5,
      goal: { text: "< 2 ms", met: false },
    },
    { figure: "derived | with a pipe", unit: "ms", value: 0.25 },
  ]);
  const lines = table.split("\n");

  it("starts with the header and an alignment line", () => {
    expect(cells(lines[0])).toEqual(TABLE_HEADER);
    expect(cells(lines[1])).toEqual([
      "---",
      "---",
      "---:",
      "---:",
      "---:",
      "---:",
      "---:",
      "---:",
      "---:",
      "---:",
    ]);
  });

  it("fills every column of a summarised row", () => {
    expect(cells(lines[2])).toEqual([
      "chain",
      "ms",
      "3",
      "1",
      "2",
      "3",
      "2.98",
      "1.5",
      "1.33×",
      "< 2 ms: **not met**",
    ]);
  });

  it("puts a single value in the median column and escapes pipes", () => {
    expect(cells(lines[3])).toEqual([
      "derived \\| with a pipe",
      "ms",
      "–",
      "–",
      "0.25",
      "–",
      "–",
      "–",
      "–",
      "–",
    ]);
  });

  it("gives every row as many cells as the header", () => {
    for (const line of lines) {
      expect(cells(line)).toHaveLength(TABLE_HEADER.length);
    }
  });
});

describe("renderPage", () => {
  const info: RunInfo = {
    date: "2026-12-04 20:00 UTC (3.0 min)",
    command: "npm run bench",
    machine: ["test CPU, 2 logical CPUs"],
    versions: ["Deno 2.9.6"],
    conditions: ["other builds ran at the same time"],
    failures: [{ id: "throughput", error: "Sidecar exited" }],
  };
  const measurement: Measurement = {
    id: "hop",
    title: "1. Per-hop overhead",
    method: ["How it is measured."],
    rows: [{
      figure: "added per hop, p50",
      unit: "ms",
      value: 3,
      goal: { text: "< 2 ms", met: false },
    }],
    notes: ["Where the time goes."],
  };
  const page = renderPage(info, [measurement], ["Intro."]);

  it("states date, command, machine, versions and conditions", () => {
    expect(page).toContain("- Date: 2026-12-04 20:00 UTC (3.0 min)");
    expect(page).toContain("- Command: `npm run bench`");
    expect(page).toContain("- Machine: test CPU, 2 logical CPUs");
    expect(page).toContain("- Version: Deno 2.9.6");
    expect(page).toContain("- Conditions: other builds ran at the same time");
  });

  it("lists every goal in the summary", () => {
    expect(page).toContain(
      "| 1. Per-hop overhead | added per hop, p50 | < 2 ms: **not met** |",
    );
  });

  it("lists failed measurements", () => {
    expect(page).toContain(
      "## Failed measurements\n\n- throughput: Sidecar exited",
    );
  });

  it("renders each measurement with method, table and notes in order", () => {
    const section = renderMeasurement(measurement);
    expect(page).toContain(section);
    expect(section.indexOf("How it is measured.")).toBeLessThan(
      section.indexOf("| figure |"),
    );
    expect(section.indexOf("| figure |")).toBeLessThan(
      section.indexOf("Where the time goes."),
    );
  });

  it("ends with one newline", () => {
    expect(page.endsWith("\n")).toBe(true);
    expect(page.endsWith("\n\n")).toBe(false);
  });
});
