/**
 * Renders the KEDA ScaledObject of an actor workload. The webhook applies
 * it and `deno task render` prints it for GitOps, so both produce the same
 * object from the same annotations.
 *
 * Pure and runtime-neutral: runs unchanged on Deno and Node.
 */
import type { ActorConfig } from "./annotations.ts";
import { err, ok, type Result } from "./result.ts";

/** Label that marks objects the webhook manages; deletion checks it first. */
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";

/** Value of `MANAGED_BY_LABEL` on objects the webhook manages. */
export const MANAGED_BY_VALUE = "asya-webhook";

/** Label carrying the actor name on every object the webhook creates. */
export const ACTOR_LABEL = "asya.sh/actor";

// AWS region names are a two-letter area, one or more lowercase words and a
// number: us-east-1, eu-central-2, us-gov-west-1, cn-north-1, us-isob-east-1.
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$/;

/**
 * Checks the format of an AWS region name such as `us-east-1`. Whether the
 * region exists is not checked, so new regions need no update. The error
 * string describes the accepted form.
 */
export function parseAwsRegion(text: string): Result<string, string> {
  return AWS_REGION.test(text)
    ? ok(text)
    : err("an AWS region of lowercase letters, digits and hyphens such as us-east-1, eu-central-2 or us-gov-west-1");
}

/** The workload a ScaledObject scales and is owned by. */
export interface ScaleTarget {
  apiVersion: string;
  kind: "Deployment" | "StatefulSet";
  name: string;
  namespace: string;
  /** Owner uid; without it the ScaledObject gets no owner reference (render output). */
  uid?: string;
}

/** Cluster-wide settings that the annotations do not carry. */
export interface ScalingSettings {
  awsRegion: string;
  /** SQS endpoint override (local clusters); unset means AWS. */
  sqsEndpoint?: string;
  /** Kind of the KEDA authentication object, default ClusterTriggerAuthentication. */
  authKind: "TriggerAuthentication" | "ClusterTriggerAuthentication";
  /** Name of the KEDA authentication object, for example `asya-aws`. */
  authName: string;
}

/** Rendered ScaledObject, shaped like `keda.sh/v1alpha1` ScaledObject. */
export interface ScaledObject {
  apiVersion: "keda.sh/v1alpha1";
  kind: "ScaledObject";
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    ownerReferences?: Array<{
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller: boolean;
      blockOwnerDeletion: boolean;
    }>;
  };
  spec: {
    scaleTargetRef: { apiVersion: string; kind: string; name: string };
    minReplicaCount: number;
    maxReplicaCount: number;
    pollingInterval: number;
    cooldownPeriod: number;
    triggers: Array<{
      type: "aws-sqs-queue";
      name: string;
      authenticationRef: { kind: string; name: string };
      metadata: Record<string, string>;
    }>;
  };
}

/**
 * Renders the ScaledObject for an actor workload. The object has the
 * workload's name and namespace, scales it between the annotated bounds on
 * the `aws-sqs-queue` trigger. In-flight messages count toward the target,
 * so the actor does not scale down while messages are still processed.
 *
 * `queueUrl` is the queue URL when known; KEDA also accepts the bare queue
 * name, which render uses because it cannot look the URL up. Every trigger
 * metadata value is a string, as KEDA requires.
 */
export function renderScaledObject(
  target: ScaleTarget,
  config: ActorConfig,
  settings: ScalingSettings,
  queueUrl: string,
): ScaledObject {
  const metadata: Record<string, string> = {
    queueURL: queueUrl,
    queueLength: String(config.queueLength),
    activationQueueLength: String(config.activationQueueLength),
    awsRegion: settings.awsRegion,
    scaleOnInFlight: "true",
  };
  if (settings.sqsEndpoint !== undefined && settings.sqsEndpoint !== "") {
    metadata.awsEndpoint = settings.sqsEndpoint;
  }

  const scaledObject: ScaledObject = {
    apiVersion: "keda.sh/v1alpha1",
    kind: "ScaledObject",
    metadata: {
      name: target.name,
      namespace: target.namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [ACTOR_LABEL]: config.actor },
    },
    spec: {
      scaleTargetRef: { apiVersion: target.apiVersion, kind: target.kind, name: target.name },
      minReplicaCount: config.minReplicas,
      maxReplicaCount: config.maxReplicas,
      pollingInterval: config.pollingIntervalSeconds,
      cooldownPeriod: config.cooldownPeriodSeconds,
      triggers: [{
        type: "aws-sqs-queue",
        name: "actor-queue",
        authenticationRef: { kind: settings.authKind, name: settings.authName },
        metadata,
      }],
    },
  };

  // The owner reference makes the garbage collector delete the ScaledObject
  // with its workload. It is not a controller reference because the
  // workload's controller does not manage ScaledObjects.
  if (target.uid !== undefined) {
    scaledObject.metadata.ownerReferences = [{
      apiVersion: target.apiVersion,
      kind: target.kind,
      name: target.name,
      uid: target.uid,
      controller: false,
      blockOwnerDeletion: false,
    }];
  }
  return scaledObject;
}
