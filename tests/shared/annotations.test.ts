import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  type ActorConfig,
  type AnnotationError,
  ANNOTATIONS,
  formatActorAnnotations,
  parseActorAnnotations,
  selectAsyaAnnotations,
  suggestKey,
} from "../../shared/annotations.ts";

function parse(annotations: Record<string, string> | undefined, namespace?: string) {
  return parseActorAnnotations(annotations, namespace === undefined ? {} : { namespace });
}

function configOf(annotations: Record<string, string>): ActorConfig {
  const result = parse(annotations);
  if (!result.ok) throw new Error(result.error.map((e) => e.message).join("\n"));
  if (result.value.config === undefined) throw new Error("no config");
  return result.value.config;
}

function errorsOf(annotations: Record<string, string>, namespace?: string): AnnotationError[] {
  const result = parse(annotations, namespace);
  if (result.ok) throw new Error(`expected errors, got ${JSON.stringify(result.value)}`);
  return result.error;
}

function onlyError(annotations: Record<string, string>, namespace?: string): AnnotationError {
  const errors = errorsOf(annotations, namespace);
  expect(errors).toHaveLength(1);
  return errors[0];
}

describe("parseActorAnnotations defaults", () => {
  it("applies every default", () => {
    expect(configOf({ "asya.sh/actor": "summarize" })).toEqual({
      actor: "summarize",
      handler: undefined,
      container: undefined,
      handlerMode: "payload",
      timeoutMs: 300_000,
      concurrency: 1,
      minReplicas: 0,
      maxReplicas: 10,
      queueLength: 5,
      activationQueueLength: 0,
      pollingIntervalSeconds: 10,
      cooldownPeriodSeconds: 300,
      maxReceiveCount: 3,
      claimCheckThresholdBytes: undefined,
      python: "python3",
      scaling: "keda",
    });
  });

  it("matches the defaults in the table", () => {
    const annotations: Record<string, string> = { "asya.sh/actor": "a" };
    for (const spec of ANNOTATIONS) {
      if (spec.default !== undefined) annotations[spec.key] = spec.default;
    }
    const fromTable = configOf(annotations);
    const fromDefaults = configOf({ "asya.sh/actor": "a" });
    expect({ ...fromTable, claimCheckThresholdBytes: undefined }).toEqual(fromDefaults);
    expect(fromTable.claimCheckThresholdBytes).toBe(262_144);
  });

  it("reads every key", () => {
    const config = configOf({
      "asya.sh/actor": "Embed_v2",
      "asya.sh/handler": "pkg.models.Embedder.embed",
      "asya.sh/container": "worker-1",
      "asya.sh/handler-mode": "envelope",
      "asya.sh/timeout": "1h30m",
      "asya.sh/concurrency": "8",
      "asya.sh/min-replicas": "2",
      "asya.sh/max-replicas": "2",
      "asya.sh/queue-length": "1",
      "asya.sh/activation-queue-length": "3",
      "asya.sh/polling-interval": "1",
      "asya.sh/cooldown-period": "0",
      "asya.sh/max-receive-count": "1000",
      "asya.sh/claim-check-threshold": "1Mi",
      "asya.sh/python": "/opt/conda/bin/python3.11",
      "asya.sh/scaling": "none",
      "asya.sh/injected": "0.1.0",
      "example.com/other": "ignored",
    });
    expect(config).toEqual({
      actor: "Embed_v2",
      handler: "pkg.models.Embedder.embed",
      container: "worker-1",
      handlerMode: "envelope",
      timeoutMs: 5_400_000,
      concurrency: 8,
      minReplicas: 2,
      maxReplicas: 2,
      queueLength: 1,
      activationQueueLength: 3,
      pollingIntervalSeconds: 1,
      cooldownPeriodSeconds: 0,
      maxReceiveCount: 1000,
      claimCheckThresholdBytes: 1_048_576,
      python: "/opt/conda/bin/python3.11",
      scaling: "none",
    });
  });
});

