/**
 * Summary statistics for benchmark samples. Pure functions that run on
 * Deno and on Node (the tests), with no I/O.
 */

/** Summary of a set of samples; every figure is in the samples' unit. */
export interface Summary {
  count: number;
  min: number;
  median: number;
  max: number;
  p99: number;
}

/**
 * Returns the `p`-th percentile (0 to 100) of `samples` by linear
 * interpolation between the closest ranks, the method of NumPy's default
 * and of spreadsheets' PERCENTILE.INC. With 30 samples the 99th percentile
 * lies between the two largest, so it is close to the maximum.
 * Throws a RangeError for an empty list, a non-finite sample or `p`
 * outside 0 to 100.
 */
export function percentile(samples: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) {
    throw new RangeError(
      `Invalid percentile: expected a number from 0 to 100, found ${p}`,
    );
  }
  const sorted = sortedCopy(samples);
  const rank = (p / 100) * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (rank - lower);
}

/** Returns the median (50th percentile) of `samples`; throws like {@link percentile}. */
export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

/** Summarises `samples`; throws like {@link percentile}. */
export function summarize(samples: readonly number[]): Summary {
  const sorted = sortedCopy(samples);
  return {
    count: sorted.length,
    min: sorted[0],
    median: percentile(sorted, 50),
    max: sorted[sorted.length - 1],
    p99: percentile(sorted, 99),
  };
}

/**
 * Returns `value / baseline`, or undefined when the baseline is zero or
 * either figure is not finite, so a table shows "n/a" instead of Infinity.
 */
export function ratio(value: number, baseline: number): number | undefined {
  if (!Number.isFinite(value) || !Number.isFinite(baseline) || baseline === 0) {
    return undefined;
  }
  return value / baseline;
}

/**
 * Returns the rate of `count` events spread over `elapsedMs` milliseconds,
 * in events per second; throws a RangeError unless `elapsedMs` is positive.
 */
export function perSecond(count: number, elapsedMs: number): number {
  if (!(elapsedMs > 0)) {
    throw new RangeError(
      `Invalid elapsed time: expected a positive number of milliseconds, found ${elapsedMs}`,
    );
  }
  return (count * 1000) / elapsedMs;
}

/**
 * Returns the rate of events from their completion times (milliseconds,
 * any order): the events after the first, divided by the time from the
 * first to the last. Counting from the first completion leaves out the
 * time before work started. Throws a RangeError for fewer than two events
 * or when they all completed at the same instant.
 */
export function rateFromCompletions(timesMs: readonly number[]): number {
  if (timesMs.length < 2) {
    throw new RangeError(
      `Too few completions to compute a rate: expected at least 2, found ${timesMs.length}`,
    );
  }
  const sorted = sortedCopy(timesMs);
  return perSecond(sorted.length - 1, sorted[sorted.length - 1] - sorted[0]);
}

/**
 * Rates of consecutive windows of `size` completions after the first
 * (warm-up) window: window k runs from the last completion of window k-1
 * to its own last completion, so no time falls between two windows.
 */
export function windowRates(
  completionsMs: readonly number[],
  size: number,
  windows: number,
): number[] {
  const sorted = sortedCopy(completionsMs);
  if (sorted.length < size * (windows + 1)) {
    throw new RangeError(
      `Too few completions: expected ${
        size * (windows + 1)
      }, found ${sorted.length}`,
    );
  }
  const rates: number[] = [];
  for (let window = 1; window <= windows; window++) {
    rates.push(
      perSecond(
        size,
        sorted[(window + 1) * size - 1] - sorted[window * size - 1],
      ),
    );
  }
  return rates;
}

function sortedCopy(samples: readonly number[]): number[] {
  if (samples.length === 0) {
    throw new RangeError(
      "No samples: expected at least one number, found an empty list",
    );
  }
  for (const sample of samples) {
    if (!Number.isFinite(sample)) {
      throw new RangeError(
        `Invalid sample: expected a finite number, found ${sample}`,
      );
    }
  }
  return [...samples].sort((a, b) => a - b);
}
