import { describe, expect, it } from "vitest";
import {
  median,
  percentile,
  perSecond,
  rateFromCompletions,
  ratio,
  summarize,
  windowRates,
} from "../../bench/lib/stats.ts";

describe("percentile", () => {
  it("interpolates between closest ranks", () => {
    // Ranks 0..4 of [10, 20, 30, 40, 50]: p25 sits on rank 1, p10 between ranks 0 and 1.
    expect(percentile([50, 10, 40, 20, 30], 25)).toBe(20);
    expect(percentile([10, 20, 30, 40, 50], 10)).toBeCloseTo(14, 10);
    expect(percentile([10, 20, 30, 40, 50], 99)).toBeCloseTo(49.6, 10);
  });

  it("returns the extremes at 0 and 100", () => {
    expect(percentile([3, 1, 2], 0)).toBe(1);
    expect(percentile([3, 1, 2], 100)).toBe(3);
  });

  it("returns the only sample for any percentile", () => {
    expect(percentile([7], 0)).toBe(7);
    expect(percentile([7], 99)).toBe(7);
  });

  it("does not reorder the caller's array", () => {
    const samples = [3, 1, 2];
    percentile(samples, 50);
    expect(samples).toEqual([3, 1, 2]);
  });

  it("rejects an empty list", () => {
    expect(() => percentile([], 50)).toThrow(
      /expected at least one number, found an empty list/,
    );
  });

  it("rejects non-finite samples", () => {
    expect(() => percentile([1, Number.NaN], 50)).toThrow(
      /expected a finite number, found NaN/,
    );
    expect(() => percentile([1, Infinity], 50)).toThrow(/found Infinity/);
  });

  it("rejects percentiles outside 0 to 100", () => {
    expect(() => percentile([1], -1)).toThrow(
      /expected a number from 0 to 100, found -1/,
    );
    expect(() => percentile([1], 101)).toThrow(/found 101/);
    expect(() => percentile([1], Number.NaN)).toThrow(/found NaN/);
  });
});

describe("median", () => {
  it("takes the middle sample of an odd count", () => {
    expect(median([5, 1, 3])).toBe(3);
  });

  it("averages the two middle samples of an even count", () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe("summarize", () => {
  it("reports count, min, median, max and p99", () => {
    const samples = Array.from({ length: 101 }, (_, i) => 100 - i);
    const summary = summarize(samples);
    expect(summary.count).toBe(101);
    expect(summary.min).toBe(0);
    expect(summary.median).toBe(50);
    expect(summary.max).toBe(100);
    expect(summary.p99).toBe(99);
  });
});

describe("ratio", () => {
  it("divides value by baseline", () => {
    expect(ratio(3, 4)).toBe(0.75);
  });

  it("is undefined for a zero or non-finite baseline", () => {
    expect(ratio(3, 0)).toBeUndefined();
    expect(ratio(3, Number.NaN)).toBeUndefined();
    expect(ratio(Infinity, 2)).toBeUndefined();
  });
});

describe("perSecond", () => {
  it("turns a count over milliseconds into a rate", () => {
    expect(perSecond(50, 250)).toBe(200);
  });

  it("rejects an elapsed time that is not positive", () => {
    expect(() => perSecond(1, 0)).toThrow(
      /expected a positive number of milliseconds, found 0/,
    );
    expect(() => perSecond(1, -5)).toThrow(/found -5/);
  });
});

describe("rateFromCompletions", () => {
  it("counts the events after the first over their time span", () => {
    // Five completions over 400 ms: four intervals, ten per second.
    expect(rateFromCompletions([1400, 1000, 1100, 1300, 1200])).toBe(10);
  });

  it("rejects fewer than two completions", () => {
    expect(() => rateFromCompletions([5])).toThrow(
      /expected at least 2, found 1/,
    );
  });

  it("rejects completions at one instant", () => {
    expect(() => rateFromCompletions([5, 5])).toThrow(/found 0/);
  });
});

describe("windowRates", () => {
  it("skips the warm-up window and leaves no gap between windows", () => {
    // Windows of 2: warm-up ends at 100 ms, window 1 at 300 ms, window 2 at 350 ms.
    const completions = [50, 100, 200, 300, 320, 350];
    const rates = windowRates(completions, 2, 2);
    expect(rates).toHaveLength(2);
    expect(rates[0]).toBeCloseTo(10, 10);
    expect(rates[1]).toBeCloseTo(40, 10);
  });

  it("accepts completions in any order", () => {
    expect(windowRates([350, 50, 300, 100, 320, 200], 2, 2)).toEqual(
      windowRates([50, 100, 200, 300, 320, 350], 2, 2),
    );
  });

  it("rejects too few completions", () => {
    expect(() => windowRates([1, 2, 3], 2, 2)).toThrow(/expected 6, found 3/);
  });
});
