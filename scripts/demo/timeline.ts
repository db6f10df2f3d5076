/**
 * Per-envelope timings read from the sidecars' JSON log lines.
 *
 * Each actor sidecar logs `envelope_processed` and each end-actor sidecar
 * logs `envelope_stored` once per envelope, with `time` (when it finished:
 * frames sent and the message deleted), `envelope_id` and `duration_ms`
 * (from receiving the message to that point). So an envelope entered an
 * actor at `time - duration_ms` and left it at `time`, and a hop from actor
 * A to actor B lasted from A's leaving to B's entering. Pure: no I/O.
 */

/** One envelope passing through one actor. */
export interface ActorVisit {
  actor: string;
  envelopeId: string;
  /** Epoch milliseconds when the sidecar finished with the envelope. */
  leftMs: number;
  /** Milliseconds the sidecar spent on it, from receive to delete. */
  durationMs: number;
}

/** Summary of one hop (or one actor's processing), in milliseconds. */
export interface TimingStats {
  count: number;
  meanMs: number;
  maxMs: number;
}

export interface HopStats extends TimingStats {
  from: string;
  to: string;
}

const VISIT_EVENTS = new Set(["envelope_processed", "envelope_stored"]);

/** Reads one log line of an actor's sidecar; returns a visit, or undefined for other lines. */
export function parseVisit(actor: string, line: string): ActorVisit | undefined {
  if (!line.startsWith("{")) return undefined;
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!VISIT_EVENTS.has(String(record.event))) return undefined;
  const leftMs = Date.parse(String(record.time));
  const { envelope_id: envelopeId, duration_ms: durationMs } = record;
  if (typeof envelopeId !== "string" || typeof durationMs !== "number" || Number.isNaN(leftMs)) return undefined;
  return { actor, envelopeId, leftMs, durationMs };
}

/** Visits collected from all sidecars, indexed by actor and envelope id. */
export class Timeline {
  #visits = new Map<string, Map<string, ActorVisit>>();

  add(visit: ActorVisit): void {
    let byId = this.#visits.get(visit.actor);
    if (byId === undefined) {
      byId = new Map();
      this.#visits.set(visit.actor, byId);
    }
    // A redelivered message is processed again; the last visit is the one that counted.
    byId.set(visit.envelopeId, visit);
  }

  /** Returns the visit of an envelope at an actor, or its parent's visit there (the actor that fanned it out). */
  visit(actor: string, envelopeId: string, parentId?: string): ActorVisit | undefined {
    const byId = this.#visits.get(actor);
    return byId?.get(envelopeId) ?? (parentId === undefined ? undefined : byId?.get(parentId));
  }

  /** Processing time per actor, over every visit seen. */
  actorStats(): Map<string, TimingStats> {
    const stats = new Map<string, TimingStats>();
    for (const [actor, byId] of this.#visits) {
      stats.set(actor, summarize([...byId.values()].map((visit) => visit.durationMs)));
    }
    return stats;
  }

  /**
   * Hop times along the given paths: for each envelope, each consecutive
   * pair of actors on its path. A hop whose visits are missing is skipped.
   * Hops are rounded up to 0 ms when B started before A logged its finish,
   * because A's finish time includes deleting the message after sending.
   */
  hopStats(paths: { envelopeId: string; parentId?: string; actors: string[] }[]): HopStats[] {
    const samples = new Map<string, number[]>();
    for (const path of paths) {
      for (let index = 1; index < path.actors.length; index++) {
        const from = this.visit(path.actors[index - 1], path.envelopeId, path.parentId);
        const to = this.visit(path.actors[index], path.envelopeId, path.parentId);
        if (from === undefined || to === undefined) continue;
        const key = `${from.actor}\u0000${to.actor}`;
        const hop = Math.max(0, to.leftMs - to.durationMs - from.leftMs);
        const values = samples.get(key) ?? [];
        values.push(hop);
        samples.set(key, values);
      }
    }
    return [...samples.entries()].map(([key, values]) => {
      const [from, to] = key.split("\u0000");
      return { from, to, ...summarize(values) };
    });
  }
}

function summarize(values: number[]): TimingStats {
  if (values.length === 0) return { count: 0, meanMs: 0, maxMs: 0 };
  const total = values.reduce((sum, value) => sum + value, 0);
  return { count: values.length, meanMs: round(total / values.length), maxMs: round(Math.max(...values)) };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
