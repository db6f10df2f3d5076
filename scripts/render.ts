/**
 * Renders KEDA ScaledObjects for GitOps: Deployment or StatefulSet YAML on
 * stdin, ScaledObject YAML on stdout, from the same renderer the webhook
 * applies. Multi-document input and `kind: List` are accepted; objects
 * without `asya.sh/actor`, or with `asya.sh/scaling: none`, produce nothing.
 *
 *   deno task render < deployment.yaml > scaledobject.yaml
 *
 * Settings come from the same environment variables as the webhook:
 * ASYA_AWS_REGION (default us-east-1), ASYA_SQS_ENDPOINT (unset = AWS),
 * ASYA_KEDA_AUTH_KIND (default ClusterTriggerAuthentication) and
 * ASYA_KEDA_AUTH_NAME (default asya-aws). Objects without a namespace use
 * `default`. Exits 1 with one line per problem when an annotation is bad,
 * and 1 on empty stdin. When nothing is rendered, one line on stderr
 * reports what was read, and the exit status stays 0.
 */
import { parseAllDocuments, stringify } from "yaml";
import { parseActorAnnotations, selectAsyaAnnotations } from "../shared/annotations.ts";
import { actorQueueName } from "../shared/queues.ts";
import { err, ok, type Result } from "../shared/result.ts";
import { parseAwsRegion, renderScaledObject, type ScalingSettings } from "../shared/scaled-object.ts";

// The parts of a manifest that render reads; YAML input may hold anything.
interface ManifestObject {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown; namespace?: string; annotations?: Record<string, string> };
  spec?: { template?: { metadata?: { annotations?: Record<string, string> } } };
  items?: unknown;
}

/** Rendered YAML and counts of what render read, so the command can report why nothing came out. */
export interface RenderOutput {
  /** ScaledObjects as multi-document YAML; empty when nothing was rendered. */
  yaml: string;
  /** Non-empty YAML documents in the input. */
  documentCount: number;
  /** Kubernetes objects, counting each item of a `kind: List`. */
  objectCount: number;
  /** Deployments and StatefulSets with `asya.sh/actor`. */
  actorCount: number;
  /** ScaledObjects in `yaml`. */
  renderedCount: number;
}

/**
 * Renders the ScaledObjects of every actor workload in `input` as one
 * multi-document YAML text. The queue URL is the bare queue name, which KEDA
 * resolves, because render has no AWS account to look the URL up in. The
 * objects carry no owner reference: the GitOps tool owns them. Fails with
 * one message per invalid document, bad annotation or unnamed workload.
 */
export function renderScaledObjectsYaml(input: string, settings: ScalingSettings): Result<RenderOutput, string[]> {
  const problems: string[] = [];
  const outputs: string[] = [];

  const objects: ManifestObject[] = [];
  let documentCount = 0;
  for (const [index, document] of parseAllDocuments(input).entries()) {
    if (document.errors.length > 0) {
      problems.push(`Invalid YAML in document ${index + 1}: ${document.errors[0].message.split("\n")[0]}`);
      continue;
    }
    const value = document.toJS() as unknown;
    // A bare `---` or a comment-only document contains no object and is skipped.
    if (value === null || value === undefined) continue;
    documentCount++;
    if (typeof value !== "object" || Array.isArray(value)) {
      const found = Array.isArray(value) ? "a list" : typeof value;
      problems.push(`Invalid document ${index + 1}: expected a Kubernetes object, found ${found}`);
      continue;
    }
    const object = value as ManifestObject;
    if (object.kind === "List" && Array.isArray(object.items)) objects.push(...object.items.filter(Boolean));
    else objects.push(object);
  }

  let actorCount = 0;
  for (const object of objects) {
    if (object.kind !== "Deployment" && object.kind !== "StatefulSet") continue;
    const name = object.metadata?.name;
    const namespace = object.metadata?.namespace ?? "default";
    const where = `${object.kind} ${namespace}/${name ?? "(no name)"}`;
    const annotations = {
      ...selectAsyaAnnotations(object.spec?.template?.metadata?.annotations),
      ...selectAsyaAnnotations(object.metadata?.annotations),
    };
    const parsed = parseActorAnnotations(annotations, { namespace });
    if (!parsed.ok) {
      problems.push(...parsed.error.map((error) => `${where}: ${error.message}`));
      continue;
    }
    const config = parsed.value.config;
    if (config === undefined) continue;
    actorCount++;
    if (config.scaling === "none") continue;
    if (typeof name !== "string" || name === "") {
      problems.push(`${where}: expected metadata.name, found nothing`);
      continue;
    }

    const queueName = actorQueueName(namespace, config.actor);
    if (!queueName.ok) {
      problems.push(`${where}: ${queueName.error.message}`);
      continue;
    }
    const target = { apiVersion: String(object.apiVersion ?? "apps/v1"), kind: object.kind as "Deployment" | "StatefulSet", name, namespace };
    outputs.push(stringify(renderScaledObject(target, config, settings, queueName.value)));
  }

  if (problems.length > 0) return err(problems);
  return ok({
    yaml: outputs.join("---\n"),
    documentCount,
    objectCount: objects.length,
    actorCount,
    renderedCount: outputs.length,
  });
}