describe("parseActorAnnotations without an actor", () => {
  it("returns no config for no annotations", () => {
    expect(parse(undefined)).toEqual({ ok: true, value: { config: undefined, warnings: [] } });
    expect(parse({})).toEqual({ ok: true, value: { config: undefined, warnings: [] } });
    expect(parse({ "app.kubernetes.io/name": "x" })).toEqual({ ok: true, value: { config: undefined, warnings: [] } });
  });

  it("ignores the injected marker alone", () => {
    expect(parse({ "asya.sh/injected": "0.1.0" })).toEqual({ ok: true, value: { config: undefined, warnings: [] } });
  });

  it("warns about keys that have no effect", () => {
    const result = parse({ "asya.sh/handler": "m.f", "asya.sh/timeout": "bad" });
    expect(result).toEqual({
      ok: true,
      value: {
        config: undefined,
        warnings: ["Annotations asya.sh/handler, asya.sh/timeout have no effect without asya.sh/actor"],
      },
    });
  });

  it("suggests asya.sh/actor for a misspelt actor key", () => {
    const result = parse({ "asya.sh/actr": "summarize" });
    expect(result.ok && result.value.warnings).toEqual([
      "Annotations asya.sh/actr have no effect without asya.sh/actor " +
      "(did you mean asya.sh/actor instead of asya.sh/actr?)",
    ]);
  });
});

describe("parseActorAnnotations errors", () => {
  const cases: Array<[string, string, string, string]> = [
    ["asya.sh/actor", "", "1 to 63 characters of [A-Za-z0-9_-], starting and ending with a letter or digit", '""'],
    ["asya.sh/actor", "-lead", "1 to 63 characters of [A-Za-z0-9_-], starting and ending with a letter or digit", '"-lead"'],
    ["asya.sh/actor", "a.b", "1 to 63 characters of [A-Za-z0-9_-], starting and ending with a letter or digit", '"a.b"'],
    ["asya.sh/actor", "x".repeat(64), "1 to 63 characters of [A-Za-z0-9_-], starting and ending with a letter or digit", `"${"x".repeat(64)}"`],
    ["asya.sh/actor", "x-sink", "an actor name other than x-sink and x-sump, which are reserved for the end actors", '"x-sink"'],
    ["asya.sh/actor", "x-sump", "an actor name other than x-sink and x-sump, which are reserved for the end actors", '"x-sump"'],
    ["asya.sh/handler", "handler", "a dotted Python path such as module.function or module.Class.method", '"handler"'],
    ["asya.sh/handler", "mod:fn", "a dotted Python path such as module.function or module.Class.method", '"mod:fn"'],
    ["asya.sh/handler", "mod.1fn", "a dotted Python path such as module.function or module.Class.method", '"mod.1fn"'],
    ["asya.sh/container", "Worker", "a container name (lowercase letters, digits and '-', at most 63 characters)", '"Worker"'],
    ["asya.sh/handler-mode", "json", "payload or envelope", '"json"'],
    ["asya.sh/timeout", "5 minutes", "a Go-style duration greater than 0 and at most 12h, such as 90s, 5m or 1h30m (12h is how long SQS keeps a received message in flight)", '"5 minutes"'],
    ["asya.sh/timeout", "300", "a Go-style duration greater than 0 and at most 12h, such as 90s, 5m or 1h30m (12h is how long SQS keeps a received message in flight); a bare number needs a unit, as in 300s", '"300"'],
    ["asya.sh/timeout", "0s", "a Go-style duration greater than 0 and at most 12h, such as 90s, 5m or 1h30m (12h is how long SQS keeps a received message in flight)", '"0s"'],
    ["asya.sh/timeout", "12h1s", "a Go-style duration greater than 0 and at most 12h, such as 90s, 5m or 1h30m (12h is how long SQS keeps a received message in flight)", '"12h1s"'],
    ["asya.sh/concurrency", "0", "a whole number from 1 to 1000", '"0"'],
    ["asya.sh/concurrency", "1001", "a whole number from 1 to 1000", '"1001"'],
    ["asya.sh/concurrency", "2.5", "a whole number from 1 to 1000", '"2.5"'],
    ["asya.sh/min-replicas", "-1", "a whole number of at least 0", '"-1"'],
    ["asya.sh/max-replicas", "0", "a whole number of at least 1", '"0"'],
    ["asya.sh/max-replicas", "ten", "a whole number of at least 1", '"ten"'],
    ["asya.sh/queue-length", "0", "a whole number of at least 1", '"0"'],
    ["asya.sh/queue-length", "", "a whole number of at least 1", '""'],
    ["asya.sh/activation-queue-length", "-3", "a whole number of at least 0", '"-3"'],
    ["asya.sh/polling-interval", "0", "a whole number of seconds of at least 1", '"0"'],
    ["asya.sh/polling-interval", "30s", "a whole number of seconds of at least 1", '"30s"'],
    ["asya.sh/cooldown-period", "5m", "a whole number of seconds of at least 0", '"5m"'],
    ["asya.sh/max-receive-count", "0", "a whole number from 1 to 1000", '"0"'],
    ["asya.sh/max-receive-count", "1001", "a whole number from 1 to 1000", '"1001"'],
    ["asya.sh/max-receive-count", "99999999999999999999", "a whole number from 1 to 1000", '"99999999999999999999"'],
    ["asya.sh/claim-check-threshold", "2Mi", "a byte quantity from 1 to 1Mi, such as 256Ki, 512000 or 1Mi (1Mi is the SQS maximum message size)", '"2Mi"'],
    ["asya.sh/claim-check-threshold", "0", "a byte quantity from 1 to 1Mi, such as 256Ki, 512000 or 1Mi (1Mi is the SQS maximum message size)", '"0"'],
    ["asya.sh/claim-check-threshold", "256KB", "a byte quantity from 1 to 1Mi, such as 256Ki, 512000 or 1Mi (1Mi is the SQS maximum message size)", '"256KB"'],
    ["asya.sh/claim-check-threshold", "256m", "a byte quantity from 1 to 1Mi, such as 256Ki, 512000 or 1Mi (1Mi is the SQS maximum message size); m means thousandths, did you mean 256Mi?", '"256m"'],
    ["asya.sh/python", "python3 -u", "an interpreter name or absolute path of [A-Za-z0-9_./+-], such as python3", '"python3 -u"'],
    ["asya.sh/python", "", "an interpreter name or absolute path of [A-Za-z0-9_./+-], such as python3", '""'],
    ["asya.sh/scaling", "hpa", "keda or none", '"hpa"'],
  ];

  it.each(cases)("rejects %s=%j", (key, value, expected, found) => {
    const annotations: Record<string, string> = { "asya.sh/actor": "summarize", [key]: value };
    const error = onlyError(annotations);
    expect(error.key).toBe(key);
    expect(error.value).toBe(value);
    expect(error.expected).toBe(expected);
    expect(error.message).toBe(`Invalid annotation ${key}: expected ${expected}, found ${found}`);
  });

  it("rejects min-replicas above max-replicas", () => {
    const error = onlyError({ "asya.sh/actor": "a", "asya.sh/min-replicas": "5", "asya.sh/max-replicas": "3" });
    expect(error.message).toBe(
      'Invalid annotation asya.sh/min-replicas: expected a whole number no greater than asya.sh/max-replicas (3), found "5"',
    );
  });

  it("rejects min-replicas above the default max-replicas", () => {
    const error = onlyError({ "asya.sh/actor": "a", "asya.sh/min-replicas": "11" });
    expect(error.key).toBe("asya.sh/min-replicas");
    expect(error.expected).toContain("(10)");
  });

  it("collects every error at once", () => {
    const errors = errorsOf({
      "asya.sh/actor": "a",
      "asya.sh/timeout": "soon",
      "asya.sh/scaling": "hpa",
      "asya.sh/max-replica": "3",
    });
    expect(errors.map((e) => e.key)).toEqual(["asya.sh/timeout", "asya.sh/scaling", "asya.sh/max-replica"]);
  });
});

