/** Plain-text rendering of the demo report, for a terminal. Pure. */
import type { DemoReport } from "./report.ts";

/** Renders the report as aligned plain text ending in a newline. */
export function renderReport(report: DemoReport): string {
  const { totals } = report;
  const lines: string[] = [];
  lines.push(
    `Book insights: ${plural(totals.books, "book")}, ${plural(totals.chapters, "chapter")} ` +
      `(${totals.summarized} summarized) ` +
      `in ${totals.elapsed_seconds} s`,
    `Envelopes: x-sink ${totals.sink}, x-sump ${totals.sump}, lost ${totals.lost}; ` +
      `claim checks for ${plural(totals.claim_checks, "input")}`,
    "",
  );

  for (const book of report.books) {
    const grade = book.reading_grade === null ? "n/a" : String(book.reading_grade);
    lines.push(
      `${book.book}: ${book.results}/${book.chapters ?? "?"} chapters, ${book.summarized} summarized, ` +
        `sentiment ${signed(book.sentiment.score)}, reading grade ${grade}`,
      `  keywords:    ${book.keywords.map((keyword) => keyword.term).join(", ") || "none"}`,
    );
    if (book.claim_check !== null) {
      lines.push(`  claim check: ${book.claim_check.uri} (${formatBytes(book.claim_check.bytes)})`);
    }
    if (book.results_location !== null) lines.push(`  results:     ${book.results_location}`);
    if (book.missing_ids.length > 0) lines.push(`  missing:     ${book.missing_ids.join(", ")}`);
    lines.push("");
  }

  if (report.failures.length > 0) {
    lines.push("Failed envelopes (x-sump):");
    for (const failure of report.failures) {
      const label = failure.expected ? "expected" : "UNEXPECTED";
      lines.push(
        `  ${failure.input ?? failure.envelope_id} [${label}]: ${failure.reason ?? "unknown reason"} ` +
          `at ${failure.actor ?? "unknown actor"}: ${failure.message ?? "no message"}`,
        `    stored at ${failure.stored_at}`,
      );
    }
    lines.push("");
  }

  lines.push(
    table(
      ["actor", "received", "handler calls", "handler mean", "handler total", "sidecar mean"],
      report.actors.map((actor) => [
        actor.actor,
        String(actor.received),
        String(actor.handler_calls),
        actor.handler_ms_mean === null ? "-" : `${actor.handler_ms_mean} ms`,
        actor.handler_calls === 0 ? "-" : `${actor.handler_seconds_total} s`,
        actor.processing_ms_mean === null ? "-" : `${actor.processing_ms_mean} ms`,
      ]),
    ),
    "",
    table(
      ["hop", "envelopes", "mean", "max"],
      report.hops.map((
        hop,
      ) => [`${hop.from} -> ${hop.to}`, String(hop.count), `${hop.mean_ms} ms`, `${hop.max_ms} ms`]),
    ),
  );
  if (report.lost_ids.length > 0) lines.push("", `Lost envelopes: ${report.lost_ids.join(", ")}`);
  return lines.join("\n") + "\n";
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const format = (row: string[]) =>
    row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column])))
      .join("  ").trimEnd();
  return [format(header), ...rows.map(format)].join("\n");
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

function signed(value: number): string {
  return value > 0 ? `+${value}` : String(value);
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(0)} KiB`;
  return `${bytes} B`;
}
