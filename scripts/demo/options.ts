/**
 * Command-line options of `npm run demo`, parsed into a typed object.
 * Pure: no I/O, so the parser runs in unit tests on Node as well.
 */
import { err, ok, type Result } from "../../shared/result.ts";

export interface DemoOptions {
  /** Folder whose `.txt` files are the books; undefined means the repository's `examples/data`. */
  booksDir?: string;
  /** File sent as the deliberately broken input; undefined means the repository's `examples/data/not-a-book.gz`. */
  brokenInput?: string;
  /** Envelopes in flight per sidecar, and handler worker threads per runtime; default 2. */
  concurrency: number;
  /** Leave the stack and the processes running after the report, until Ctrl-C. */
  keep: boolean;
  /** Print only the report, as one JSON object, on stdout. */
  json: boolean;
  /** Seconds to wait for every envelope to reach x-sink or x-sump; default 120. */
  timeoutSeconds: number;
  help: boolean;
}

export const DEFAULT_OPTIONS: DemoOptions = {
  concurrency: 2,
  keep: false,
  json: false,
  timeoutSeconds: 120,
  help: false,
};

const MAX_CONCURRENCY = 64;
const MAX_TIMEOUT_SECONDS = 3600;

export const USAGE = `Usage: npm run demo -- [options]

Runs the book-insights pipeline (split -> router -> [summarize] -> analyze)
on a local SQS-compatible endpoint and S3 server, then prints a report.

Options:
  --books DIR        folder of .txt books to process (default: examples/data)
  --broken FILE      file sent as the deliberately broken input, which must
                     land in x-sump (default: examples/data/not-a-book.gz)
  --concurrency N    envelopes in flight per sidecar and handler threads per
                     runtime, 1 to ${MAX_CONCURRENCY} (default: 2)
  --timeout SECONDS  how long to wait for every envelope to reach x-sink or
                     x-sump, 1 to ${MAX_TIMEOUT_SECONDS} (default: 120)
  --keep             leave the stack running after the report and print its
                     endpoints; Ctrl-C stops it
  --json             print only the report as one JSON object on stdout;
                     progress goes to stderr
  -h, --help         print this help
`;

/** Parses the demo's arguments; the error names the option, the value found and what is accepted. */
export function parseOptions(args: readonly string[]): Result<DemoOptions, string> {
  const options: DemoOptions = { ...DEFAULT_OPTIONS };

  for (let index = 0; index < args.length; index++) {
    const arg = args[index];
    const [name, inlineValue] = arg.startsWith("--") && arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];

    const takeValue = (): Result<string, string> => {
      if (inlineValue !== undefined) return ok(inlineValue);
      const next = args[index + 1];
      if (next === undefined || next.startsWith("--")) return err(`Missing value for ${name}: expected ${name} VALUE`);
      index++;
      return ok(next);
    };

    switch (name) {
      case "--books":
      case "--broken": {
        const value = takeValue();
        if (!value.ok) return value;
        if (value.value === "") return err(`Invalid ${name}: expected a path, found an empty string`);
        if (name === "--books") options.booksDir = value.value;
        else options.brokenInput = value.value;
        break;
      }
      case "--concurrency":
      case "--timeout": {
        const value = takeValue();
        if (!value.ok) return value;
        const max = name === "--concurrency" ? MAX_CONCURRENCY : MAX_TIMEOUT_SECONDS;
        const parsed = parseBoundedInteger(name, value.value, max);
        if (!parsed.ok) return parsed;
        if (name === "--concurrency") options.concurrency = parsed.value;
        else options.timeoutSeconds = parsed.value;
        break;
      }
      case "--keep":
      case "--json":
      case "--help":
      case "-h":
        if (inlineValue !== undefined) return err(`Invalid ${name}: it takes no value, found "${inlineValue}"`);
        if (name === "--keep") options.keep = true;
        else if (name === "--json") options.json = true;
        else options.help = true;
        break;
      default:
        return err(
          `Unknown option ${JSON.stringify(arg)}: expected one of --books, --broken, --concurrency, ` +
            `--timeout, --keep, --json, --help`,
        );
    }
  }
  return ok(options);
}

function parseBoundedInteger(name: string, text: string, max: number): Result<number, string> {
  if (!/^\d+$/.test(text)) return err(`Invalid ${name}: expected an integer from 1 to ${max}, found "${text}"`);
  const value = Number(text);
  if (value < 1 || value > max) return err(`Invalid ${name}: expected an integer from 1 to ${max}, found ${value}`);
  return ok(value);
}