/**
 * Describes a render that produced no ScaledObject, or returns undefined
 * when something was rendered. Input without any YAML document is an
 * error, because render was most likely run without a file on stdin.
 * Input without actors is a notice, because a GitOps pipeline may pass
 * every manifest of an application through render.
 */
export function nothingRenderedMessage(output: RenderOutput): { error: boolean; message: string } | undefined {
  if (output.renderedCount > 0) return undefined;
  if (output.documentCount === 0) {
    return {
      error: true,
      message: "render: stdin contains no YAML documents: expected Deployment or StatefulSet YAML, as in deno task render < deployment.yaml",
    };
  }
  if (output.actorCount === 0) {
    return {
      error: false,
      message: `render: read ${output.objectCount} object(s), none is a Deployment or StatefulSet with asya.sh/actor; nothing to render`,
    };
  }
  return {
    error: false,
    message:
      `render: read ${output.objectCount} object(s) with ${output.actorCount} actor(s), all with asya.sh/scaling: none; nothing to render`,
  };
}

/** Reads render settings from the environment, with the webhook's defaults. */
export function settingsFromEnv(env: Record<string, string | undefined>): Result<ScalingSettings, string> {
  const authKind = env.ASYA_KEDA_AUTH_KIND || "ClusterTriggerAuthentication";
  if (authKind !== "TriggerAuthentication" && authKind !== "ClusterTriggerAuthentication") {
    return err(
      `Invalid environment variable ASYA_KEDA_AUTH_KIND: expected TriggerAuthentication or ClusterTriggerAuthentication, found ${
        JSON.stringify(authKind)
      }`,
    );
  }
  const awsRegion = env.ASYA_AWS_REGION || "us-east-1";
  const region = parseAwsRegion(awsRegion);
  if (!region.ok) {
    return err(`Invalid environment variable ASYA_AWS_REGION: expected ${region.error}, found ${JSON.stringify(awsRegion)}`);
  }
  return ok({
    awsRegion,
    sqsEndpoint: env.ASYA_SQS_ENDPOINT || undefined,
    authKind,
    authName: env.ASYA_KEDA_AUTH_NAME || "asya-aws",
  });
}

/** Help text printed by `--help` and `-h`. */
export const RENDER_USAGE = `Usage: deno task render < deployment.yaml > scaledobject.yaml

Reads Deployment and StatefulSet YAML on stdin and writes to stdout the KEDA
ScaledObject of each one with asya.sh/actor, as the webhook would apply it.
Multi-document YAML and kind: List are accepted. Other kinds, and actors with
asya.sh/scaling: none, produce nothing.

Environment variables:
  ASYA_AWS_REGION      AWS region of the SQS queues (default us-east-1)
  ASYA_SQS_ENDPOINT    SQS endpoint URL for KEDA (default unset: AWS)
  ASYA_KEDA_AUTH_KIND  TriggerAuthentication or ClusterTriggerAuthentication
                       (default ClusterTriggerAuthentication)
  ASYA_KEDA_AUTH_NAME  name of that KEDA authentication object (default asya-aws)

Exit status: 0 when rendered, and also when nothing is to be rendered (a line
on stderr then says what was read); 1 on empty stdin, invalid YAML or a bad
annotation; 2 on a bad argument or environment variable.

Options:
  -h, --help           print this help and exit
`;

async function main(): Promise<void> {
  // deno task passes the -- of `deno task render -- --help` through.
  const args = Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args;
  if (args.includes("--help") || args.includes("-h")) {
    await writeStdout(RENDER_USAGE);
    return;
  }
  if (args.length > 0) {
    console.error(
      `render: unexpected argument ${JSON.stringify(args[0])}: render reads YAML on stdin, as in deno task render < deployment.yaml (see --help)`,
    );
    Deno.exit(2);
  }
  const settings = settingsFromEnv(Deno.env.toObject());
  if (!settings.ok) {
    console.error(settings.error);
    Deno.exit(2);
  }
  const input = await new Response(Deno.stdin.readable).text();
  const rendered = renderScaledObjectsYaml(input, settings.value);
  if (!rendered.ok) {
    for (const problem of rendered.error) console.error(problem);
    Deno.exit(1);
  }
  const nothing = nothingRenderedMessage(rendered.value);
  if (nothing !== undefined) {
    console.error(nothing.message);
    Deno.exit(nothing.error ? 1 : 0);
  }
  await writeStdout(rendered.value.yaml);
}

// Deno.stdout.write may write fewer bytes than given, for example into a full pipe.
async function writeStdout(text: string): Promise<void> {
  let bytes = new TextEncoder().encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(await Deno.stdout.write(bytes));
}

if (import.meta.main) await main();
