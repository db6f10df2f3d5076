import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { base64url, CompactSign } from "jose";
import type { Envelope } from "../../shared/envelope.ts";
import { parseEnvelope, serializeEnvelope } from "../../shared/envelope.ts";
import {
  canonicalEnvelope,
  canonicalJson,
  MIN_SIGNING_KEY_BYTES,
  signEnvelope,
  verifyEnvelope,
} from "../../shared/signing.ts";
import { envelopeWithPayload } from "./arbitraries.ts";

const KEY = new TextEncoder().encode("k".repeat(32));
const OTHER_KEY = new TextEncoder().encode("o".repeat(32));
const SHA = "ab".repeat(32);
// SHA-256 of the one ASCII byte "1".
const ONE_SHA =
  "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b";

const ENVELOPE: Envelope = {
  id: "env-1",
  route: { prev: ["a"], curr: "b", next: ["c"] },
  headers: { traceparent: "00-1-2-01" },
  status: { phase: "running", attempt: 1 },
};

async function expectMismatch(
  envelope: Envelope,
  payloadText: string | undefined,
  key = KEY,
) {
  const result = await verifyEnvelope(envelope, payloadText, key);
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.error.field).toBe("sig");
  expect(result.error.message).toBe(
    "Invalid envelope signature: sig does not match the envelope, so the envelope changed after signing " +
      "or it was signed with another key",
  );
}

describe("canonicalJson", () => {
  it("sorts members at every level", () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}',
    );
  });

  it("sorts by UTF-16 code units", () => {
    // U+FF21 sorts after U+1F600's high surrogate (0xD83D) in UTF-16 order.
    expect(canonicalJson({ "Ａ": 1, "😀": 2, a: 3, B: 4 })).toBe(
      '{"B":4,"a":3,"😀":2,"Ａ":1}',
    );
  });

  it("writes no whitespace and drops undefined members", () => {
    expect(canonicalJson({ a: [1, "x y", true], b: undefined })).toBe(
      '{"a":[1,"x y",true]}',
    );
  });
});

describe("canonicalEnvelope", () => {
  it("replaces an inline payload by its digest", async () => {
    expect(
      await canonicalEnvelope({
        id: "e",
        route: { prev: [], curr: "a", next: [] },
      }, "1"),
    ).toBe(
      `{"id":"e","payload_sha256":"${ONE_SHA}","route":{"curr":"a","next":[],"prev":[]}}`,
    );
  });

  it("keeps payload_ref and leaves out sig", async () => {
    const envelope: Envelope = {
      id: "e",
      route: { prev: [], curr: "a", next: [] },
      payload_ref: { uri: "s3://bkt/k", bytes: 1, sha256: SHA },
      sig: "x..y",
    };
    expect(await canonicalEnvelope(envelope)).toBe(
      `{"id":"e","payload_ref":{"bytes":1,"sha256":"${SHA}","uri":"s3://bkt/k"},` +
        '"route":{"curr":"a","next":[],"prev":[]}}',
    );
  });

  it("ignores member order of the input", async () => {
    const reordered: Envelope = {
      status: { attempt: 1, phase: "running" },
      headers: { traceparent: "00-1-2-01" },
      route: { next: ["c"], curr: "b", prev: ["a"] },
      id: "env-1",
    };
    expect(await canonicalEnvelope(reordered, "{}")).toBe(
      await canonicalEnvelope(ENVELOPE, "{}"),
    );
  });
});

