/**
 * Creates a private CA and a serving certificate for the admission webhook,
 * for clusters without cert-manager (the `local` kustomize overlay).
 *
 * Usage:
 *   npx deno run --allow-read --allow-write --allow-env scripts/gen-certs.ts [options]
 *
 * Options (all optional):
 *   --out-dir DIR          where the two manifests go
 *                          (default kustomize/overlays/local/generated)
 *   --namespace NAME       webhook namespace (default asya-system)
 *   --service NAME         webhook Service name (default asya-webhook)
 *   --days N               serving certificate lifetime in days (default 365)
 *   --webhook-config FILE  MutatingWebhookConfiguration whose webhooks get the
 *                          caBundle (default manifests/mutating-webhook.yaml)
 *   -h, --help             print the usage and exit
 *
 * Writes `webhook-tls-secret.yaml` (a kubernetes.io/tls Secret with tls.crt,
 * tls.key and ca.crt) and `ca-bundle-patch.yaml` (a strategic merge patch that
 * sets caBundle on every webhook of the configuration). The CA private key is
 * never written: running the script again replaces both files with a new CA.
 * Keys are ECDSA P-256 and certificates are signed with SHA-256, built with
 * node:crypto alone, so no network and no extra package are needed.
 */
import {
  createHash,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
} from "node:crypto";
import { Buffer } from "node:buffer";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { parseAllDocuments, stringify } from "yaml";

// ---------------------------------------------------------------------------
// DER encoding (ITU-T X.690), only the types an X.509 certificate needs.

function encodeLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

function tlv(tag: number, content: Uint8Array): Uint8Array {
  return concat([Uint8Array.of(tag), encodeLength(content.length), content]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

const sequence = (...items: Uint8Array[]) => tlv(0x30, concat(items));
const set = (...items: Uint8Array[]) => tlv(0x31, concat(items));
const octetString = (bytes: Uint8Array) => tlv(0x04, bytes);
const utf8String = (text: string) => tlv(0x0c, new TextEncoder().encode(text));
const booleanTrue = () => Uint8Array.of(0x01, 0x01, 0xff);
const explicit = (tagNumber: number, content: Uint8Array) => tlv(0xa0 | tagNumber, content);

/** Encodes a non-negative big-endian integer, adding the sign byte DER needs. */
function integer(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  const body = trimmed[0] & 0x80 ? concat([Uint8Array.of(0), trimmed]) : trimmed;
  return tlv(0x02, body);
}

/** Encodes a BIT STRING whose last byte has `unusedBits` padding bits. */
function bitString(bytes: Uint8Array, unusedBits = 0): Uint8Array {
  return tlv(0x03, concat([Uint8Array.of(unusedBits), bytes]));
}

function objectIdentifier(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map(Number);
  const bytes: number[] = [40 * arcs[0] + arcs[1]];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    for (let rest = Math.floor(arc / 128); rest > 0; rest = Math.floor(rest / 128)) {
      chunk.unshift(0x80 | (rest & 0x7f));
    }
    bytes.push(...chunk);
  }
  return tlv(0x06, Uint8Array.from(bytes));
}

/** RFC 5280 section 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
function time(date: Date): Uint8Array {
  const iso = date.toISOString(); // 2026-12-04T19:55:17.123Z
  const digits = iso.slice(0, 19).replace(/[-T:]/g, "") + "Z"; // 20261204195517Z
  const year = date.getUTCFullYear();
  if (year < 2050) return tlv(0x17, new TextEncoder().encode(digits.slice(2)));
  return tlv(0x18, new TextEncoder().encode(digits));
}

// ---------------------------------------------------------------------------
// X.509 structures (RFC 5280).

const OID = {
  commonName: "2.5.4.3",
  organizationName: "2.5.4.10",
  ecPublicKey: "1.2.840.10045.2.1",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
} as const;

function distinguishedName(commonName: string): Uint8Array {
  return sequence(
    set(sequence(objectIdentifier(OID.organizationName), utf8String("asya"))),
    set(sequence(objectIdentifier(OID.commonName), utf8String(commonName))),
  );
}

function extension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  const parts = [objectIdentifier(oid)];
  if (critical) parts.push(booleanTrue());
  parts.push(octetString(value));
  return sequence(...parts);
}

/** KeyUsage bits, numbered from the most significant bit of the first byte. */
const KEY_USAGE = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 } as const;

