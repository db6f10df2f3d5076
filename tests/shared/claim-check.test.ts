import { describe, expect, it } from "vitest";
import {
  checkClaimCheckBody,
  checkRefAllowed,
  claimCheckKey,
  createClaimCheck,
  DEFAULT_CLAIM_CHECK_THRESHOLD,
  defaultClaimCheckPrefix,
  formatS3Uri,
  isRefAllowed,
  parseS3Uri,
  sha256Hex,
  shouldOffload,
  utf8ByteLength,
} from "../../shared/claim-check.ts";
import type { PayloadRef } from "../../shared/envelope.ts";

const SHA = "ab".repeat(32);
// SHA-256 of the three ASCII bytes "abc" (FIPS 180-2 test vector).
const ABC_SHA =
  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

function ref(uri: string): PayloadRef {
  return { uri, bytes: 10, sha256: SHA };
}

describe("parseS3Uri", () => {
  it("splits bucket and key", () => {
    expect(parseS3Uri("s3://asya-data/claims/ns/abc")).toEqual({
      ok: true,
      value: { bucket: "asya-data", key: "claims/ns/abc" },
    });
  });

  it("keeps slashes and unicode in the key", () => {
    expect(parseS3Uri("s3://b.example/a//b/é")).toEqual({
      ok: true,
      value: { bucket: "b.example", key: "a//b/é" },
    });
  });

  const invalid: Array<[string, string, string]> = [
    [
      "an http URI",
      "https://bucket/key",
      'Invalid S3 URI "https://bucket/key": expected s3://bucket/key',
    ],
    [
      "no key",
      "s3://bucket",
      'Invalid S3 URI "s3://bucket": expected s3://bucket/key, found no key',
    ],
    [
      "an empty key",
      "s3://bucket/",
      'Invalid S3 URI "s3://bucket/": expected s3://bucket/key, found no key',
    ],
    [
      "an uppercase bucket",
      "s3://Bucket/key",
      'Invalid S3 URI "s3://Bucket/key": bucket "Bucket" must be 3 to 63 characters of lowercase letters, ' +
      "digits, dots and hyphens, starting and ending with a letter or digit",
    ],
    ["a short bucket", "s3://ab/key", 'bucket "ab" must be 3 to 63'],
    ["a long bucket", `s3://${"a".repeat(64)}/key`, "must be 3 to 63"],
    ["a bucket ending in a hyphen", "s3://bucket-/key", 'bucket "bucket-"'],
    ["a bucket with two dots", "s3://a..b/key", 'bucket "a..b"'],
    ["an empty bucket", "s3:///key", 'bucket ""'],
    [
      "a key over 1024 bytes",
      `s3://bucket/${"é".repeat(513)}`,
      "key is 1026 bytes, S3 allows at most 1024",
    ],
  ];
  for (const [name, uri, message] of invalid) {
    it(`rejects ${name}`, () => {
      const result = parseS3Uri(uri);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error).toContain(message);
    });
  }
});

describe("claimCheckKey", () => {
  it("appends the digest to the prefix", () => {
    expect(claimCheckKey("claims/ns/", SHA)).toBe(`claims/ns/${SHA}`);
  });

  it("uses the namespace default prefix", () => {
    expect(defaultClaimCheckPrefix("ml")).toBe("claims/ml/");
    expect(
      formatS3Uri("bkt", claimCheckKey(defaultClaimCheckPrefix("ml"), SHA)),
    ).toBe(`s3://bkt/claims/ml/${SHA}`);
  });

  it("rejects a digest that is not lowercase hex", () => {
    expect(() => claimCheckKey("p/", SHA.toUpperCase())).toThrow(
      /expected 64 lowercase hexadecimal digits/,
    );
    expect(() => claimCheckKey("p/", "../x")).toThrow(TypeError);
  });
});

describe("checkRefAllowed", () => {
  const bucket = "asya-data";
  const prefix = "claims/ns/";

  it("accepts a key under the prefix", () => {
    expect(
      checkRefAllowed(ref(`s3://asya-data/claims/ns/${SHA}`), bucket, prefix),
    ).toEqual({
      ok: true,
      value: { bucket, key: `claims/ns/${SHA}` },
    });
    expect(
      isRefAllowed(ref(`s3://asya-data/claims/ns/sub/${SHA}`), bucket, prefix),
    ).toBe(true);
  });

  it("treats a prefix without slash as a folder", () => {
    expect(isRefAllowed(ref("s3://asya-data/claims/ns/x"), bucket, "claims/ns"))
      .toBe(true);
    expect(
      isRefAllowed(
        ref("s3://asya-data/claims/ns-other/x"),
        bucket,
        "claims/ns",
      ),
    ).toBe(false);
  });

  it("accepts any key with an empty prefix", () => {
    expect(isRefAllowed(ref("s3://asya-data/x"), bucket, "")).toBe(true);
  });

  const rejected: Array<[string, string, string]> = [
    [
      "another bucket",
      `s3://other/claims/ns/${SHA}`,
      'expected bucket "asya-data"',
    ],
    [
      "another prefix",
      `s3://asya-data/claims/other/${SHA}`,
      'expected a key under "claims/ns/"',
    ],
    [
      "the prefix itself",
      "s3://asya-data/claims/ns/",
      'expected a key under "claims/ns/"',
    ],
    [
      "a dot-dot segment",
      "s3://asya-data/claims/ns/../other/x",
      'must not contain empty, "." or ".." segments',
    ],
    ["a trailing dot-dot", "s3://asya-data/claims/ns/a/..", '".." segments'],
    ["a dot segment", "s3://asya-data/claims/ns/./x", '"." or ".."'],
    ["an empty segment", "s3://asya-data/claims/ns//x", "empty"],
    ["a backslash", "s3://asya-data/claims/ns/..\\x", "backslashes"],
    [
      "a malformed URI",
      "s3:/asya-data/claims/ns/x",
      "expected s3://bucket/key",
    ],
  ];
  for (const [name, uri, message] of rejected) {
    it(`rejects ${name}`, () => {
      const result = checkRefAllowed(ref(uri), bucket, prefix);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error).toContain(message);
      expect(isRefAllowed(ref(uri), bucket, prefix)).toBe(false);
    });
  }

  it("names the URI in the error", () => {
    const result = checkRefAllowed(
      ref("s3://other/claims/ns/x"),
      bucket,
      prefix,
    );
    expect(result).toEqual({
      ok: false,
      error:
        'Claim check "s3://other/claims/ns/x" rejected: expected bucket "asya-data"',
    });
  });
});

