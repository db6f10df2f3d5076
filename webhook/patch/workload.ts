/**
 * Builds the JSON Patch for a Deployment or StatefulSet: copies the
 * workload's `asya.sh/*` annotations into its pod template, so the rollout
 * creates pods that the pod admission injects. Pure.
 */
import {
  type ActorConfig,
  ANNOTATION_PREFIX,
  INJECTED_ANNOTATION,
  parseActorAnnotations,
  selectAsyaAnnotations,
} from "../../shared/annotations.ts";
import { err, ok, type Result } from "../../shared/result.ts";
import { childPointer, type PatchOperation } from "./json-patch.ts";
import { type InjectionSettings, planPodInjection, type PodLike } from "./pod.ts";

/** The parts of a Deployment or StatefulSet that the webhook reads. */
export interface WorkloadLike {
  metadata?: { name?: string; namespace?: string; uid?: string; annotations?: Record<string, string> };
  spec?: { template?: PodLike };
}

/** Result of planning a workload admission. */
export interface WorkloadPlan {
  /** Actor config of the workload after the patch; undefined when it is not an actor. */
  config: ActorConfig | undefined;
  operations: PatchOperation[];
  warnings: string[];
}

const TEMPLATE = "/spec/template";

/**
 * Plans the admission of a workload. When the workload or its template has
 * `asya.sh/actor`, the workload's own `asya.sh/*` annotations are copied
 * into the template and win over the template's; otherwise nothing is
 * copied. On update, keys that were removed from the workload are removed
 * from the template too when the template still contains the copied
 * value, so `kubectl annotate deployment/x asya.sh/actor-` turns the actor
 * off.
 *
 * The resulting template is checked as a pod would be (annotations,
 * handler, name clashes), so a bad workload is denied at `kubectl apply`
 * instead of at pod creation.
 */
export function planWorkloadAdmission(
  workload: WorkloadLike,
  oldWorkload: WorkloadLike | undefined,
  namespace: string,
  settings: InjectionSettings,
): Result<WorkloadPlan, string[]> {
  const own = withoutMarker(selectAsyaAnnotations(workload.metadata?.annotations));
  const previous = withoutMarker(selectAsyaAnnotations(oldWorkload?.metadata?.annotations));
  const template = workload.spec?.template;
  const templateAnnotations = template?.metadata?.annotations;

  // Keys removed from the workload leave the template when it still holds the copied value.
  const kept: Record<string, string> = { ...(templateAnnotations ?? {}) };
  for (const [key, value] of Object.entries(previous)) {
    if (!(key in own) && kept[key] === value) delete kept[key];
  }
  // A marker copied into a template from an exported pod would stop every
  // new pod from being injected, so it is dropped.
  const desired: Record<string, string> = { ...withoutMarker(kept), ...own };

  const parsed = parseActorAnnotations(desired, { namespace });
  if (!parsed.ok) return err(parsed.error.map((error) => error.message));
  const warnings = [...parsed.value.warnings];
  const config = parsed.value.config;
  if (config === undefined) {
    // Not an actor, so nothing is copied. Removals still apply, so that
    // removing asya.sh/actor from the workload removes it from the template.
    return ok({ config, operations: diffTemplateAnnotations(template, templateAnnotations ?? {}, kept), warnings });
  }
  const operations = diffTemplateAnnotations(template, templateAnnotations ?? {}, desired);

  if (template?.spec === undefined) {
    return err([`Invalid workload: expected spec.template.spec with the pod's containers, found nothing`]);
  }

  // Checks the future pods now; the template itself is not injected.
  const podCheck = planPodInjection(
    { metadata: { annotations: withoutMarker(desired) }, spec: template.spec },
    namespace,
    settings,
    TEMPLATE,
  );
  if (!podCheck.ok) return err(podCheck.error);
  return ok({ config, operations, warnings });
}

function diffTemplateAnnotations(
  template: PodLike | undefined,
  current: Record<string, string>,
  desired: Record<string, string>,
): PatchOperation[] {
  const operations: PatchOperation[] = [];
  const added = Object.entries(desired).filter(([key, value]) => current[key] !== value);
  const removed = Object.keys(current).filter((key) => key.startsWith(ANNOTATION_PREFIX) && !(key in desired));
  if (added.length === 0 && removed.length === 0) return operations;

  // Absent maps are created whole, because a JSON Patch cannot add a key to a missing map.
  if (template?.metadata === undefined) {
    operations.push({ op: "add", path: childPointer(TEMPLATE, "metadata"), value: { annotations: desired } });
    return operations;
  }
  if (template.metadata.annotations === undefined) {
    operations.push({ op: "add", path: childPointer(TEMPLATE, "metadata", "annotations"), value: desired });
    return operations;
  }

  for (const [key, value] of added) {
    operations.push({ op: "add", path: childPointer(TEMPLATE, "metadata", "annotations", key), value });
  }
  for (const key of removed) {
    operations.push({ op: "remove", path: childPointer(TEMPLATE, "metadata", "annotations", key) });
  }
  return operations;
}

function withoutMarker(annotations: Record<string, string>): Record<string, string> {
  const copy = { ...annotations };
  delete copy[INJECTED_ANNOTATION];
  return copy;
}
