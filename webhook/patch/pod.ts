/**
 * Builds the JSON Patch that injects an actor into a pod: pod in, patch
 * operations out. Pure; the admission handler decides what to do with the
 * result.
 */
import {
  type ActorConfig,
  INJECTED_ANNOTATION,
  parseActorAnnotations,
} from "../../shared/annotations.ts";
import { err, ok, type Result } from "../../shared/result.ts";
import { formatDuration } from "../../shared/units.ts";
import { childPointer, type PatchOperation } from "./json-patch.ts";

/** Names fixed by the install manifests and the sidecar; see docs/reference/webhook.md. */
export const SIDECAR_NAME = "asya-sidecar";
export const INSTALL_RUNTIME_NAME = "asya-install-runtime";
export const RUNTIME_VOLUME = "asya-runtime";
export const SOCKET_VOLUME = "asya-socket";
export const RUNTIME_DIR = "/opt/asya";
export const RUNTIME_PATH = "/opt/asya/asya_runtime.py";
export const SOCKET_DIR = "/var/run/asya";
export const SIDECAR_PORT = 8090;
export const SIDECAR_PORT_NAME = "metrics";
export const SIDECAR_BINARY = "/usr/local/bin/asya-sidecar";

/**
 * Seconds added to the actor timeout for the termination grace period, so
 * a call that started just before SIGTERM can finish and be acknowledged.
 */
export const GRACE_MARGIN_SECONDS = 30;

/** Longest SQS visibility timeout in seconds (12 hours). */
const MAX_VISIBILITY_TIMEOUT_SECONDS = 43_200;

/** Cluster-wide injection settings, from the webhook's environment. */
export interface InjectionSettings {
  sidecarImage: string;
  sidecarPullPolicy: "Always" | "IfNotPresent" | "Never";
  /** Inject the sidecar as an init container with restartPolicy Always (Kubernetes >= 1.29). */
  nativeSidecar: boolean;
  awsRegion: string;
  sqsEndpoint?: string;
  s3Endpoint?: string;
  s3Bucket: string;
  /** Default claim-check threshold in bytes, used when the annotation is absent. */
  claimCheckThresholdBytes: number;
  /** Secret the sidecar reads all its keys from as env (`envFrom`), such as static AWS credentials. */
  sidecarEnvSecret?: string;
  /** Value written to `asya.sh/injected`. */
  version: string;
}

// Loose shapes of the parts of a pod that injection reads. Everything else
// in the object passes through untouched.
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}
interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}
interface Container {
  name: string;
  command?: string[];
  env?: EnvVar[];
  volumeMounts?: VolumeMount[];
  ports?: Array<{ containerPort?: number; name?: string }>;
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Array<{ name: string }>;
  terminationGracePeriodSeconds?: number;
  hostNetwork?: boolean;
}
/** The parts of a pod (or pod template) that injection reads. */
export interface PodLike {
  metadata?: { annotations?: Record<string, string> };
  spec?: PodSpec;
}

/** Result of planning an injection. */
export interface PodPlan {
  /** Parsed config; undefined when the pod is not an actor or is already injected. */
  config: ActorConfig | undefined;
  /** Operations to apply; empty when nothing changes. */
  operations: PatchOperation[];
  warnings: string[];
}

/**
 * Plans the injection of one pod. `base` is the JSON Pointer of the pod
 * inside the admitted object: `""` for a Pod, `/spec/template` for a
 * Deployment's template. Returns the patch, or the reasons to deny the pod
 * (bad annotations, missing handler, name or port clashes).
 *
 * A pod without `asya.sh/actor`, or already carrying `asya.sh/injected`,
 * gets an empty patch.
 */
