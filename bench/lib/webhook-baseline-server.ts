/**
 * Serves the baseline app over HTTPS on 127.0.0.1, as the webhook serves
 * its own: `deno run --allow-net --allow-read bench/lib/webhook-baseline-server.ts PORT CERT_DIR [PATCH_BYTES]`.
 * PATCH_BYTES pads the response, see createBaselineApp.
 * Prints one JSON line when it listens; stops on SIGTERM.
 */
import { join } from "node:path";
import { createBaselineApp } from "./webhook-baseline.ts";

const [portText, certDir, patchBytesText = "0"] = Deno.args;
const port = Number(portText);
const patchBytes = Number(patchBytesText);
if (
  !Number.isInteger(port) || port < 1 || port > 65_535 ||
  certDir === undefined || !Number.isInteger(patchBytes) || patchBytes < 0
) {
  console.error(
    `usage: webhook-baseline-server.ts PORT CERT_DIR [PATCH_BYTES] (expected a port from 1 to 65535, a folder and a byte count, found ${
      JSON.stringify(Deno.args)
    })`,
  );
  Deno.exit(2);
}
const server = Deno.serve({
  hostname: "127.0.0.1",
  port,
  cert: await Deno.readTextFile(join(certDir, "tls.crt")),
  key: await Deno.readTextFile(join(certDir, "tls.key")),
  onListen: () =>
    console.log(JSON.stringify({ event: "https_listening", port })),
}, createBaselineApp(patchBytes).fetch);
Deno.addSignalListener(
  "SIGTERM",
  () => void server.shutdown().then(() => Deno.exit(0)),
);