describe("shouldOffload", () => {
  it("defaults to 256Ki", () => {
    expect(DEFAULT_CLAIM_CHECK_THRESHOLD).toBe(256 * 1024);
  });

  it("keeps an envelope of exactly the threshold inline", () => {
    expect(shouldOffload("a".repeat(100), 100)).toBe(false);
    expect(shouldOffload("a".repeat(101), 100)).toBe(true);
  });

  it("measures UTF-8 bytes, not characters", () => {
    // 60 characters, 120 bytes ("é" is two bytes), and 30 astral characters, 120 bytes.
    expect("é".repeat(60).length).toBe(60);
    expect(shouldOffload("é".repeat(60), 100)).toBe(true);
    expect(shouldOffload("😀".repeat(30), 100)).toBe(true);
    expect(shouldOffload("😀".repeat(25), 100)).toBe(false);
  });

  it("uses the default threshold", () => {
    expect(shouldOffload("a".repeat(DEFAULT_CLAIM_CHECK_THRESHOLD))).toBe(
      false,
    );
    expect(shouldOffload("a".repeat(DEFAULT_CLAIM_CHECK_THRESHOLD + 1))).toBe(
      true,
    );
  });

  it("counts bytes with utf8ByteLength", () => {
    expect(utf8ByteLength("aé✓😀")).toBe(1 + 2 + 3 + 4);
  });
});

describe("createClaimCheck", () => {
  it("hashes the UTF-8 payload bytes", async () => {
    expect(await sha256Hex(new TextEncoder().encode("abc"))).toBe(ABC_SHA);
    const claim = await createClaimCheck("abc", "bkt", "claims/ns/");
    expect(claim.key).toBe(`claims/ns/${ABC_SHA}`);
    expect(claim.ref).toEqual({
      uri: `s3://bkt/claims/ns/${ABC_SHA}`,
      bytes: 3,
      sha256: ABC_SHA,
    });
    expect(Array.from(claim.body)).toEqual([0x61, 0x62, 0x63]);
  });

  it("gives the same key to the same payload", async () => {
    const first = await createClaimCheck('{"é":1.0}', "bkt", "p/");
    const second = await createClaimCheck('{"é":1.0}', "bkt", "p/");
    expect(first.key).toBe(second.key);
    expect(first.ref.bytes).toBe(10);
  });
});

describe("checkClaimCheckBody", () => {
  it("returns the text when size and digest match", async () => {
    const claim = await createClaimCheck('{"n":1e400}', "bkt", "p/");
    expect(await checkClaimCheckBody(claim.ref, claim.body)).toEqual({
      ok: true,
      value: '{"n":1e400}',
    });
  });

  it("rejects a size mismatch", async () => {
    const claim = await createClaimCheck("abc", "bkt", "p/");
    const result = await checkClaimCheckBody(
      claim.ref,
      new TextEncoder().encode("abcd"),
    );
    expect(result).toEqual({
      ok: false,
      error: `Claim check "${claim.ref.uri}" failed: expected 3 bytes, found 4`,
    });
  });

  it("rejects a digest mismatch", async () => {
    const claim = await createClaimCheck("abc", "bkt", "p/");
    const result = await checkClaimCheckBody(
      claim.ref,
      new TextEncoder().encode("abd"),
    );
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toContain(`expected sha256 ${ABC_SHA}, found `);
    }
  });

  it("rejects malformed JSON with a matching digest", async () => {
    const claim = await createClaimCheck("{", "bkt", "p/");
    const result = await checkClaimCheckBody(claim.ref, claim.body);
    expect(result).toEqual({
      ok: false,
      error:
        `Claim check "${claim.ref.uri}" failed: malformed JSON at position 1 (line 1, column 2): ` +
        "expected a string member name, found end of input",
    });
  });

  it("rejects invalid UTF-8 with a matching digest", async () => {
    const body = new Uint8Array([0x22, 0xff, 0x22]);
    const digest = await sha256Hex(body);
    const result = await checkClaimCheckBody({
      uri: "s3://bkt/p/x",
      bytes: 3,
      sha256: digest,
    }, body);
    expect(result).toEqual({
      ok: false,
      error:
        'Claim check "s3://bkt/p/x" failed: expected UTF-8 JSON text, found invalid UTF-8',
    });
  });
});
