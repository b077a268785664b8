import { AggregatorRegistry, type Registry } from "prom-client";
import { isMetricsResponse, type MetricsRequest } from "./messages.js";

/** How long a worker waits for the primary's aggregate before /metrics fails. */
const METRICS_TIMEOUT_MS = 10_000;

/**
 * In a cluster worker: offers `registry` to the primary's aggregation and
 * returns what /metrics serves, the metrics of every worker summed by the
 * primary (so a scrape counts every call whichever worker answers it).
 */
export function clusterMetricsText(registry: Registry): () => Promise<string> {
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one installs prom-client's answer to the primary's requests in this worker.
  new AggregatorRegistry();
  const pending = new Map<number, { resolve: (body: string) => void; reject: (err: Error) => void }>();
  let next = 0;
  process.on("message", (message: unknown) => {
    if (!isMetricsResponse(message)) return;
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.body !== undefined) waiter?.resolve(message.body);
    else waiter?.reject(new Error(`cluster metrics failed: ${message.error ?? "no answer"}`));
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error("cluster metrics timed out"));
      }, METRICS_TIMEOUT_MS);
      pending.set(id, {
        resolve: (body) => {
          clearTimeout(timer);
          resolve(body);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      const request: MetricsRequest = { type: "tessera:metrics-request", id };
      process.send?.(request);
    });
}