function keyUsage(...bits: number[]): Uint8Array {
  let value = 0;
  for (const bit of bits) value |= 0x80 >> bit;
  // DER drops trailing zero bits and counts them as unused.
  let unused = 0;
  while (unused < 7 && (value & (1 << unused)) === 0) unused++;
  return bitString(Uint8Array.of(value), unused);
}

/** Key identifier per RFC 5280 section 4.2.1.2, method 1: SHA-1 of the public key bits. */
function keyIdentifier(publicKey: KeyObject): Uint8Array {
  const jwk = publicKey.export({ format: "jwk" });
  const point = concat([
    Uint8Array.of(0x04),
    Buffer.from(jwk.x as string, "base64url"),
    Buffer.from(jwk.y as string, "base64url"),
  ]);
  return new Uint8Array(createHash("sha1").update(point).digest());
}

function serialNumber(): Uint8Array {
  // 128 random bits, kept positive and non-zero (RFC 5280 section 4.1.2.2).
  const bytes = new Uint8Array(randomBytes(16));
  bytes[0] = (bytes[0] & 0x7f) | 0x01;
  return bytes;
}

interface CertificateFields {
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  publicKey: KeyObject;
  signingKey: KeyObject;
  extensions: Uint8Array[];
}

function buildCertificate(fields: CertificateFields): string {
  const signatureAlgorithm = sequence(objectIdentifier(OID.ecdsaWithSha256));
  const subjectPublicKeyInfo = new Uint8Array(fields.publicKey.export({ format: "der", type: "spki" }));
  const tbsCertificate = sequence(
    explicit(0, integer(Uint8Array.of(2))), // version 3
    integer(serialNumber()),
    signatureAlgorithm,
    distinguishedName(fields.issuer),
    sequence(time(fields.notBefore), time(fields.notAfter)),
    distinguishedName(fields.subject),
    subjectPublicKeyInfo,
    explicit(3, sequence(...fields.extensions)),
  );
  // node:crypto returns the DER Ecdsa-Sig-Value that X.509 expects.
  const signature = new Uint8Array(sign("sha256", tbsCertificate, { key: fields.signingKey, dsaEncoding: "der" }));
  return toPem("CERTIFICATE", sequence(tbsCertificate, signatureAlgorithm, bitString(signature)));
}

