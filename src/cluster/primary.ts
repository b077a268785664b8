import cluster, { type Worker } from "node:cluster";
import { AggregatorRegistry } from "prom-client";
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import { isMetricsRequest, type MetricsResponse } from "./messages.js";

/** A worker that dies sooner than this after its start counts as a crash loop: its restart waits longer. */
const HEALTHY_UPTIME_MS = 10_000;
const RESTART_MIN_MS = 100;
const RESTART_MAX_MS = 10_000;

/**
 * Runs `config.workers` worker processes sharing the port (node:cluster hands
 * connections round-robin), restarts a worker that dies (with backoff while
 * they keep dying), answers workers' requests for the metrics of all of them,
 * and on SIGTERM/SIGINT stops every worker and exits 0 once all have ended.
 */
export function runPrimary(config: Config, logger: Logger): void {
  const aggregator = new AggregatorRegistry();
  let stopping = false;
  let quickDeaths = 0;
  const startedAt = new Map<Worker, number>();

  const fork = () => {
    const worker = cluster.fork();
    startedAt.set(worker, Date.now());
    worker.on("message", (message: unknown) => {
      if (!isMetricsRequest(message)) return;
      aggregator.clusterMetrics().then(
        (body) => reply(worker, { type: "tessera:metrics-response", id: message.id, body }),
        (err: unknown) =>
          reply(worker, {
            type: "tessera:metrics-response",
            id: message.id,
            error: err instanceof Error ? err.message : String(err),
          }),
      );
    });
  };

  cluster.on("exit", (worker, code, signal) => {
    const uptime = Date.now() - (startedAt.get(worker) ?? Date.now());
    startedAt.delete(worker);
    if (stopping) {
      if (startedAt.size === 0) {
        logger.info("every worker stopped");
        process.exit(0);
      }
      return;
    }
    quickDeaths = uptime < HEALTHY_UPTIME_MS ? quickDeaths + 1 : 0;
    const delay = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** Math.min(quickDeaths, 16));
    logger.warn({ pid: worker.process.pid, code, signal, restart_in_ms: delay }, "worker exited; restarting it");
    setTimeout(() => {
      if (!stopping) fork();
    }, delay);
  });

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, workers: startedAt.size }, "shutting down workers");
    if (startedAt.size === 0) process.exit(0);
    for (const worker of startedAt.keys()) worker.process.kill(signal);
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));

  logger.info({ workers: config.workers }, "starting workers");
  for (let i = 0; i < config.workers; i++) fork();
}

function reply(worker: Worker, message: MetricsResponse): void {
  if (worker.isConnected()) worker.send(message);
}
