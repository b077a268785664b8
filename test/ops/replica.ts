import { type App, createApp } from "../../src/app.js";
import type { Config } from "../../src/config.js";
import { createLogger } from "../../src/logger.js";
import type { TestApp } from "../support/test-app.js";

/**
 * A second app over the first one's database, as another replica would be:
 * its own key store, metrics and server. Closing it leaves the database open
 * for the first app, which owns it.
 */
export function createReplica(t: TestApp, config: Partial<Config> = {}): Promise<App> {
  const database = { ...t.app.database, close: async () => {} };
  return createApp({ ...t.app.config, ...config }, { database, logger: createLogger("silent") });
}
