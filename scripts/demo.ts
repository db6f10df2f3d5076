/**
 * `npm run demo` (`deno task demo`): runs the book-insights pipeline end to
 * end on this machine and prints a report. See docs/demo.md.
 *
 * Exit codes: 0 when every book chapter reached x-sink and the broken input
 * reached x-sump; 1 when an envelope was lost or failed unexpectedly, or a
 * process failed to start; 2 for a bad command line; 130 after Ctrl-C.
 */
import { parseOptions, USAGE } from "./demo/options.ts";
import { ProcessError } from "./demo/processes.ts";
import { renderReport } from "./demo/render.ts";
import { DemoAborted, type DemoOutcome, runDemo } from "./demo/run.ts";

const encoder = new TextEncoder();
const writeOut = (text: string) => Deno.stdout.writeSync(encoder.encode(text));
const writeErr = (text: string) => Deno.stderr.writeSync(encoder.encode(text));

async function main(args: string[]): Promise<number> {
  const parsed = parseOptions(args);
  if (!parsed.ok) {
    writeErr(`${parsed.error}\n\n${USAGE}`);
    return 2;
  }
  const options = parsed.value;
  if (options.help) {
    writeOut(USAGE);
    return 0;
  }

  // The first Ctrl-C stops everything cleanly; a second one exits at once.
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) Deno.exit(130);
    writeErr("\nStopping: interrupted, cleaning up (press Ctrl-C again to exit at once)\n");
    controller.abort();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);

  let outcome: DemoOutcome | undefined;
  try {
    outcome = await runDemo(options, {
      log: writeErr,
      isTerminal: Deno.stderr.isTerminal(),
      signal: controller.signal,
    }, (result) => {
      writeOut(options.json ? `${JSON.stringify(result.report, null, 2)}\n` : `\n${renderReport(result.report)}`);
    });
  } catch (error) {
    // A terminal's Ctrl-C also reaches the children, which may exit before the demo sees the signal.
    if (error instanceof DemoAborted || controller.signal.aborted) return 130;
    if (error instanceof ProcessError) {
      writeErr(`Demo failed: ${error.message}\n`);
      return 1;
    }
    writeErr(`Demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }

  if (controller.signal.aborted && !options.keep) return 130;
  if (outcome.problems.length > 0) {
    writeErr(`Demo failed:\n${outcome.problems.map((problem) => `  - ${problem}`).join("\n")}\n`);
    return 1;
  }
  return 0;
}

Deno.exit(await main(Deno.args));
