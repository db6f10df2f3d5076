// Command-line flags of `deno task local`.

import { err, ok, type Result } from "../shared/result.ts";

/** Parsed flags. */
export interface LocalFlags {
  sqsPort: number;
  s3Port: number;
  dataDir: string;
  help: boolean;
}

/** Usage text printed by `--help`. */
export const USAGE =
  `Usage: deno task local -- [--sqs-port N] [--s3-port N] [--data-dir DIR]

Starts an SQS-compatible endpoint and an S3-compatible server on 127.0.0.1
and prints one JSON line with both endpoint URLs once they accept connections.

  --sqs-port N    SQS port, 0 picks a free one (default 4566)
  --s3-port N     S3 port, 0 picks a free one (default 4569)
  --data-dir DIR  directory for queues and objects (default .asya/local)
  --help          print this text`;

const DEFAULTS: LocalFlags = {
  sqsPort: 4566,
  s3Port: 4569,
  dataDir: ".asya/local",
  help: false,
};

/**
 * Parses `--name value` and `--name=value` flags. Returns an error string
 * naming the flag and what was expected for an unknown flag, a missing
 * value or a port outside 0-65535.
 */
export function parseFlags(args: string[]): Result<LocalFlags, string> {
  const flags = { ...DEFAULTS };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") continue;
    if (arg === "--help" || arg === "-h") {
      flags.help = true;
      continue;
    }
    const equals = arg.indexOf("=");
    const name = equals > 0 ? arg.slice(0, equals) : arg;
    if (
      name !== "--sqs-port" && name !== "--s3-port" && name !== "--data-dir"
    ) {
      return err(
        `Unknown flag ${arg}: expected --sqs-port, --s3-port, --data-dir or --help`,
      );
    }
    const value = equals > 0 ? arg.slice(equals + 1) : args[++i];
    if (
      value === undefined || value === "" ||
      (equals < 0 && value.startsWith("--"))
    ) {
      return err(`Missing value for ${name}`);
    }
    if (name === "--data-dir") {
      flags.dataDir = value;
      continue;
    }
    const port = /^\d+$/.test(value) ? Number(value) : NaN;
    if (!Number.isInteger(port) || port > 65535) {
      return err(
        `Invalid value for ${name}: expected a port number from 0 to 65535, found "${value}"`,
      );
    }
    if (name === "--sqs-port") flags.sqsPort = port;
    else flags.s3Port = port;
  }
  return ok(flags);
}
