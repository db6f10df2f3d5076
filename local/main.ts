// `deno task local -- --sqs-port 4566 --s3-port 4569 --data-dir .asya/local`
// Starts the local stack, prints one JSON line with both endpoint URLs on
// stdout once both accept connections, logs JSON lines on stderr, and
// stops cleanly on SIGINT or SIGTERM. Exit codes: 0 after a clean stop,
// 2 for a bad flag, 1 when a port or the data directory cannot be used.

import process from "node:process";
import { parseFlags, USAGE } from "./flags.ts";
import { jsonLogger, LocalStackError, startLocalStack } from "./mod.ts";

async function main(): Promise<number> {
  const parsed = parseFlags(process.argv.slice(2));
  if (!parsed.ok) {
    process.stderr.write(`${parsed.error}\n`);
    return 2;
  }
  if (parsed.value.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }

  const log = jsonLogger((line) => process.stderr.write(`${line}\n`));
  let stack;
  try {
    stack = await startLocalStack({
      sqsPort: parsed.value.sqsPort,
      s3Port: parsed.value.s3Port,
      dataDir: parsed.value.dataDir,
      log,
    });
  } catch (error) {
    if (!(error instanceof LocalStackError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 1;
  }
  process.stdout.write(
    `${
      JSON.stringify({
        sqsEndpoint: stack.sqsEndpoint,
        s3Endpoint: stack.s3Endpoint,
      })
    }\n`,
  );

  const running = stack;
  return await new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      log({ event: "signal_received", signal });
      running.stop().then(() => resolve(0), () => resolve(1));
    };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
  });
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(
      `Local stack failed: ${
        error instanceof Error ? error.message : String(error)
      }\n`,
    );
    process.exit(1);
  },
);