function toPem(label: string, der: Uint8Array): string {
  const base64 = Buffer.from(der).toString("base64");
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

// ---------------------------------------------------------------------------
// Public API.

/** Options of {@link generateWebhookCertificates}. */
export interface WebhookCertificateOptions {
  /** Webhook Service name (default `asya-webhook`). */
  service?: string;
  /** Webhook namespace (default `asya-system`). */
  namespace?: string;
  /** Serving certificate lifetime in days (default 365). The CA lives ten times as long. */
  days?: number;
  /** Start of validity (default now, less five minutes for clock skew). */
  now?: Date;
}

/** PEM-encoded CA certificate and serving certificate with its PKCS#8 key. */
export interface WebhookCertificates {
  caCertPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  dnsNames: string[];
}

const DAY_MS = 24 * 60 * 60 * 1000;
const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** Returns the DNS names the API server may use to reach the webhook Service. */
export function webhookDnsNames(service: string, namespace: string): string[] {
  return [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
  ];
}

/**
 * Creates a CA and a serving certificate signed by it for the webhook Service.
 * Throws when `days` is not a whole number between 1 and 3650.
 */
export function generateWebhookCertificates(options: WebhookCertificateOptions = {}): WebhookCertificates {
  const service = options.service ?? "asya-webhook";
  const namespace = options.namespace ?? "asya-system";
  const days = options.days ?? 365;
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    throw new Error(`Invalid certificate lifetime: expected whole days from 1 to 3650, found ${days}`);
  }
  const notBefore = new Date((options.now ?? new Date()).getTime() - CLOCK_SKEW_MS);
  const dnsNames = webhookDnsNames(service, namespace);

  const ca = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const caKeyId = keyIdentifier(ca.publicKey);
  const caName = `${service}-ca`;
  const caCertPem = buildCertificate({
    subject: caName,
    issuer: caName,
    notBefore,
    notAfter: new Date(notBefore.getTime() + 10 * days * DAY_MS),
    publicKey: ca.publicKey,
    signingKey: ca.privateKey,
    extensions: [
      extension(OID.basicConstraints, true, sequence(booleanTrue(), integer(Uint8Array.of(0)))),
      extension(OID.keyUsage, true, keyUsage(KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign)),
      extension(OID.subjectKeyIdentifier, false, octetString(caKeyId)),
    ],
  });

  const server = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const subjectAltNames = dnsNames.map((name) => tlv(0x82, new TextEncoder().encode(name)));
  const serverCertPem = buildCertificate({
    subject: `${service}.${namespace}.svc`,
    issuer: caName,
    notBefore,
    notAfter: new Date(notBefore.getTime() + days * DAY_MS),
    publicKey: server.publicKey,
    signingKey: ca.privateKey,
    extensions: [
      extension(OID.basicConstraints, true, sequence()),
      extension(OID.keyUsage, true, keyUsage(KEY_USAGE.digitalSignature)),
      extension(OID.extKeyUsage, false, sequence(objectIdentifier(OID.serverAuth))),
      extension(OID.subjectAltName, false, sequence(...subjectAltNames)),
      extension(OID.subjectKeyIdentifier, false, octetString(keyIdentifier(server.publicKey))),
      extension(OID.authorityKeyIdentifier, false, sequence(tlv(0x80, caKeyId))),
    ],
  });

  const serverKeyPem = server.privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  return { caCertPem, serverCertPem, serverKeyPem, dnsNames };
}

/** Renders the kubernetes.io/tls Secret that the webhook Deployment mounts. */
export function renderTlsSecret(
  certificates: WebhookCertificates,
  options: { name?: string; namespace?: string } = {},
): string {
  const base64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
  const secret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: options.name ?? "asya-webhook-tls",
      namespace: options.namespace ?? "asya-system",
      labels: { "app.kubernetes.io/part-of": "asya", "app.kubernetes.io/component": "webhook" },
    },
    type: "kubernetes.io/tls",
    data: {
      "tls.crt": base64(certificates.serverCertPem),
      "tls.key": base64(certificates.serverKeyPem),
      "ca.crt": base64(certificates.caCertPem),
    },
  };
  return "# Generated by scripts/gen-certs.ts. Holds a private key: do not commit.\n" + stringify(secret);
}

/**
 * Reads the MutatingWebhookConfiguration in `yamlText` and returns its name
 * and webhook names. Throws when the text contains no such object or it has no
 * webhooks.
 */
export function readWebhookConfiguration(yamlText: string): { name: string; webhooks: string[] } {
  const objects = parseAllDocuments(yamlText).map((document) => document.toJS());
  const configuration = objects.find((object) => object?.kind === "MutatingWebhookConfiguration");
  if (!configuration) {
    throw new Error("Missing MutatingWebhookConfiguration: expected one in the webhook configuration file, found none");
  }
  const webhooks = (configuration.webhooks ?? []).map((webhook: { name?: unknown }) => String(webhook.name));
  if (webhooks.length === 0) {
    throw new Error(`Invalid MutatingWebhookConfiguration ${configuration.metadata?.name}: expected webhooks, found none`);
  }
  return { name: String(configuration.metadata?.name), webhooks };
}

/** Renders a strategic merge patch that sets caBundle on every listed webhook. */
export function renderCaBundlePatch(caCertPem: string, configuration: { name: string; webhooks: string[] }): string {
  const caBundle = Buffer.from(caCertPem, "utf8").toString("base64");
  const patch = {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    metadata: { name: configuration.name },
    webhooks: configuration.webhooks.map((name) => ({ name, clientConfig: { caBundle } })),
  };
  return "# Generated by scripts/gen-certs.ts.\n" + stringify(patch);
}

// ---------------------------------------------------------------------------
// Command line.

interface CommandLine {
  outDir: string;
  namespace: string;
  service: string;
  days: number;
  webhookConfig: string;
}

