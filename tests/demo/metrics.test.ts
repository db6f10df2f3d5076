import { describe, expect, it } from "vitest";
import { actorCounters, parseSamples } from "../../scripts/demo/metrics.ts";

const TEXT = `# HELP asya_sidecar_messages_received_total SQS messages received.
# TYPE asya_sidecar_messages_received_total counter
asya_sidecar_messages_received_total{actor="split"} 6
asya_sidecar_envelopes_succeeded_total{actor="split"} 5
asya_sidecar_envelopes_failed_total{actor="split",reason="ProcessingError"} 1
asya_sidecar_envelopes_failed_total{actor="split",reason="Timeout"} 2
asya_sidecar_claim_check_bytes_total{actor="split",direction="download"} 1000
asya_sidecar_claim_check_bytes_total{actor="split",direction="upload"} 0
asya_sidecar_handler_duration_seconds_bucket{actor="split",le="+Inf"} 6
asya_sidecar_handler_duration_seconds_sum{actor="split"} 1.5
asya_sidecar_handler_duration_seconds_count{actor="split"} 6
`;

describe("parseSamples", () => {
  it("reads names, labels and values", () => {
    const samples = parseSamples('m{a="x\\"y",b="2"} 3.5\n# comment\nbare 7\n');
    expect(samples).toEqual([
      { name: "m", labels: { a: 'x"y', b: "2" }, value: 3.5 },
      { name: "bare", labels: {}, value: 7 },
    ]);
  });

  it("reads infinity and skips garbage", () => {
    expect(parseSamples('b{le="+Inf"} +Inf\nnot a sample\nx NaNish\n')).toEqual([
      { name: "b", labels: { le: "+Inf" }, value: Infinity },
    ]);
  });
});

describe("actorCounters", () => {
  it("sums the sidecar metrics", () => {
    expect(actorCounters(TEXT)).toEqual({
      received: 6,
      succeeded: 5,
      failed: 3,
      handlerCalls: 6,
      handlerSeconds: 1.5,
      claimCheckBytesDownloaded: 1000,
      claimCheckBytesUploaded: 0,
    });
  });

  it("counts missing metrics as zero", () => {
    expect(actorCounters("").received).toBe(0);
  });
});
