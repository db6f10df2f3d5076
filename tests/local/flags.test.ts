import { describe, expect, test } from "vitest";
import { parseFlags } from "../../local/flags.ts";

describe("parseFlags", () => {
  test("defaults match the documented command", () => {
    expect(parseFlags([])).toEqual({
      ok: true,
      value: {
        sqsPort: 4566,
        s3Port: 4569,
        dataDir: ".asya/local",
        help: false,
      },
    });
  });

  test("accepts spaced and equals forms after --", () => {
    const parsed = parseFlags([
      "--",
      "--sqs-port",
      "0",
      "--s3-port=0",
      "--data-dir=/tmp/x",
    ]);
    expect(parsed).toEqual({
      ok: true,
      value: { sqsPort: 0, s3Port: 0, dataDir: "/tmp/x", help: false },
    });
  });

  test.each([
    [["--sqs-port"], "Missing value for --sqs-port"],
    [["--data-dir", "--s3-port"], "Missing value for --data-dir"],
    [
      ["--sqs-port", "65536"],
      'Invalid value for --sqs-port: expected a port number from 0 to 65535, found "65536"',
    ],
    [
      ["--sqs-port", "-1"],
      'Invalid value for --sqs-port: expected a port number from 0 to 65535, found "-1"',
    ],
    [
      ["--verbose"],
      "Unknown flag --verbose: expected --sqs-port, --s3-port, --data-dir or --help",
    ],
  ])("rejects %j", (args, message) => {
    expect(parseFlags(args)).toEqual({ ok: false, error: message });
  });
});
