import cluster from "node:cluster";
import { createApp } from "./app.js";
import { runPrimary } from "./cluster/primary.js";
import { clusterMetricsText } from "./cluster/worker-metrics.js";
import { type Config, ConfigError, parseConfig } from "./config.js";
import { createLogger } from "./logger.js";

/** Entry point of `npm start`: parse config, start (WORKERS processes), and close cleanly on SIGTERM or SIGINT. */
async function main(): Promise<void> {
  const config = parseConfig(process.env);
  if (config.workers > 1 && cluster.isPrimary) {
    runPrimary(config, createLogger(config.logLevel));
    return;
  }
  await serve(config);
}

/** One serving process: the only one, or a cluster worker. */
async function serve(config: Config): Promise<void> {
  const app = await createApp(config, cluster.isWorker ? { metricsText: clusterMetricsText } : {});
  let stopping = false;
  const stop = (signal: string) => {
    // A worker may get a terminal's SIGINT and the primary's SIGTERM: the first one stops it.
    if (stopping) return;
    stopping = true;
    // close() stops accepting synchronously, so once this line is out no new connection gets in.
    const closing = app.close();
    app.logger.info({ signal }, "shutting down");
    closing.then(
      () => process.exit(0),
      (err: unknown) => {
        app.logger.error({ err: err instanceof Error ? err.message : String(err) }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  // Handlers go in before listening: a signal right after start must still shut down cleanly.
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
  await app.listen();
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
  } else {
    process.stderr.write(`tessera failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  process.exit(1);
});