export function planPodInjection(
  pod: PodLike,
  namespace: string,
  settings: InjectionSettings,
  base = "",
): Result<PodPlan, string[]> {
  const annotations = pod.metadata?.annotations;
  if (annotations !== undefined && INJECTED_ANNOTATION in annotations) {
    return ok({ config: undefined, operations: [], warnings: [] });
  }

  const parsed = parseActorAnnotations(annotations, { namespace });
  if (!parsed.ok) return err(parsed.error.map((error) => error.message));
  const { config, warnings } = parsed.value;
  if (config === undefined) return ok({ config: undefined, operations: [], warnings });

  const spec = pod.spec;
  if (spec === undefined || !Array.isArray(spec.containers) || spec.containers.length === 0) {
    return err([`Invalid pod: expected spec.containers to be a non-empty array, found ${describe(spec?.containers)}`]);
  }

  const allContainers = [...spec.containers, ...(Array.isArray(spec.initContainers) ? spec.initContainers : [])];
  const malformed = allContainers.find((container) => typeof container?.name !== "string");
  if (malformed !== undefined) {
    return err([`Invalid pod: expected every container to be an object with a name, found ${JSON.stringify(malformed)}`]);
  }

  const handlerIndex = findHandlerContainer(spec.containers, config);
  if (!handlerIndex.ok) return err([handlerIndex.error]);
  const handlerContainer = spec.containers[handlerIndex.value];

  const problems = findClashes(spec, handlerContainer);
  if (config.handler === undefined && !hasEnv(handlerContainer, "ASYA_HANDLER")) {
    problems.push(
      `Missing handler: set annotation asya.sh/handler or env ASYA_HANDLER in container "${handlerContainer.name}"`,
    );
  }
  if (problems.length > 0) return err(problems);

  const operations: PatchOperation[] = [];
  const specPath = childPointer(base, "spec");
  addInjectedMarker(operations, base, settings.version);
  appendItems(operations, specPath, "volumes", spec.volumes, [
    { name: SOCKET_VOLUME, emptyDir: {} },
    { name: RUNTIME_VOLUME, emptyDir: {} },
  ]);

  const sidecar = sidecarContainer(config, settings);
  const initContainers: unknown[] = [installRuntimeContainer(settings)];
  if (settings.nativeSidecar) initContainers.push({ ...sidecar, restartPolicy: "Always" });
  appendItems(operations, specPath, "initContainers", spec.initContainers, initContainers);

  rewriteHandlerContainer(operations, childPointer(specPath, "containers", handlerIndex.value), handlerContainer, config);
  if (!settings.nativeSidecar) appendItems(operations, specPath, "containers", spec.containers, [sidecar]);

  const graceSeconds = Math.ceil(config.timeoutMs / 1_000) + GRACE_MARGIN_SECONDS;
  if (spec.terminationGracePeriodSeconds === undefined || spec.terminationGracePeriodSeconds < graceSeconds) {
    const op = spec.terminationGracePeriodSeconds === undefined ? "add" : "replace";
    operations.push({ op, path: childPointer(specPath, "terminationGracePeriodSeconds"), value: graceSeconds });
  }

  return ok({ config, operations, warnings });
}

function findHandlerContainer(containers: Container[], config: ActorConfig): Result<number, string> {
  if (config.container === undefined) return ok(0);
  const index = containers.findIndex((container) => container.name === config.container);
  if (index >= 0) return ok(index);
  const names = containers.map((container) => container.name).join(", ");
  return err(
    `Invalid annotation asya.sh/container: expected the name of a container of the pod (${names}), ` +
      `found ${JSON.stringify(config.container)}`,
  );
}

// Every name, mount path and port the injection adds must be free, because
// Kubernetes rejects duplicates and a silent overwrite would break the user's pod.
function findClashes(spec: PodSpec, handlerContainer: Container): string[] {
  const problems: string[] = [];
  if (spec.hostNetwork === true) {
    problems.push(
      `Pod uses hostNetwork: the sidecar's port ${SIDECAR_PORT} would bind on the node and clash between pods; ` +
        "run the actor without hostNetwork",
    );
  }

  for (const volume of spec.volumes ?? []) {
    if (volume.name === SOCKET_VOLUME || volume.name === RUNTIME_VOLUME) {
      problems.push(`Volume name "${volume.name}" is already used in the pod; it is reserved for the injected runtime`);
    }
  }

  const allContainers = [...(spec.initContainers ?? []), ...spec.containers];
  for (const container of allContainers) {
    if (container.name === SIDECAR_NAME || container.name === INSTALL_RUNTIME_NAME) {
      problems.push(`Container name "${container.name}" is already used in the pod; it is reserved for the injection`);
    }
    for (const port of container.ports ?? []) {
      if (port.containerPort === SIDECAR_PORT) {
        problems.push(
          `Container "${container.name}" uses port ${SIDECAR_PORT}, which the sidecar needs for /healthz, /readyz and /metrics`,
        );
      }
    }
  }

  for (const mount of handlerContainer.volumeMounts ?? []) {
    if (mount.mountPath === SOCKET_DIR || mount.mountPath === RUNTIME_DIR) {
      problems.push(
        `Container "${handlerContainer.name}" already mounts volume "${mount.name}" at ${mount.mountPath}, ` +
          "where the runtime is injected",
      );
    }
  }
  return problems;
}

// The annotation map exists, because the actor annotation was read from it.
function addInjectedMarker(operations: PatchOperation[], base: string, version: string): void {
  operations.push({ op: "add", path: childPointer(base, "metadata", "annotations", INJECTED_ANNOTATION), value: version });
}

// An absent array is created whole: RFC 6902 cannot append to a missing one.
function appendItems(
  operations: PatchOperation[],
  parent: string,
  field: string,
  existing: unknown[] | undefined,
  items: unknown[],
): void {
  if (existing === undefined) {
    operations.push({ op: "add", path: childPointer(parent, field), value: items });
    return;
  }
  for (const item of items) operations.push({ op: "add", path: `${childPointer(parent, field)}/-`, value: item });
}

function rewriteHandlerContainer(
  operations: PatchOperation[],
  path: string,
  container: Container,
  config: ActorConfig,
): void {
  const command = [config.python, RUNTIME_PATH];
  operations.push({ op: container.command === undefined ? "add" : "replace", path: `${path}/command`, value: command });

  const env: EnvVar[] = [
    { name: "ASYA_HANDLER_MODE", value: config.handlerMode },
    { name: "ASYA_SOCKET_DIR", value: SOCKET_DIR },
  ];
  // Without the annotation the container's own ASYA_HANDLER stays as it is.
  if (config.handler !== undefined) env.unshift({ name: "ASYA_HANDLER", value: config.handler });
  setEnv(operations, path, container.env, env);

  appendItems(operations, path, "volumeMounts", container.volumeMounts, [
    { name: SOCKET_VOLUME, mountPath: SOCKET_DIR },
    { name: RUNTIME_VOLUME, mountPath: RUNTIME_DIR, readOnly: true },
  ]);
}

