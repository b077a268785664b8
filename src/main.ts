import { createApp } from "./app.js";
import { ConfigError, parseConfig } from "./config.js";

/** Entry point of `npm start`: parse config, start, and close cleanly on SIGTERM or SIGINT. */
async function main(): Promise<void> {
  const config = parseConfig(process.env);
  const app = await createApp(config);
  await app.listen();
  const stop = (signal: string) => {
    app.logger.info({ signal }, "shutting down");
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        app.logger.error({ err: err instanceof Error ? err.message : String(err) }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
  } else {
    process.stderr.write(`tessera failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  process.exit(1);
});
