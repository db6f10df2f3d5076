import { describe, expect, it } from "vitest";
import { DEFAULT_OPTIONS, parseOptions } from "../../scripts/demo/options.ts";

describe("parseOptions", () => {
  it("returns defaults without arguments", () => {
    expect(parseOptions([])).toEqual({ ok: true, value: DEFAULT_OPTIONS });
  });

  it("reads every option", () => {
    const parsed = parseOptions([
      "--books",
      "/tmp/books",
      "--broken=/tmp/x.bin",
      "--concurrency",
      "4",
      "--timeout=30",
      "--keep",
      "--json",
    ]);
    expect(parsed).toEqual({
      ok: true,
      value: {
        ...DEFAULT_OPTIONS,
        booksDir: "/tmp/books",
        brokenInput: "/tmp/x.bin",
        concurrency: 4,
        timeoutSeconds: 30,
        keep: true,
        json: true,
      },
    });
  });

  it("reads help", () => {
    expect(parseOptions(["-h"])).toMatchObject({ ok: true, value: { help: true } });
  });

  const rejected: [string, string[], string][] = [
    ["unknown option", ["--fast"], 'Unknown option "--fast"'],
    ["missing value", ["--books"], "Missing value for --books: expected --books VALUE"],
    ["option as value", ["--books", "--json"], "Missing value for --books"],
    ["empty path", ["--books="], "Invalid --books: expected a path, found an empty string"],
    ["zero concurrency", ["--concurrency", "0"], "Invalid --concurrency: expected an integer from 1 to 64, found 0"],
    ["huge concurrency", ["--concurrency", "65"], "expected an integer from 1 to 64, found 65"],
    ["fractional timeout", ["--timeout", "1.5"], 'Invalid --timeout: expected an integer from 1 to 3600, found "1.5"'],
    ["flag with value", ["--keep=yes"], 'Invalid --keep: it takes no value, found "yes"'],
  ];
  for (const [name, args, message] of rejected) {
    it(`rejects ${name}`, () => {
      const parsed = parseOptions(args);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.error).toContain(message);
    });
  }
});
