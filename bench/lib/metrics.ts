/** Reading the sidecar's Prometheus text at /metrics. */

/** Returns the value of the first sample of `name` (a full metric name such as `x_sum`), or undefined. */
export function metricValue(text: string, name: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      const value = Number(line.slice(line.lastIndexOf(" ") + 1));
      return Number.isFinite(value) ? value : undefined;
    }
  }
  return undefined;
}

/** Fetches the metrics of the sidecar listening on `port` at 127.0.0.1. */
export async function fetchMetrics(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (response.status !== 200) {
    throw new Error(
      `Sidecar /metrics responded with HTTP ${response.status}, expected 200`,
    );
  }
  return await response.text();
}
