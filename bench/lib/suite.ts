/** Interface of a benchmark suite: the context it receives and the measurement it returns. */
import type { BenchActor, Mesh } from "./mesh.ts";
import type { ProcessRegistry } from "./processes.ts";
import type { Measurement } from "./table.ts";

export interface SuiteContext {
  /** Fewer repetitions and smaller payloads, so the whole run takes under a minute. */
  quick: boolean;
  processes: ProcessRegistry;
  /** The local stack, started on first use and shared by the suites. */
  mesh(): Promise<Mesh>;
  /** Five no-op actors `hop1`..`hop5` at concurrency 1, started on first use and shared. */
  chain(): Promise<BenchActor[]>;
  /** Writes a progress line to standard error. */
  progress(message: string): void;
}

export interface Suite {
  id: string;
  title: string;
  run(context: SuiteContext): Promise<Measurement>;
}
