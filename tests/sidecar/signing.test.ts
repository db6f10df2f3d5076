import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSigningKey } from "../../sidecar/signing.ts";

describe("readSigningKey", () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "asya-key-"));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("drops one trailing newline", async () => {
    const path = join(dir, "newline");
    await writeFile(path, `${"a".repeat(32)}\n`);
    const key = await readSigningKey(path);
    expect(key.length).toBe(32);
    expect(new TextDecoder().decode(key)).toBe("a".repeat(32));
  });

  it("keeps binary keys as they are", async () => {
    const path = join(dir, "binary");
    const bytes = Uint8Array.from(
      { length: 40 },
      (_, index) => (index * 37) % 256,
    );
    await writeFile(path, bytes);
    expect(await readSigningKey(path)).toEqual(bytes);
  });

  it("rejects a short key", async () => {
    const path = join(dir, "short");
    await writeFile(path, "too short\n");
    await expect(readSigningKey(path)).rejects.toThrow(
      `invalid ASYA_SIGNING_KEY_FILE: expected at least 32 bytes of key in "${path}" for HS256, found 9`,
    );
  });

  it("rejects a missing file", async () => {
    const path = join(dir, "missing");
    await expect(readSigningKey(path)).rejects.toThrow(
      `invalid ASYA_SIGNING_KEY_FILE: cannot read "${path}" (ENOENT)`,
    );
  });
});
