/**
 * The `copy-runtime DEST` subcommand: the init container of an actor pod
 * copies the Python runtime from the sidecar image into a shared emptyDir.
 */
import { chmod, copyFile, mkdir } from "node:fs/promises";
import { dirname } from "node:path";

/** Path of the runtime file in the sidecar image, unless ASYA_RUNTIME_SOURCE overrides it. */
export const DEFAULT_RUNTIME_SOURCE = "/usr/share/asya/asya_runtime.py";

/** Copies `source` to `dest`, creating the destination folder, and makes it world-readable. */
export async function copyRuntime(source: string, dest: string): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  await copyFile(source, dest);
  // The handler container may run as another user than the init container.
  await chmod(dest, 0o644);
}
