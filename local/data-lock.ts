// A lock file that keeps two local stacks off one data directory. Each
// stack caches the queue list in memory, so two of them on the same files
// would disagree about which queues exist.

import { open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";

/** Name of the lock file inside the data directory. */
export const LOCK_FILE = "local-stack.lock";

/**
 * Creates `<dataDir>/local-stack.lock` holding this process id and returns
 * a function that removes it. A lock left by a process that no longer
 * runs is taken over. Returns the holder's process id instead when a
 * running process holds the lock.
 */
export async function acquireDataLock(
  dataDir: string,
): Promise<{ release: () => Promise<void> } | { heldBy: number }> {
  const path = join(dataDir, LOCK_FILE);
  // Two attempts: the second runs after a stale lock was removed.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await open(path, "wx");
      await file.writeFile(String(process.pid));
      await file.close();
      return { release: () => releaseIfOwned(path) };
    } catch (error) {
      if ((error as { code?: string }).code !== "EEXIST") throw error;
    }
    const holder = Number(
      (await readFile(path, "utf8").catch(() => "")).trim(),
    );
    if (Number.isInteger(holder) && holder > 0 && isRunning(holder)) {
      return { heldBy: holder };
    }
    await rm(path, { force: true });
  }
  throw new Error(`Could not create ${path} after removing a stale lock`);
}

/**
 * Removes the lock file only while it still names this process, so a stack
 * never deletes a lock that another stack holds.
 */
async function releaseIfOwned(path: string): Promise<void> {
  const holder = (await readFile(path, "utf8").catch(() => "")).trim();
  if (holder === String(process.pid)) await rm(path, { force: true });
}

function isRunning(pid: number): boolean {
  try {
    // Signal 0 checks that the process exists without signalling it.
    process.kill(pid, 0);
    return true;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ESRCH") return false;
    // EPERM: the process exists but belongs to another user.
    if (code === "EPERM") return true;
    // Deno without --allow-run rejects the signal itself (and reading /proc
    // needs --allow-all there). The lock is then treated as held, because
    // taking over a live stack's directory would corrupt its queues.
    return true;
  }
}
