import { createApp } from "./app.js";
import { ConfigError, parseConfig } from "./config.js";

/** Entry point of `npm start`: parse config, start, and close cleanly on SIGTERM or SIGINT. */
async function main(): Promise<void> {
  const config = parseConfig(process.env);
  const app = await createApp(config);
  const stop = (signal: string) => {
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