describe("signEnvelope and verifyEnvelope", () => {
  it("verifies a signed envelope", async () => {
    const signed = await signEnvelope(ENVELOPE, '{"x":1.0}', KEY);
    expect(signed.sig).toMatch(/^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+$/);
    expect(await verifyEnvelope(signed, '{"x":1.0}', KEY)).toEqual({
      ok: true,
      value: undefined,
    });
  });

  it("leaves the input envelope unsigned", async () => {
    await signEnvelope(ENVELOPE, "1", KEY);
    expect(ENVELOPE.sig).toBeUndefined();
  });

  it("survives serialising and parsing", async () => {
    const signed = await signEnvelope(ENVELOPE, "[1, 2.50]", KEY);
    const parsed = parseEnvelope(serializeEnvelope(signed, "[1, 2.50]"));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(
      await verifyEnvelope(
        parsed.value.envelope,
        parsed.value.payloadText,
        KEY,
      ),
    ).toEqual({
      ok: true,
      value: undefined,
    });
  });

  it("rejects a tampered route", async () => {
    const signed = await signEnvelope(ENVELOPE, "1", KEY);
    await expectMismatch({
      ...signed,
      route: { prev: ["a"], curr: "b", next: ["evil"] },
    }, "1");
    await expectMismatch({
      ...signed,
      route: { prev: [], curr: "b", next: ["c"] },
    }, "1");
  });

  it("rejects a tampered payload", async () => {
    const signed = await signEnvelope(ENVELOPE, '{"amount":1.0}', KEY);
    await expectMismatch(signed, '{"amount":1}');
    await expectMismatch(signed, '{"amount":1.0 }');
  });

  it("rejects tampered headers, status and id", async () => {
    const signed = await signEnvelope(ENVELOPE, "1", KEY);
    await expectMismatch(
      { ...signed, headers: { traceparent: "00-9-9-01" } },
      "1",
    );
    await expectMismatch({
      ...signed,
      status: { phase: "succeeded", attempt: 1 },
    }, "1");
    await expectMismatch({ ...signed, id: "env-2" }, "1");
    await expectMismatch({ ...signed, parent_id: "env-0" }, "1");
  });

  it("rejects a tampered claim-check digest", async () => {
    const ref = { uri: "s3://bkt/claims/ns/x", bytes: 10, sha256: SHA };
    const signed = await signEnvelope(
      { ...ENVELOPE, payload_ref: ref },
      undefined,
      KEY,
    );
    expect((await verifyEnvelope(signed, undefined, KEY)).ok).toBe(true);
    await expectMismatch({
      ...signed,
      payload_ref: { ...ref, sha256: "cd".repeat(32) },
    }, undefined);
    await expectMismatch({
      ...signed,
      payload_ref: { ...ref, uri: "s3://bkt/claims/ns/y" },
    }, undefined);
  });

  it("rejects a claim check swapped for an inline payload", async () => {
    const ref = { uri: "s3://bkt/claims/ns/x", bytes: 10, sha256: SHA };
    const signed = await signEnvelope(
      { ...ENVELOPE, payload_ref: ref },
      undefined,
      KEY,
    );
    const { payload_ref: _ref, ...inline } = signed;
    await expectMismatch(inline, "1");
  });

  it("rejects the wrong key", async () => {
    const signed = await signEnvelope(ENVELOPE, "1", KEY);
    await expectMismatch(signed, "1", OTHER_KEY);
  });

  it("picks the key by kid", async () => {
    const signed = await signEnvelope(ENVELOPE, "1", OTHER_KEY, {
      kid: "2026-02",
    });
    const keys = { "2026-01": KEY, "2026-02": OTHER_KEY };
    expect(await verifyEnvelope(signed, "1", keys)).toEqual({
      ok: true,
      value: undefined,
    });
  });

  it("rejects an unknown kid", async () => {
    const signed = await signEnvelope(ENVELOPE, "1", KEY, { kid: "old" });
    const result = await verifyEnvelope(signed, "1", { current: KEY });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.message).toBe(
      'Invalid envelope signature: sig must be a kid among current, found kid "old"',
    );
  });

  it("rejects a missing kid when keys have ids", async () => {
    const signed = await signEnvelope(ENVELOPE, "1", KEY);
    const result = await verifyEnvelope(signed, "1", { current: KEY });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.found).toBe("no kid");
  });

  it("rejects a missing signature", async () => {
    const result = await verifyEnvelope(ENVELOPE, "1", KEY);
    expect(result).toEqual({
      ok: false,
      error: {
        field: "sig",
        expected: "a detached JWS",
        found: "missing",
        message:
          "Invalid envelope signature: sig is missing, expected a detached JWS",
      },
    });
  });

  it("rejects an attached JWS", async () => {
    const attached = await new CompactSign(new TextEncoder().encode("x"))
      .setProtectedHeader({ alg: "HS256" }).sign(
        KEY,
      );
    const result = await verifyEnvelope(
      { ...ENVELOPE, sig: attached },
      "1",
      KEY,
    );
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.message).toBe(
        "Invalid envelope signature: sig must be a detached JWS of the form header..signature, found a malformed value",
      );
    }
  });

  it("rejects a garbage header", async () => {
    const result = await verifyEnvelope(
      { ...ENVELOPE, sig: "!!!..abc" },
      "1",
      KEY,
    );
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.found).toBe("a malformed header");
  });

  it("rejects another algorithm", async () => {
    const header = base64url.encode(JSON.stringify({ alg: "none" }));
    const result = await verifyEnvelope(
      { ...ENVELOPE, sig: `${header}..abc` },
      "1",
      KEY,
    );
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.message).toBe(
        'Invalid envelope signature: sig must be algorithm HS256, found algorithm "none"',
      );
    }
  });

  it("rejects a short signing key", async () => {
    const short = new Uint8Array(MIN_SIGNING_KEY_BYTES - 1);
    await expect(signEnvelope(ENVELOPE, "1", short)).rejects.toThrow(
      "Invalid signing key: expected at least 32 bytes for HS256, found 31",
    );
  });

  it("verifies generated envelopes and rejects a changed next", async () => {
    await fc.assert(
      fc.asyncProperty(
        envelopeWithPayload,
        async ({ envelope, payloadText }) => {
          const signed = await signEnvelope(envelope, payloadText, KEY);
          expect((await verifyEnvelope(signed, payloadText, KEY)).ok).toBe(
            true,
          );
          const rerouted = {
            ...signed,
            route: { ...signed.route, next: [...signed.route.next, "x"] },
          };
          expect((await verifyEnvelope(rerouted, payloadText, KEY)).ok).toBe(
            false,
          );
        },
      ),
      { numRuns: 50 },
    );
  });
});
