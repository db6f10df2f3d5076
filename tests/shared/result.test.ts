import { describe, expect, it } from "vitest";
import { err, ok, type Result } from "../../shared/result.ts";

describe("Result", () => {
  it("ok wraps a value", () => {
    const result: Result<number, string> = ok(3);
    expect(result).toEqual({ ok: true, value: 3 });
  });

  it("err wraps an error", () => {
    const result: Result<number, string> = err("bad");
    expect(result).toEqual({ ok: false, error: "bad" });
  });
});
