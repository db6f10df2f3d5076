import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseEnvelope } from "../../shared/envelope.ts";
import { signEnvelope, verifyEnvelope } from "../../shared/signing.ts";
import { envelopeBody, Mesh } from "./harness.ts";

const KEY = new TextEncoder().encode("integration-test-signing-key-0123456789");

async function signedBody(body: string): Promise<string> {
  const parsed = parseEnvelope(body);
  if (!parsed.ok) throw new Error(parsed.error.message);
  const envelope = await signEnvelope(
    parsed.value.envelope,
    parsed.value.payloadText,
    KEY,
    { kid: "k1" },
  );
  return `${
    JSON.stringify(envelope).slice(0, -1)
  },"payload":${parsed.value.payloadText}}`;
}

describe("sidecar with envelope signing", () => {
  let mesh: Mesh;
  let keyDir: string;

  beforeAll(async () => {
    keyDir = await mkdtemp("/tmp/asya-key-");
    const keyFile = join(keyDir, "key");
    await writeFile(keyFile, KEY);
    const sidecarEnv = {
      ASYA_SIGNING_KEY_FILE: keyFile,
      ASYA_SIGNING_KEY_ID: "k1",
    };

    mesh = await Mesh.start("signed");
    await mesh.createQueues(["double"]);
    await mesh.startActor({ actor: "x-sink", role: "sink", sidecarEnv });
    await mesh.startActor({ actor: "x-sump", role: "sump", sidecarEnv });
    await mesh.startActor({
      actor: "double",
      handler: "sidecar_handlers.double",
      sidecarEnv,
    });
  }, 120_000);

  afterAll(async () => {
    await mesh?.stop();
    await rm(keyDir, { recursive: true, force: true });
  }, 60_000);

  it("routes a signed envelope and signs the result", async () => {
    await mesh.send(
      "double",
      await signedBody(
        envelopeBody("signed-1", { curr: "double" }, '{"value":2}'),
      ),
    );
    const stored = parseEnvelope(
      await mesh.waitForStored("results", "signed-1"),
    );
    expect(stored.ok).toBe(true);
    if (!stored.ok) return;
    expect(stored.value.payloadText).toBe('{"value":4}');
    const verified = await verifyEnvelope(
      stored.value.envelope,
      stored.value.payloadText,
      { k1: KEY },
    );
    expect(verified.ok).toBe(true);
  });

  it("sends an unsigned envelope to x-sump", async () => {
    await mesh.send(
      "double",
      envelopeBody("unsigned-1", { curr: "double" }, '{"value":2}'),
    );
    const stored = JSON.parse(await mesh.waitForStored("errors", "unsigned-1"));
    expect(stored.status.reason).toBe("InvalidSignature");
    expect(stored.status.error.message).toMatch(/sig is missing/);
    expect(stored.payload).toEqual({ value: 2 });
  });

  it("stores a forged envelope sent to x-sink under errors", async () => {
    const forged = (await signedBody(
      envelopeBody("forged-1", { prev: ["double"], curr: "" }, '{"value":2}'),
    ))
      .replace('{"value":2}', '{"value":1000}');
    await mesh.send("x-sink", forged);
    const stored = JSON.parse(await mesh.waitForStored("errors", "forged-1"));
    expect(stored.status.reason).toBe("InvalidSignature");
    expect(stored.status.actor).toBe("x-sink");
  });
});
