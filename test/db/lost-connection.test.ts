import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../src/db/database.js";
import { isDatabaseUnavailable } from "../../src/db/database-errors.js";
import { createScratchDatabase, type ScratchDatabase } from "../support/backends.js";

const adminUrl = process.env.DATABASE_URL;

// A pool connection that PostgreSQL drops while the app holds it between two statements (a transaction
// waiting on the app, PostgreSQL shutting down or a backend terminated) must fail that transaction, never
// the process: pg emits 'error' on such a client, and an EventEmitter 'error' nobody listens to throws.
describe.runIf(adminUrl !== undefined)("a pool connection lost while checked out", () => {
  let scratch: ScratchDatabase;
  let database: Database;
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);

  beforeAll(async () => {
    scratch = await createScratchDatabase(adminUrl as string);
    database = await openDatabase({ databaseUrl: scratch.url, dataDir: "unused", poolSize: 2 });
    process.on("uncaughtException", onUncaught);
  });
  afterAll(async () => {
    process.off("uncaughtException", onUncaught);
    await database?.close();
    await scratch?.drop();
  });

  it("fails the transaction that held it, keeps the process up, and the pool serves the next call", async () => {
    const failure = await database.db
      .transaction()
      .execute(async (trx) => {
        const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
        // Terminated while no statement of ours is in flight: PostgreSQL's FATAL message arrives unasked.
        await scratch.query("select pg_terminate_backend($1)", [rows[0]?.pid]);
        await new Promise((resolve) => setTimeout(resolve, 300));
        await sql`select 1`.execute(trx);
      })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(failure).toBeInstanceOf(Error);
    // Reported as the database being unavailable (UNAVAILABLE / DATABASE_UNAVAILABLE), not as a bug.
    expect(isDatabaseUnavailable(failure), String(failure)).toBe(true);
    expect(uncaught).toEqual([]);
    const { rows } = await sql<{ one: number }>`select 1 as one`.execute(database.db);
    expect(rows).toEqual([{ one: 1 }]);
    expect(uncaught).toEqual([]);
  });
});
