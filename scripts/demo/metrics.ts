/**
 * Reads the counters the demo needs from a sidecar's Prometheus text
 * (`GET /metrics`). Pure: the caller fetches the text.
 */
import type { ActorCounters } from "./report.ts";

/** Parses `name{labels} value` samples; comment lines and malformed lines are skipped. */
export function parseSamples(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const samples = [];
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line.trim());
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[label[1]] = label[2].replace(/\\n/g, "\n").replace(/\\(["\\])/g, "$1");
    }
    const value = parseValue(match[3]);
    if (!Number.isNaN(value)) samples.push({ name: match[1], labels, value });
  }
  return samples;
}

function parseValue(text: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  return Number(text);
}

/** Extracts one actor's counters; a metric the text lacks counts as 0. */
export function actorCounters(text: string): ActorCounters {
  const samples = parseSamples(text);
  const sum = (name: string, labels: Record<string, string> = {}) =>
    samples
      .filter((sample) =>
        sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value)
      )
      .reduce((total, sample) => total + sample.value, 0);

  return {
    received: sum("asya_sidecar_messages_received_total"),
    succeeded: sum("asya_sidecar_envelopes_succeeded_total"),
    failed: sum("asya_sidecar_envelopes_failed_total"),
    handlerCalls: sum("asya_sidecar_handler_duration_seconds_count"),
    handlerSeconds: sum("asya_sidecar_handler_duration_seconds_sum"),
    claimCheckBytesDownloaded: sum("asya_sidecar_claim_check_bytes_total", { direction: "download" }),
    claimCheckBytesUploaded: sum("asya_sidecar_claim_check_bytes_total", { direction: "upload" }),
  };
}
