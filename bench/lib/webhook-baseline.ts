/**
 * The webhook benchmark's baseline: a Hono app with the same route that
 * reads the AdmissionReview, parses it and allows it unchanged. The
 * difference to the real webhook is then its admission work (decoding,
 * the injection patch, metrics and its log line).
 */
import { Hono } from "hono";

/**
 * Creates the baseline app. With `patchBytes` above 0 the response carries
 * an empty JSON Patch padded with whitespace to about that many bytes, so
 * its size matches the webhook's response. The default 0 sends no patch.
 */
export function createBaselineApp(patchBytes = 0): Hono {
  // Base64 grows the text by a third, so the padding is three quarters of the target.
  const patch = patchBytes > 0
    ? btoa(`[${" ".repeat(Math.max(0, Math.floor((patchBytes * 3) / 4) - 2))}]`)
    : undefined;
  const app = new Hono();
  app.post("/mutate", async function allowUnchanged(c) {
    const review = JSON.parse(await c.req.text()) as {
      request?: { uid?: string };
    };
    const response = {
      uid: review.request?.uid ?? "",
      allowed: true,
      ...(patch === undefined ? {} : { patchType: "JSONPatch", patch }),
    };
    return c.json({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response,
    });
  });
  return app;
}
