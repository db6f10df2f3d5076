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
 * `default`. Exits 1 with one line per problem when an annotation is bad.
 */
import { parseAllDocuments, stringify } from "yaml";
import { parseActorAnnotations, selectAsyaAnnotations } from "../shared/annotations.ts";
import { actorQueueName } from "../shared/queues.ts";
import { err, ok, type Result } from "../shared/result.ts";
import { renderScaledObject, type ScalingSettings } from "../shared/scaled-object.ts";

// The parts of a manifest that render reads; YAML input may hold anything.
interface ManifestObject {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown; namespace?: string; annotations?: Record<string, string> };
  spec?: { template?: { metadata?: { annotations?: Record<string, string> } } };
  items?: unknown;
}

/**
 * Renders the ScaledObjects of every actor workload in `input` as one
 * multi-document YAML text. The queue URL is the bare queue name, which KEDA
 * resolves, because render has no AWS account to look the URL up in. The
 * objects carry no owner reference: the GitOps tool owns them.
 */
export function renderScaledObjectsYaml(input: string, settings: ScalingSettings): Result<string, string[]> {
  const problems: string[] = [];
  const outputs: string[] = [];

  const objects: ManifestObject[] = [];
  for (const [index, document] of parseAllDocuments(input).entries()) {
    if (document.errors.length > 0) {
      problems.push(`Invalid YAML in document ${index + 1}: ${document.errors[0].message.split("\n")[0]}`);
      continue;
    }
    const value = document.toJS() as ManifestObject | null | undefined;
    if (value === null || value === undefined || typeof value !== "object") continue;
    if (value.kind === "List" && Array.isArray(value.items)) objects.push(...value.items.filter(Boolean));
    else objects.push(value);
  }

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
    if (config === undefined || config.scaling === "none") continue;
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
  return ok(outputs.join("---\n"));
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
  return ok({
    awsRegion: env.ASYA_AWS_REGION || "us-east-1",
    sqsEndpoint: env.ASYA_SQS_ENDPOINT || undefined,
    authKind,
    authName: env.ASYA_KEDA_AUTH_NAME || "asya-aws",
  });
}

async function main(): Promise<void> {
  if (Deno.args.length > 0) {
    console.error(`Unexpected arguments ${JSON.stringify(Deno.args)}: render reads YAML on stdin and takes no arguments`);
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
  await Deno.stdout.write(new TextEncoder().encode(rendered.value));
}

if (import.meta.main) await main();