// Annotations win over env values the user set, so an existing variable of
// the same name is replaced whole (a valueFrom beside a value is invalid).
function setEnv(operations: PatchOperation[], containerPath: string, existing: EnvVar[] | undefined, env: EnvVar[]): void {
  if (existing === undefined) {
    operations.push({ op: "add", path: `${containerPath}/env`, value: env });
    return;
  }
  for (const variable of env) {
    const index = existing.findIndex((candidate) => candidate.name === variable.name);
    if (index >= 0) operations.push({ op: "replace", path: `${containerPath}/env/${index}`, value: variable });
    else operations.push({ op: "add", path: `${containerPath}/env/-`, value: variable });
  }
}

// A value from a ConfigMap or Secret cannot be read at admission, so a
// variable with valueFrom counts as set.
function hasEnv(container: Container, name: string): boolean {
  const variable = container.env?.find((candidate) => candidate.name === name);
  return variable !== undefined && (variable.value !== undefined || variable.valueFrom !== undefined);
}

const RESTRICTED_SECURITY_CONTEXT = {
  runAsNonRoot: true,
  runAsUser: 65532,
  runAsGroup: 65532,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

function installRuntimeContainer(settings: InjectionSettings): Record<string, unknown> {
  return {
    name: INSTALL_RUNTIME_NAME,
    image: settings.sidecarImage,
    imagePullPolicy: settings.sidecarPullPolicy,
    command: [SIDECAR_BINARY, "copy-runtime", RUNTIME_PATH],
    volumeMounts: [{ name: RUNTIME_VOLUME, mountPath: RUNTIME_DIR }],
    resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
    securityContext: RESTRICTED_SECURITY_CONTEXT,
  };
}

function sidecarContainer(config: ActorConfig, settings: InjectionSettings): Record<string, unknown> {
  const timeoutSeconds = Math.ceil(config.timeoutMs / 1_000);
  const env: Array<Record<string, unknown>> = [
    { name: "ASYA_ACTOR_NAME", value: config.actor },
    { name: "ASYA_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
    { name: "ASYA_ROLE", value: "actor" },
    { name: "ASYA_AWS_REGION", value: settings.awsRegion },
  ];
  if (settings.sqsEndpoint) env.push({ name: "ASYA_SQS_ENDPOINT", value: settings.sqsEndpoint });
  if (settings.s3Endpoint) env.push({ name: "ASYA_S3_ENDPOINT", value: settings.s3Endpoint });
  env.push({ name: "ASYA_S3_BUCKET", value: settings.s3Bucket });
  env.push(
    {
      name: "ASYA_CLAIM_CHECK_THRESHOLD",
      value: String(config.claimCheckThresholdBytes ?? settings.claimCheckThresholdBytes),
    },
    { name: "ASYA_SOCKET_DIR", value: SOCKET_DIR },
    { name: "ASYA_CONCURRENCY", value: String(config.concurrency) },
    { name: "ASYA_RESILIENCY_ACTOR_TIMEOUT", value: formatDuration(config.timeoutMs) },
    // A message stays invisible for the whole call plus the grace margin,
    // so no other pod receives it while this one still works on it.
    {
      name: "ASYA_SQS_VISIBILITY_TIMEOUT",
      value: String(Math.min(timeoutSeconds + GRACE_MARGIN_SECONDS, MAX_VISIBILITY_TIMEOUT_SECONDS)),
    },
    { name: "ASYA_HTTP_PORT", value: String(SIDECAR_PORT) },
  );

  const container: Record<string, unknown> = {
    name: SIDECAR_NAME,
    image: settings.sidecarImage,
    imagePullPolicy: settings.sidecarPullPolicy,
    command: [SIDECAR_BINARY],
    env,
    ports: [{ name: SIDECAR_PORT_NAME, containerPort: SIDECAR_PORT, protocol: "TCP" }],
    readinessProbe: { httpGet: { path: "/readyz", port: SIDECAR_PORT_NAME }, periodSeconds: 5, failureThreshold: 3 },
    livenessProbe: { httpGet: { path: "/healthz", port: SIDECAR_PORT_NAME }, periodSeconds: 10, failureThreshold: 6 },
    volumeMounts: [{ name: SOCKET_VOLUME, mountPath: SOCKET_DIR }],
    resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
    securityContext: RESTRICTED_SECURITY_CONTEXT,
  };
  // Kubernetes gives `env` precedence over `envFrom`, so a key of the
  // Secret cannot override the ASYA_* values set above.
  if (settings.sidecarEnvSecret !== undefined) {
    container.envFrom = [{ secretRef: { name: settings.sidecarEnvSecret } }];
  }
  return container;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "an empty array";
  return typeof value;
}
