/**
 * The result model of a benchmark run and its Markdown rendering. Pure
 * functions that run on Deno and on Node (the tests), with no I/O.
 */
import type { Summary } from "./stats.ts";

/** A target figure and whether the run reached it. */
export interface Goal {
  /** The target as written in the table, such as "< 2 ms" or ">= 80% of baseline". */
  text: string;
  met: boolean;
}

/** One line of a measurement table. */
export interface Row {
  /** Name of the measured figure, such as "5-actor chain, end to end". */
  figure: string;
  /** Unit of every number in the row except the ratio, such as "ms" or "envelopes/s". */
  unit: string;
  /** Spread over repetitions or samples; absent for a single derived figure. */
  summary?: Summary;
  /** A single derived figure, shown in the median column when `summary` is absent. */
  value?: number;
  /** Median of the same-run baseline in the same unit. */
  baseline?: number;
  /** Figure divided by its baseline (medians). */
  ratio?: number;
  goal?: Goal;
}

/** One measurement: a table with the method before it and notes after it. */
export interface Measurement {
  id: string;
  title: string;
  /** Markdown paragraphs on the method and the baseline. */
  method: string[];
  rows: Row[];
  /** Markdown paragraphs: where the time goes, caveats. */
  notes: string[];
}

/** Everything the page states about the run besides the measurements. */
export interface RunInfo {
  date: string;
  command: string;
  machine: string[];
  versions: string[];
  /** Remarks about the conditions, such as other load on the machine. */
  conditions: string[];
  /** Measurements that failed, with their error. */
  failures: Array<{ id: string; error: string }>;
}

export const TABLE_HEADER = [
  "figure",
  "unit",
  "n",
  "min",
  "median",
  "max",
  "p99",
  "baseline (median)",
  "ratio",
  "goal",
];

const EMPTY = "–";

/**
 * Formats a number with three significant digits at most, without
 * exponents: 0.0123 -> "0.0123", 1.234 -> "1.23", 1234.5 -> "1235".
 */
export function formatNumber(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return EMPTY;
  const magnitude = Math.abs(value);
  if (magnitude >= 100 || value === 0) return String(Math.round(value));
  const decimals = magnitude >= 10
    ? 1
    : magnitude >= 1
    ? 2
    : Math.min(6, 2 - Math.floor(Math.log10(magnitude)));
  return String(Number(value.toFixed(decimals)));
}

/** Formats a ratio such as 1.234 as "1.23×"; undefined becomes a dash. */
export function formatRatio(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value)
    ? EMPTY
    : `${formatNumber(value)}×`;
}

/** Formats a goal cell: "< 2 ms: met" or "< 2 ms: **not met**", so misses stand out. */
export function formatGoal(goal: Goal | undefined): string {
  if (goal === undefined) return EMPTY;
  return `${goal.text}: ${goal.met ? "met" : "**not met**"}`;
}

/** Renders the rows as a Markdown table with {@link TABLE_HEADER}. */
export function renderTable(rows: readonly Row[]): string {
  const lines = [
    `| ${TABLE_HEADER.join(" | ")} |`,
    `| ${
      TABLE_HEADER.map((_, index) => (index < 2 ? "---" : "---:")).join(" | ")
    } |`,
  ];
  for (const row of rows) {
    const { summary } = row;
    const cells = [
      escapeCell(row.figure),
      escapeCell(row.unit),
      summary === undefined ? EMPTY : String(summary.count),
      formatNumber(summary?.min),
      formatNumber(summary?.median ?? row.value),
      formatNumber(summary?.max),
      formatNumber(summary?.p99),
      formatNumber(row.baseline),
      formatRatio(row.ratio),
      escapeCell(formatGoal(row.goal)),
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

/** Renders one measurement: heading, method, table, notes. */
export function renderMeasurement(measurement: Measurement, level = 2): string {
  const parts = [
    `${"#".repeat(level)} ${measurement.title}`,
    ...measurement.method,
    renderTable(measurement.rows),
  ];
  if (measurement.notes.length > 0) parts.push(...measurement.notes);
  return parts.join("\n\n");
}

/** Renders the whole page: run details, a goal summary, then every measurement. */
export function renderPage(
  info: RunInfo,
  measurements: readonly Measurement[],
  intro: string[],
): string {
  const parts: string[] = ["# Benchmarks", ...intro];

  const details = [
    `- Date: ${info.date}`,
    `- Command: \`${info.command}\``,
    ...info.machine.map((line) => `- Machine: ${line}`),
    ...info.versions.map((line) => `- Version: ${line}`),
    ...info.conditions.map((line) => `- Conditions: ${line}`),
  ];
  parts.push("## Run", details.join("\n"));

  const goals = measurements.flatMap((measurement) =>
    measurement.rows.filter((row) => row.goal !== undefined).map((row) =>
      `| ${escapeCell(measurement.title)} | ${escapeCell(row.figure)} | ${
        escapeCell(formatGoal(row.goal))
      } |`
    )
  );
  if (goals.length > 0) {
    parts.push(
      "## Goals at a glance",
      ["| measurement | figure | goal |", "| --- | --- | --- |", ...goals].join(
        "\n",
      ),
    );
  }

  if (info.failures.length > 0) {
    parts.push(
      "## Failed measurements",
      info.failures.map((failure) => `- ${failure.id}: ${failure.error}`).join(
        "\n",
      ),
    );
  }
  for (const measurement of measurements) {
    parts.push(renderMeasurement(measurement));
  }
  return `${parts.join("\n\n")}\n`;
}

function escapeCell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}