/** Help text printed by `--help` and `-h`. */
export const USAGE = `Usage: npx deno run --allow-read --allow-write --allow-env scripts/gen-certs.ts [options]

Creates a private CA and a serving certificate for the asya admission webhook
and writes two manifests for the local kustomize overlay:
webhook-tls-secret.yaml (the TLS Secret) and ca-bundle-patch.yaml (the CA bundle
for the MutatingWebhookConfiguration). Running it again replaces both.

Options:
  --out-dir DIR          directory for the two manifests
                         (default kustomize/overlays/local/generated)
  --namespace NAME       namespace of the webhook Service and of the Secret
                         (default asya-system)
  --service NAME         webhook Service name, used for the certificate's DNS
                         names (default asya-webhook)
  --days N               serving certificate lifetime in whole days, 1 to 3650;
                         the CA lives ten times as long (default 365)
  --webhook-config FILE  MutatingWebhookConfiguration whose webhooks get the
                         caBundle (default manifests/mutating-webhook.yaml)
  -h, --help             print this help and exit
`;

const VALUE_OPTIONS = ["--out-dir", "--namespace", "--service", "--days", "--webhook-config"] as const;
const ACCEPTED_OPTIONS = "expected --out-dir, --namespace, --service, --days, --webhook-config or --help";

/** Returns true when `args` contains `--help` or `-h`. */
export function wantsHelp(args: string[]): boolean {
  return args.includes("--help") || args.includes("-h");
}

/**
 * Parses the command line, without `--help` (see {@link wantsHelp}).
 * Throws on an unknown option, before looking for its value, and on a
 * missing or invalid value.
 */
export function parseCommandLine(args: string[]): CommandLine {
  const options: CommandLine = {
    outDir: "kustomize/overlays/local/generated",
    namespace: "asya-system",
    service: "asya-webhook",
    days: 365,
    webhookConfig: "manifests/mutating-webhook.yaml",
  };
  for (let index = 0; index < args.length; index += 2) {
    const flag = args[index];
    if (!(VALUE_OPTIONS as readonly string[]).includes(flag)) {
      throw new Error(`Unknown option ${JSON.stringify(flag)}: ${ACCEPTED_OPTIONS} (see --help)`);
    }
    const value = args[index + 1];
    if (value === undefined || value.startsWith("--")) {
      throw new Error(`Missing value for ${flag}: expected ${flag} VALUE`);
    }
    switch (flag as typeof VALUE_OPTIONS[number]) {
      case "--out-dir":
        options.outDir = value;
        break;
      case "--namespace":
        options.namespace = value;
        break;
      case "--service":
        options.service = value;
        break;
      case "--webhook-config":
        options.webhookConfig = value;
        break;
      case "--days":
        if (!/^\d+$/.test(value)) throw new Error(`Invalid --days: expected a whole number of days, found "${value}"`);
        options.days = Number(value);
        break;
    }
  }
  return options;
}

/** Generates the certificates, writes both manifests and returns their paths. */
export function writeWebhookCertificates(options: CommandLine): { secretPath: string; patchPath: string } {
  const configuration = readWebhookConfiguration(readFileSync(options.webhookConfig, "utf8"));
  const certificates = generateWebhookCertificates({
    service: options.service,
    namespace: options.namespace,
    days: options.days,
  });
  mkdirSync(options.outDir, { recursive: true });
  const secretPath = join(options.outDir, "webhook-tls-secret.yaml");
  const patchPath = join(options.outDir, "ca-bundle-patch.yaml");
  writeFileSync(secretPath, renderTlsSecret(certificates, { namespace: options.namespace }), { mode: 0o600 });
  writeFileSync(patchPath, renderCaBundlePatch(certificates.caCertPem, configuration));
  return { secretPath, patchPath };
}

if (import.meta.main) {
  if (wantsHelp(process.argv.slice(2))) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  try {
    const written = writeWebhookCertificates(parseCommandLine(process.argv.slice(2)));
    console.log(JSON.stringify({ event: "certificates_written", ...written }));
  } catch (error) {
    console.error(`gen-certs: ${(error as Error).message}`);
    process.exit(2);
  }
}
