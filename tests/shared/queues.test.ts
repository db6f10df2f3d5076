import { describe, expect, it } from "vitest";
import {
  actorQueueName,
  checkQueueName,
  dlqQueueName,
  MAX_QUEUE_NAME_LENGTH,
  SINK_ACTOR,
  sinkQueueName,
  SUMP_ACTOR,
  sumpQueueName,
} from "../../shared/queues.ts";

describe("actorQueueName", () => {
  it("joins prefix, namespace and actor", () => {
    expect(actorQueueName("ml", "summarize")).toEqual({
      ok: true,
      value: "asya-ml-summarize",
    });
  });

  it("accepts a name of exactly 80 characters", () => {
    const actor = "a".repeat(MAX_QUEUE_NAME_LENGTH - "asya-ns-".length);
    const result = actorQueueName("ns", actor);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.value).toHaveLength(80);
  });

  it("rejects 81 characters naming length and limit", () => {
    const actor = "a".repeat(MAX_QUEUE_NAME_LENGTH - "asya-ns-".length + 1);
    const result = actorQueueName("ns", actor);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.reason).toBe("too-long");
    expect(result.error.queueName).toBe(`asya-ns-${actor}`);
    expect(result.error.message).toBe(
      `Invalid queue name "asya-ns-${actor}": 81 characters, SQS allows at most 80`,
    );
  });

  it("rejects a dot naming the character", () => {
    const result = actorQueueName("ns", "text.summary");
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.reason).toBe("invalid-character");
    expect(result.error.message).toBe(
      'Invalid queue name "asya-ns-text.summary": character "." at position 12, ' +
        "SQS allows only [A-Za-z0-9_-]",
    );
  });

  it("rejects non-ASCII characters", () => {
    const result = actorQueueName("ns", "résumé");
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.message).toContain('character "é"');
  });

  it("rejects an empty actor", () => {
    const result = actorQueueName("ns", "");
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.reason).toBe("empty-part");
    expect(result.error.message).toBe(
      'Invalid queue name "asya-ns-": the actor must not be empty',
    );
  });

  it("rejects an empty namespace", () => {
    const result = actorQueueName("", "a");
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.message).toContain("the namespace must not be empty");
    }
  });
});

describe("dlqQueueName", () => {
  it("appends -dlq", () => {
    expect(dlqQueueName("ml", "summarize")).toEqual({
      ok: true,
      value: "asya-ml-summarize-dlq",
    });
  });

  it("rejects an actor whose DLQ name alone is too long", () => {
    // The actor queue fits in 80 characters but the DLQ name does not.
    const actor = "a".repeat(MAX_QUEUE_NAME_LENGTH - "asya-ns-".length);
    expect(actorQueueName("ns", actor).ok).toBe(true);
    const result = dlqQueueName("ns", actor);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.queueName).toBe(`asya-ns-${actor}-dlq`);
    expect(result.error.message).toContain(
      "84 characters, SQS allows at most 80",
    );
  });

  it("names the DLQ queue when the actor part is invalid", () => {
    const result = dlqQueueName("ns", "a/b");
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.queueName).toBe("asya-ns-a/b-dlq");
    expect(result.error.message).toContain('"asya-ns-a/b-dlq"');
  });
});

describe("end actor queues", () => {
  it("names sink and sump queues", () => {
    expect(SINK_ACTOR).toBe("x-sink");
    expect(SUMP_ACTOR).toBe("x-sump");
    expect(sinkQueueName("prod")).toEqual({
      ok: true,
      value: "asya-prod-x-sink",
    });
    expect(sumpQueueName("prod")).toEqual({
      ok: true,
      value: "asya-prod-x-sump",
    });
  });
});

describe("checkQueueName", () => {
  it("rejects the empty name", () => {
    const result = checkQueueName("");
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.message).toBe(
        "Invalid queue name: the name must not be empty",
      );
    }
  });

  it("accepts underscores and hyphens", () => {
    expect(checkQueueName("A_b-9").ok).toBe(true);
  });
});