describe("parseActorAnnotations unknown keys", () => {
  it("rejects a misspelt key with a suggestion", () => {
    const error = onlyError({ "asya.sh/actor": "a", "asya.sh/max-replica": "3" });
    expect(error).toEqual({
      key: "asya.sh/max-replica",
      value: "3",
      expected: "one of the known asya.sh/ keys (did you mean asya.sh/max-replicas?)",
      message: 'Unknown annotation asya.sh/max-replica: expected one of the known asya.sh/ keys ' +
        '(did you mean asya.sh/max-replicas?), found "3"',
    });
  });

  it("rejects an unrelated key without a suggestion", () => {
    const error = onlyError({ "asya.sh/actor": "a", "asya.sh/gpu": "1" });
    expect(error.message).toBe('Unknown annotation asya.sh/gpu: expected one of the known asya.sh/ keys, found "1"');
  });

  it.each([
    ["asya.sh/minReplicas", "asya.sh/min-replicas"],
    ["asya.sh/Timeout", "asya.sh/timeout"],
    ["asya.sh/handlermode", "asya.sh/handler-mode"],
    ["asya.sh/cooldown", undefined],
    ["asya.sh/concurency", "asya.sh/concurrency"],
    ["asya.sh/injectd", undefined],
  ])("suggests for %s", (key, suggestion) => {
    expect(suggestKey(key)).toBe(suggestion);
  });
});

