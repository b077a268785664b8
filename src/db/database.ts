import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { Kysely, PostgresDialect } from "kysely";
import { PGliteDialect } from "kysely-pglite-dialect";
import pg from "pg";
import { lockDataDir } from "./data-dir-lock.js";
import type { DatabaseSchema } from "./schema.js";

/** Which engine backs the database. */
export type DatabaseKind = "postgres" | "pglite";

/** Pool statistics, for metrics. PGlite has one connection and no pool. */
export interface PoolStats {
  readonly total: number;
  readonly idle: number;
  readonly waiting: number;
}

/** An open database: the Kysely handle and how to close it. */
export interface Database {
  readonly kind: DatabaseKind;
  readonly db: Kysely<DatabaseSchema>;
  poolStats(): PoolStats;
  /**
   * Calls `onNotify` on each NOTIFY on `channel` (a plain identifier) until the
   * returned stop is called; PostgreSQL listens on a dedicated connection, and
   * when that connection is lost (`onLost` is told) it reconnects with backoff
   * and calls `onNotify` once more (notifications sent meanwhile are gone).
   * Rejects when the first connection fails.
   */
  listen(channel: string, onNotify: () => void, onLost?: (err: unknown) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** Options of openDatabase, taken from Config. */
export interface DatabaseOptions {
  /** PostgreSQL connection string; undefined opens embedded PGlite in dataDir. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly poolSize: number;
  /** Longest wait for a pool connection (a new one connecting, or a busy pool freeing one). */
  readonly poolWaitMs?: number;
}

/** Opens PostgreSQL through a pg Pool, or embedded PGlite (locked to this process). */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.databaseUrl !== undefined) {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize,
      // Bounds the wait for a connection: a refused connection fails at once (PostgreSQL down), while a busy
      // pool (a hot session's patches queue on its row lock) gets time to free one before the call fails.
      connectionTimeoutMillis: options.poolWaitMs ?? 10_000,
      query_timeout: 10_000,
    });
    // A client losing its server must not crash the process. pg-pool listens for an idle client's 'error'
    // (and drops it) but not while the client is checked out, and PostgreSQL dropping a connection between two
    // statements of a transaction (a restart, a terminated backend) emits 'error' on it with nobody listening,
    // which throws. The transaction's next statement fails, and the pool discards the client on release.
    pool.on("error", () => {});
    pool.on("connect", (client) => {
      client.on("error", () => {});
    });
    const db = new Kysely<DatabaseSchema>({ dialect: new PostgresDialect({ pool }) });
    return {
      kind: "postgres",
      db,
      poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
      listen: (channel, onNotify, onLost) =>
        listenWithReconnect(options.databaseUrl as string, channel, onNotify, onLost),
      close: () => db.destroy(),
    };
  }
  const dir = `${options.dataDir}/pglite`;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const unlock = lockDataDir(options.dataDir);
  try {
    const client = await PGlite.create(dir);
    const db = new Kysely<DatabaseSchema>({ dialect: new PGliteDialect(client) });
    return {
      kind: "pglite",
      db,
      poolStats: () => ({ total: 1, idle: 0, waiting: 0 }),
      async listen(channel, onNotify) {
        // In-process: the listener cannot be lost.
        return client.listen(channel, () => onNotify());
      },
      close: async () => {
        try {
          await db.destroy();
        } finally {
          unlock();
        }
      },
    };
  } catch (err) {
    unlock();
    throw err;
  }
}

const LISTEN_RETRY_MIN_MS = 100;
const LISTEN_RETRY_MAX_MS = 10_000;

/** LISTEN on a dedicated connection that comes back after it is lost (the server restarted, the backend was killed). */
async function listenWithReconnect(
  databaseUrl: string,
  channel: string,
  onNotify: () => void,
  onLost: ((err: unknown) => void) | undefined,
): Promise<() => Promise<void>> {
  let stopped = false;
  let current: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  let failures = 0;

  async function connect(): Promise<void> {
    const client = new pg.Client({ connectionString: databaseUrl });
    let lost = false;
    const onGone = (err: unknown) => {
      if (lost) return;
      lost = true;
      if (current === client) current = undefined;
      void client.end().catch(() => {});
      if (stopped) return;
      onLost?.(err);
      schedule();
    };
    client.on("error", onGone);
    client.on("end", () => onGone(new Error("listening connection ended")));
    client.on("notification", (message) => {
      if (message.channel === channel) onNotify();
    });
    try {
      await client.connect();
      await client.query(`listen ${channel}`);
    } catch (err) {
      lost = true;
      await client.end().catch(() => {});
      throw err;
    }
    if (stopped) {
      await client.end().catch(() => {});
      return;
    }
    current = client;
    failures = 0;
  }

  function schedule(): void {
    const ceiling = Math.min(LISTEN_RETRY_MAX_MS, LISTEN_RETRY_MIN_MS * 2 ** Math.min(failures, 16));
    failures += 1;
    retry = setTimeout(
      () => {
        retry = undefined;
        connect().then(
          // Back: whatever was notified while away is only found by reading, so wake the readers.
          () => onNotify(),
          (err: unknown) => {
            if (stopped) return;
            onLost?.(err);
            schedule();
          },
        );
      },
      ceiling / 2 + Math.random() * (ceiling / 2),
    );
    retry.unref();
  }

  await connect();
  return async () => {
    stopped = true;
    if (retry !== undefined) clearTimeout(retry);
    const client = current;
    current = undefined;
    await client?.end().catch(() => {});
  };
}
