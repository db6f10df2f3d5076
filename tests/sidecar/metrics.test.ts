import { describe, expect, it } from "vitest";
import {
  createMetrics,
  incrementLabel,
  observeHandlerDuration,
  renderMetrics,
} from "../../sidecar/metrics.ts";
import { createHttpHandler } from "../../sidecar/http.ts";

describe("renderMetrics", () => {
  it("renders counters, labels and the histogram", () => {
    const metrics = createMetrics();
    metrics.received = 3;
    metrics.succeeded = 2;
    metrics.inFlight = 1;
    metrics.claimCheckBytesUploaded = 100;
    metrics.claimCheckBytesDownloaded = 7;
    incrementLabel(metrics.failed, "Timeout");
    incrementLabel(metrics.failed, "ProcessingError", 2);
    incrementLabel(metrics.routed, "x-sink");
    observeHandlerDuration(metrics, 0.02);
    observeHandlerDuration(metrics, 3);

    const text = renderMetrics(metrics, "summarize");
    const lines = text.split("\n");
    expect(lines).toContain(
      'asya_sidecar_messages_received_total{actor="summarize"} 3',
    );
    expect(lines).toContain(
      'asya_sidecar_envelopes_succeeded_total{actor="summarize"} 2',
    );
    expect(lines).toContain(
      'asya_sidecar_envelopes_failed_total{actor="summarize",reason="ProcessingError"} 2',
    );
    expect(lines).toContain(
      'asya_sidecar_envelopes_failed_total{actor="summarize",reason="Timeout"} 1',
    );
    expect(lines).toContain(
      'asya_sidecar_envelopes_routed_total{actor="summarize",destination="x-sink"} 1',
    );
    expect(lines).toContain(
      'asya_sidecar_envelopes_in_flight{actor="summarize"} 1',
    );
    expect(lines).toContain("# TYPE asya_sidecar_envelopes_in_flight gauge");
    expect(lines).toContain(
      'asya_sidecar_claim_check_bytes_total{actor="summarize",direction="upload"} 100',
    );
    expect(lines).toContain(
      'asya_sidecar_claim_check_bytes_total{actor="summarize",direction="download"} 7',
    );
    expect(lines).toContain(
      "# TYPE asya_sidecar_handler_duration_seconds histogram",
    );
    expect(lines).toContain(
      'asya_sidecar_handler_duration_seconds_bucket{actor="summarize",le="0.01"} 0',
    );
    expect(lines).toContain(
      'asya_sidecar_handler_duration_seconds_bucket{actor="summarize",le="0.025"} 1',
    );
    expect(lines).toContain(
      'asya_sidecar_handler_duration_seconds_bucket{actor="summarize",le="5"} 2',
    );
    expect(lines).toContain(
      'asya_sidecar_handler_duration_seconds_bucket{actor="summarize",le="+Inf"} 2',
    );
    expect(lines).toContain(
      'asya_sidecar_handler_duration_seconds_sum{actor="summarize"} 3.02',
    );
    expect(lines).toContain(
      'asya_sidecar_handler_duration_seconds_count{actor="summarize"} 2',
    );
    expect(text.endsWith("\n")).toBe(true);
  });

  it("escapes label values", () => {
    const metrics = createMetrics();
    incrementLabel(metrics.routed, 'we"ird\\name\n');
    expect(renderMetrics(metrics, "a")).toContain(
      'destination="we\\"ird\\\\name\\n"} 1',
    );
  });

  it("keeps histogram buckets cumulative", () => {
    const metrics = createMetrics();
    for (const seconds of [0.001, 0.2, 0.2, 50, 5000]) {
      observeHandlerDuration(metrics, seconds);
    }
    const counts = metrics.handlerDuration.bucketCounts;
    for (let index = 1; index < counts.length; index++) {
      expect(counts[index]).toBeGreaterThanOrEqual(counts[index - 1]);
    }
    expect(counts[counts.length - 1]).toBe(4);
    expect(metrics.handlerDuration.count).toBe(5);
  });
});

describe("createHttpHandler", () => {
  function handler(ready: boolean) {
    return createHttpHandler({
      actor: "a",
      metrics: createMetrics(),
      readiness: () => (ready
        ? { ready: true }
        : { ready: false, reason: "runtime unreachable" }),
    });
  }

  it("reports health", () => {
    const response = handler(false)(new Request("http://127.0.0.1/healthz"));
    expect(response.status).toBe(200);
  });

  it("reports readiness", async () => {
    expect(handler(true)(new Request("http://127.0.0.1/readyz")).status).toBe(
      200,
    );
    const unready = handler(false)(new Request("http://127.0.0.1/readyz"));
    expect(unready.status).toBe(503);
    expect(await unready.json()).toEqual({
      status: "unready",
      reason: "runtime unreachable",
    });
  });

  it("serves Prometheus text", async () => {
    const response = handler(true)(new Request("http://127.0.0.1/metrics"));
    expect(response.headers.get("content-type")).toMatch(
      /^text\/plain; version=0\.0\.4/,
    );
    expect(await response.text()).toContain(
      "asya_sidecar_messages_received_total",
    );
  });

  it("rejects unknown paths and methods", async () => {
    const missing = handler(true)(new Request("http://127.0.0.1/nope"));
    expect(missing.status).toBe(404);
    expect((await missing.json()).error).toBe(
      "path /nope not found, expected /healthz, /readyz or /metrics",
    );
    const post = handler(true)(
      new Request("http://127.0.0.1/metrics", { method: "POST" }),
    );
    expect(post.status).toBe(405);
  });
});