describe("parseActorAnnotations queue names", () => {
  it("accepts names that fit", () => {
    // asya-{ns}-{actor}-dlq with a 40-character namespace and 30-character actor is 80 characters.
    const result = parse({ "asya.sh/actor": "a".repeat(30) }, "n".repeat(40));
    expect(result.ok).toBe(true);
  });

  it("rejects a dead-letter queue name over 80 characters", () => {
    const namespace = "n".repeat(40);
    const actor = "a".repeat(31);
    const error = onlyError({ "asya.sh/actor": actor }, namespace);
    expect(error.key).toBe("asya.sh/actor");
    expect(error.message).toBe(
      `Invalid annotation asya.sh/actor: expected a name whose dead-letter queue name ` +
        `asya-${namespace}-{actor}-dlq fits SQS (at most 80 characters of [A-Za-z0-9_-]), ` +
        `found "${actor}" (invalid queue name "asya-${namespace}-${actor}-dlq": 81 characters, SQS allows at most 80)`,
    );
  });

  it("skips the queue check without a namespace", () => {
    expect(parse({ "asya.sh/actor": "a".repeat(63) }).ok).toBe(true);
  });
});

describe("selectAsyaAnnotations", () => {
  it("keeps only asya.sh keys", () => {
    expect(selectAsyaAnnotations({ "asya.sh/actor": "a", "asya.sh.example/x": "y", "b": "c", "asya.sh/x": "1" }))
      .toEqual({ "asya.sh/actor": "a", "asya.sh/x": "1" });
    expect(selectAsyaAnnotations(undefined)).toEqual({});
  });
});

describe("ANNOTATIONS table", () => {
  it("lists every key once with text for each column", () => {
    const keys = ANNOTATIONS.map((spec) => spec.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toEqual([
      "asya.sh/actor",
      "asya.sh/handler",
      "asya.sh/container",
      "asya.sh/handler-mode",
      "asya.sh/timeout",
      "asya.sh/concurrency",
      "asya.sh/min-replicas",
      "asya.sh/max-replicas",
      "asya.sh/queue-length",
      "asya.sh/activation-queue-length",
      "asya.sh/polling-interval",
      "asya.sh/cooldown-period",
      "asya.sh/max-receive-count",
      "asya.sh/claim-check-threshold",
      "asya.sh/python",
      "asya.sh/scaling",
      "asya.sh/injected",
    ]);
    for (const spec of ANNOTATIONS) {
      expect(spec.accepted.length).toBeGreaterThan(0);
      expect(spec.meaning.length).toBeGreaterThan(0);
      expect(spec.defaultSource.length).toBeGreaterThan(0);
    }
  });

  it("has defaults that parse", () => {
    for (const spec of ANNOTATIONS) {
      if (spec.default === undefined) continue;
      const result = parse({ "asya.sh/actor": "a", [spec.key]: spec.default });
      expect(result.ok, spec.key).toBe(true);
    }
  });
});

describe("formatActorAnnotations", () => {
  const configs = fc.record<ActorConfig>({
    actor: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}[a-z0-9]$/).filter((s) => s !== "x-sink" && s !== "x-sump"),
    handler: fc.option(fc.constantFrom("m.f", "pkg.mod.Class.method"), { nil: undefined }),
    container: fc.option(fc.constantFrom("main", "worker-2"), { nil: undefined }),
    handlerMode: fc.constantFrom("payload" as const, "envelope" as const),
    timeoutMs: fc.integer({ min: 1, max: 12 * 3_600_000 }),
    concurrency: fc.integer({ min: 1, max: 1000 }),
    minReplicas: fc.integer({ min: 0, max: 5 }),
    maxReplicas: fc.integer({ min: 5, max: 100 }),
    queueLength: fc.integer({ min: 1, max: 100 }),
    activationQueueLength: fc.integer({ min: 0, max: 100 }),
    pollingIntervalSeconds: fc.integer({ min: 1, max: 3600 }),
    cooldownPeriodSeconds: fc.integer({ min: 0, max: 3600 }),
    maxReceiveCount: fc.integer({ min: 1, max: 1000 }),
    claimCheckThresholdBytes: fc.option(fc.integer({ min: 1, max: 1_048_576 }), { nil: undefined }),
    python: fc.constantFrom("python3", "/usr/bin/python3.8"),
    scaling: fc.constantFrom("keda" as const, "none" as const),
  });

  it("round-trips through parseActorAnnotations", () => {
    fc.assert(
      fc.property(configs, (config) => {
        expect(configOf(formatActorAnnotations(config))).toEqual(config);
      }),
      { numRuns: 300 },
    );
  });
});
