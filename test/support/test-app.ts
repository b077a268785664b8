import { Writable } from "node:stream";
import type { Client, Interceptor, Transport } from "@connectrpc/connect";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll } from "vitest";
import { SessionService } from "../../gen/tessera/sessions/v1/session_service_pb.js";
import { type App, type AppOverrides, createApp } from "../../src/app.js";
import { parseConfig } from "../../src/config.js";
import { type Database, openDatabase } from "../../src/db/database.js";
import { createLogger } from "../../src/logger.js";
import type { SniffingServer } from "../../src/server/protocol-sniffing-server.js";
import { type Backend, createTestDatabase, type TestDatabase } from "./backends.js";

/** The wire protocols a client can speak to Tessera. */
export type Protocol = "connect" | "grpc" | "grpc-web";
/** Every protocol, for describe.each. */
export const PROTOCOLS: readonly Protocol[] = ["connect", "grpc", "grpc-web"];

/** The API key every test app accepts. */
export const TEST_API_KEY = "test-api-key-0123456789abcdef";

/** A running Tessera on a real port over a fresh database. */
export interface TestApp {
  readonly app: App;
  readonly server: SniffingServer;
  readonly baseUrl: string;
  /** Every log line the app wrote, parsed. */
  readonly logs: Record<string, unknown>[];
  /** The raw log text, to check nothing secret was written. */
  logText(): string;
  /** A SessionService client over `protocol`, sending `apiKey` (TEST_API_KEY by default; null sends none). */
  client(protocol?: Protocol, apiKey?: string | null): Client<typeof SessionService>;
  transport(protocol?: Protocol, apiKey?: string | null): Transport;
  close(): Promise<void>;
}

/**
 * Starts the real app on 127.0.0.1:0 over a fresh database of `backend`;
 * `wrapDatabase`, if given, sees the opened database first (to observe the statements it runs).
 * With `existing`, the app runs on that database instead, and close() leaves it for the next app.
 */
export async function startTestApp(
  backend: Backend,
  env: Record<string, string> = {},
  overrides: Omit<AppOverrides, "logger"> = {},
  wrapDatabase?: (database: Database) => Database,
  existing?: TestDatabase,
): Promise<TestApp> {
  const database = existing ?? (await createTestDatabase(backend));
  const config = parseConfig({
    HOST: "127.0.0.1",
    PORT: "0",
    API_KEYS: TEST_API_KEY,
    LOG_LEVEL: "info",
    ...database.env,
    ...env,
  });
  const logs: Record<string, unknown>[] = [];
  let text = "";
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString("utf8");
      for (const line of chunk.toString("utf8").split("\n")) if (line.trim() !== "") logs.push(JSON.parse(line));
      done();
    },
  });
  let app: App;
  try {
    if (wrapDatabase !== undefined) {
      const opened = await openDatabase({
        databaseUrl: config.databaseUrl,
        dataDir: config.dataDir,
        poolSize: config.databasePoolSize,
      });
      overrides = { ...overrides, database: wrapDatabase(opened) };
    }
    app = await createApp(config, { ...overrides, logger: createLogger(config.logLevel, sink) });
  } catch (err) {
    if (existing === undefined) await database.drop();
    throw err;
  }
  const server = await app.listen();
  const baseUrl = `http://127.0.0.1:${server.port}`;
  const transport = (protocol: Protocol = "connect", apiKey: string | null = TEST_API_KEY) =>
    sessionTransport(baseUrl, protocol, apiKey);
  return {
    app,
    server,
    baseUrl,
    logs,
    logText: () => text,
    transport,
    client: (protocol, apiKey) => createClient(SessionService, transport(protocol, apiKey)),
    async close() {
      try {
        await app.close();
      } finally {
        if (existing === undefined) await database.drop();
      }
    },
  };
}

/** A transport to a Tessera at `baseUrl` over `protocol`, sending `apiKey` as a bearer token (null sends none). */
export function sessionTransport(baseUrl: string, protocol: Protocol, apiKey: string | null): Transport {
  const auth: Interceptor = (next) => (req) => {
    if (apiKey !== null) req.header.set("authorization", `Bearer ${apiKey}`);
    return next(req);
  };
  const options = { baseUrl, interceptors: [auth] };
  switch (protocol) {
    case "connect":
      return createConnectTransport({ ...options, httpVersion: "1.1" });
    case "grpc":
      return createGrpcTransport(options);
    case "grpc-web":
      return createGrpcWebTransport({ ...options, httpVersion: "2" });
  }
}

/**
 * Starts a test app before the enclosing describe's tests and closes it after
 * them. The returned object stands for the app once started (reading it
 * earlier throws), so a suite writes one line instead of the hooks.
 */
export function useTestApp(
  backend: Backend,
  env: Record<string, string> = {},
  overrides: Omit<AppOverrides, "logger"> = {},
): TestApp {
  let current: TestApp | undefined;
  beforeAll(async () => {
    current = await startTestApp(backend, env, overrides);
  });
  afterAll(() => current?.close());
  return new Proxy({} as TestApp, {
    get(_target, property) {
      if (current === undefined) throw new Error("the test app is used before beforeAll started it");
      return Reflect.get(current, property);
    },
  });
}
