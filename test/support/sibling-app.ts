import type { Client } from "@connectrpc/connect";
import { createClient } from "@connectrpc/connect";
import { SessionService } from "../../gen/tessera/sessions/v1/session_service_pb.js";
import { type App, type AppOverrides, createApp } from "../../src/app.js";
import type { Config } from "../../src/config.js";
import type { Database } from "../../src/db/database.js";
import { createLogger } from "../../src/logger.js";
import { type Protocol, sessionTransport, TEST_API_KEY, type TestApp } from "./test-app.js";

/** A second Tessera on the database of a running test app, with its own config and port. */
export interface SiblingApp {
  readonly app: App;
  readonly baseUrl: string;
  /** A SessionService client over `protocol`, sending TEST_API_KEY. */
  client(protocol?: Protocol): Client<typeof SessionService>;
  /** Stops this instance; the first app's database stays open. */
  close(): Promise<void>;
}

/**
 * Starts another instance over `of`'s database with `change` applied to its config.
 * On PostgreSQL it opens its own pool (a separate replica); PGlite allows one
 * process per directory, so there the open database handle is shared.
 */
export async function startSiblingApp(
  of: TestApp,
  change: Partial<Config> = {},
  overrides: Pick<AppOverrides, "clock"> = {},
): Promise<SiblingApp> {
  const config: Config = Object.freeze({ ...of.app.config, ...change });
  const shared: Database | undefined =
    of.app.database.kind === "pglite" ? { ...of.app.database, close: async () => {} } : undefined;
  const app = await createApp(config, {
    logger: createLogger("silent"),
    clock: overrides.clock ?? of.app.clock,
    ...(shared === undefined ? {} : { database: shared }),
  });
  const server = await app.listen();
  const baseUrl = `http://127.0.0.1:${server.port}`;
  return {
    app,
    baseUrl,
    client: (protocol = "connect") => createClient(SessionService, sessionTransport(baseUrl, protocol, TEST_API_KEY)),
    close: () => app.close(),
  };
}
