/**
 * Entry point of the Asya sidecar (`deno task sidecar`, compiled into
 * `/usr/local/bin/asya-sidecar` in the image).
 *
 * Without arguments it runs the sidecar configured by the ASYA_* variables
 * (see docs/reference/sidecar.md). `copy-runtime DEST` copies the Python
 * runtime shipped in the image to DEST and exits, for the init container.
 *
 * Exit codes: 0 after a drain (SIGTERM or SIGINT), 1 for invalid
 * configuration or an unexpected failure, 2 for a bad command line,
 * 3 when the runtime is lost mid-call, 4 after a handler timeout.
 */
import { copyRuntime, DEFAULT_RUNTIME_SOURCE } from "./copy-runtime.ts";
import { loadConfig } from "./config.ts";
import { createLogger, describeError } from "./log.ts";
import { runSidecar } from "./sidecar.ts";

async function main(args: string[]): Promise<number> {
  if (args[0] === "copy-runtime") {
    if (args.length !== 2) {
      console.error(
        `usage: asya-sidecar copy-runtime DEST (expected one destination path, found ${
          args.length - 1
        })`,
      );
      return 2;
    }
    const source = Deno.env.get("ASYA_RUNTIME_SOURCE") ||
      DEFAULT_RUNTIME_SOURCE;
    try {
      await copyRuntime(source, args[1]);
      console.log(
        JSON.stringify({
          level: "info",
          component: "sidecar",
          event: "runtime_copied",
          source,
          dest: args[1],
        }),
      );
      return 0;
    } catch (error) {
      console.error(
        JSON.stringify({
          level: "error",
          component: "sidecar",
          event: "runtime_copy_failed",
          source,
          dest: args[1],
          error: describeError(error),
        }),
      );
      return 1;
    }
  }
  if (args.length > 0) {
    console.error(
      `unknown command ${
        JSON.stringify(args[0])
      }: expected no arguments, or copy-runtime DEST`,
    );
    return 2;
  }

  const config = loadConfig(Deno.env.toObject());
  if (!config.ok) {
    const log = createLogger({
      level: "error",
      write: (line) => console.error(line),
    });
    for (const problem of config.error) {
      log.error("config_invalid", { error: problem });
    }
    return 1;
  }
  return await runSidecar(config.value);
}

Deno.exit(await main(Deno.args));
