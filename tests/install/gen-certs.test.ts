import { Buffer } from "node:buffer";
import { spawnSync } from "node:child_process";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { parse } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import {
  generateWebhookCertificates,
  parseCommandLine,
  readWebhookConfiguration,
  renderCaBundlePatch,
  USAGE,
  wantsHelp,
  writeWebhookCertificates,
} from "../../scripts/gen-certs.ts";
import { DENO } from "../webhook/deno-process.ts";
import { REPO_ROOT } from "./kustomize-build.ts";
import { validateObject } from "./schemas.ts";

const SERVICE_NAMES = [
  "asya-webhook",
  "asya-webhook.asya-system",
  "asya-webhook.asya-system.svc",
  "asya-webhook.asya-system.svc.cluster.local",
];

describe("generateWebhookCertificates", () => {
  const now = new Date("2026-06-01T12:00:00Z");
  const certificates = generateWebhookCertificates({ days: 30, now });
  const ca = new X509Certificate(certificates.caCertPem);
  const serving = new X509Certificate(certificates.serverCertPem);

  it("creates a CA certificate", () => {
    expect(ca.ca).toBe(true);
    expect(ca.subject).toBe("O=asya\nCN=asya-webhook-ca");
    expect(ca.checkIssued(ca)).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true);
    // X509Certificate.keyUsage lists extended key usages, and a CA has none.
    expect(ca.keyUsage).toBeUndefined();
  });

  it("signs the serving certificate with the CA", () => {
    expect(serving.ca).toBe(false);
    expect(serving.checkIssued(ca)).toBe(true);
    expect(serving.verify(ca.publicKey)).toBe(true);
    expect(serving.issuer).toBe(ca.subject);
  });

  it("lists every Service DNS name as a SAN", () => {
    const sans = serving.subjectAltName!.split(", ").map((entry) => entry.replace(/^DNS:/, ""));
    expect(sans).toEqual(SERVICE_NAMES);
    expect(certificates.dnsNames).toEqual(SERVICE_NAMES);
    expect(serving.checkHost("asya-webhook.asya-system.svc")).toBe("asya-webhook.asya-system.svc");
    expect(serving.checkHost("asya-webhook.other.svc")).toBeUndefined();
  });

  it("marks the serving certificate for server authentication", () => {
    expect(serving.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
  });

  it("sets validity from the start time and lifetime", () => {
    const start = now.getTime() - 5 * 60_000;
    expect(new Date(serving.validFrom).getTime()).toBe(start);
    expect(new Date(serving.validTo).getTime()).toBe(start + 30 * 86_400_000);
    expect(new Date(ca.validTo).getTime()).toBe(start + 300 * 86_400_000);
  });

  it("writes GeneralizedTime for dates from 2050", () => {
    const late = generateWebhookCertificates({ days: 3650, now: new Date("2049-06-01T00:00:00Z") });
    const lateCa = new X509Certificate(late.caCertPem);
    expect(new Date(lateCa.validTo).getUTCFullYear()).toBe(2149);
  });

  it("pairs the serving key with the serving certificate", () => {
    const key = createPrivateKey(certificates.serverKeyPem);
    expect(serving.checkPrivateKey(key)).toBe(true);
    expect(key.asymmetricKeyType).toBe("ec");
    expect(certificates.serverKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it("uses a fresh serial number each time", () => {
    const other = new X509Certificate(generateWebhookCertificates({ now }).serverCertPem);
    expect(other.serialNumber).not.toBe(serving.serialNumber);
  });

  it("rejects a lifetime outside 1 to 3650 days", () => {
    for (const days of [0, -1, 1.5, 3651]) {
      expect(() => generateWebhookCertificates({ days })).toThrow(
        `Invalid certificate lifetime: expected whole days from 1 to 3650, found ${days}`,
      );
    }
  });

  it("passes a TLS handshake with the CA", async () => {
    const current = generateWebhookCertificates();
    const server = createServer({ cert: current.serverCertPem, key: current.serverKeyPem }, (_, response) => {
      response.end("ok");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const authorized = await new Promise<boolean>((resolve, reject) => {
        const socket = connect(
          { host: "127.0.0.1", port, servername: "asya-webhook.asya-system.svc", ca: current.caCertPem },
          () => {
            resolve(socket.authorized);
            socket.end();
          },
        );
        socket.setTimeout(10_000, () => reject(new Error("TLS handshake timed out")));
        socket.on("error", reject);
      });
      expect(authorized).toBe(true);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("writeWebhookCertificates", () => {
  const outDir = mkdtempSync(join(tmpdir(), "asya-gen-certs-"));
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));
  const written = writeWebhookCertificates({
    ...parseCommandLine([]),
    outDir,
    webhookConfig: join(REPO_ROOT, "manifests/mutating-webhook.yaml"),
  });
  const secret = parse(readFileSync(written.secretPath, "utf8"));
  const patch = parse(readFileSync(written.patchPath, "utf8"));

  it("writes a TLS Secret that validates", () => {
    expect(validateObject(secret)).toEqual([]);
    expect(secret.type).toBe("kubernetes.io/tls");
    expect(secret.metadata).toMatchObject({ name: "asya-webhook-tls", namespace: "asya-system" });
    expect(Object.keys(secret.data).sort()).toEqual(["ca.crt", "tls.crt", "tls.key"]);
    expect(statSync(written.secretPath).mode & 0o077).toBe(0);
  });

  it("patches caBundle into every webhook", () => {
    expect(patch.metadata.name).toBe("asya-webhook");
    expect(patch.webhooks.map((w: { name: string }) => w.name)).toEqual(["pods.asya.sh", "workloads.asya.sh"]);
    for (const webhook of patch.webhooks) expect(webhook.clientConfig.caBundle).toBe(secret.data["ca.crt"]);
    const serving = new X509Certificate(Buffer.from(secret.data["tls.crt"], "base64"));
    const ca = new X509Certificate(Buffer.from(secret.data["ca.crt"], "base64"));
    expect(serving.verify(ca.publicKey)).toBe(true);
  });
});

describe("command line", () => {
  it("applies defaults", () => {
    expect(parseCommandLine([])).toEqual({
      outDir: "kustomize/overlays/local/generated",
      namespace: "asya-system",
      service: "asya-webhook",
      days: 365,
      webhookConfig: "manifests/mutating-webhook.yaml",
    });
  });

  it("reads every option", () => {
    const args = ["--out-dir", "o", "--namespace", "n", "--service", "s", "--days", "7", "--webhook-config", "w.yaml"];
    expect(parseCommandLine(args)).toEqual({ outDir: "o", namespace: "n", service: "s", days: 7, webhookConfig: "w.yaml" });
  });

  it("rejects an unknown option", () => {
    expect(() => parseCommandLine(["--dir", "x"])).toThrow('Unknown option "--dir"');
  });

  it("reports an unknown flag as unknown", () => {
    const accepted = "expected --out-dir, --namespace, --service, --days, --webhook-config or --help";
    expect(() => parseCommandLine(["--bogus"])).toThrow(`Unknown option "--bogus": ${accepted}`);
    expect(() => parseCommandLine(["--days", "3", "--bogus"])).toThrow(`Unknown option "--bogus": ${accepted}`);
    expect(() => parseCommandLine(["out"])).toThrow(`Unknown option "out": ${accepted}`);
  });

  it("reports help as a request", () => {
    expect(wantsHelp(["--help"])).toBe(true);
    expect(wantsHelp(["--days", "3", "-h"])).toBe(true);
    expect(wantsHelp(["--days", "3"])).toBe(false);
  });

  it("rejects a missing value", () => {
    expect(() => parseCommandLine(["--days"])).toThrow("Missing value for --days: expected --days VALUE");
    expect(() => parseCommandLine(["--out-dir", "--days", "3"])).toThrow("Missing value for --out-dir");
  });

  it("rejects a non-numeric lifetime", () => {
    expect(() => parseCommandLine(["--days", "1y"])).toThrow('Invalid --days: expected a whole number of days, found "1y"');
  });
});

describe("gen-certs command", () => {
  const run = (args: string[]) =>
    spawnSync(DENO, ["run", "--allow-read", "--allow-write", "--allow-env", "scripts/gen-certs.ts", ...args], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      timeout: 60_000,
    });

  it("prints usage for --help", () => {
    for (const flag of ["--help", "-h"]) {
      const result = run([flag]);
      expect(result.status).toBe(0);
      expect(result.stderr).toBe("");
      expect(result.stdout).toBe(USAGE);
    }
  });

  it("lists every option with its default", () => {
    for (const option of ["--out-dir DIR", "--namespace NAME", "--service NAME", "--days N", "--webhook-config FILE", "--help"]) {
      expect(USAGE).toContain(option);
    }
    for (const fallback of ["kustomize/overlays/local/generated", "asya-system", "asya-webhook", "365", "manifests/mutating-webhook.yaml"]) {
      expect(USAGE).toContain(`default ${fallback}`);
    }
  });

  it("exits 2 on an unknown flag", () => {
    const result = run(["--bogus"]);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain('gen-certs: Unknown option "--bogus"');
    expect(result.stderr).toContain("see --help");
  });
});

describe("readWebhookConfiguration", () => {
  it("rejects a file without a MutatingWebhookConfiguration", () => {
    expect(() => readWebhookConfiguration("apiVersion: v1\nkind: Service\nmetadata: {name: x}\n")).toThrow(
      "Missing MutatingWebhookConfiguration",
    );
  });

  it("rejects a configuration without webhooks", () => {
    const text = "apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata: {name: x}\n";
    expect(() => readWebhookConfiguration(text)).toThrow("Invalid MutatingWebhookConfiguration x: expected webhooks, found none");
  });

  it("renders a patch for the given webhook names", () => {
    const patch = parse(renderCaBundlePatch("PEM", { name: "cfg", webhooks: ["a.example.com"] }));
    expect(patch.webhooks).toEqual([{ name: "a.example.com", clientConfig: { caBundle: Buffer.from("PEM").toString("base64") } }]);
  });
});
