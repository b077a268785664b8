import { createClient } from "@connectrpc/connect";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Event, EventService } from "../../gen/tessera/events/v1/event_service_pb.js";
import { type Database, openDatabase } from "../../src/db/database.js";
import { migrateToLatest } from "../../src/db/migrate.js";
import type { ChangeEvent, EventPosition } from "../../src/events/event.js";
import { readEvents } from "../../src/events/event.repository.js";
import { type ServerProcess, spawnServer } from "../concurrency/server-process.js";
import { createScratchDatabase, type ScratchDatabase } from "../support/backends.js";

const DATABASE_URL = process.env.DATABASE_URL;

const INSERT = "insert into session_events (occurred_at, type, user_id) values (now(), 'user_updated', $1)";

/** A reader that only ever moves forward from its cursor, as a verifier does. */
function reader(database: Database) {
  let cursor: EventPosition | undefined;
  const seen: ChangeEvent[] = [];
  return {
    seen,
    async poll(): Promise<string[]> {
      const events = await readEvents(database.db, cursor, 100, []);
      seen.push(...events);
      cursor = events.at(-1)?.position ?? cursor;
      return events.map((e) => e.userId ?? "");
    },
    /**
     * Polls until `count` more events arrived (bounded): the horizon is
     * cluster-wide, so another database's open transaction can delay them, never reorder them.
     */
    async pollFor(count: number): Promise<string[]> {
      const got: string[] = [];
      for (let i = 0; i < 200 && got.length < count; i++) {
        got.push(...(await this.poll()));
        if (got.length < count) await new Promise((r) => setTimeout(r, 25));
      }
      return got;
    },
  };
}

describe.runIf(!!DATABASE_URL)("event ordering on PostgreSQL", () => {
  let scratch: ScratchDatabase;
  let database: Database;
  const clients: pg.Client[] = [];

  async function connect(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: scratch.url });
    await client.connect();
    clients.push(client);
    return client;
  }

  /** How many events are stored (committed) now. */
  async function storedCount(): Promise<number> {
    return Number((await scratch.query<{ n: string }>("select count(*)::text as n from session_events"))[0]?.n);
  }

  beforeAll(async () => {
    scratch = await createScratchDatabase(DATABASE_URL as string);
    database = await openDatabase({ databaseUrl: scratch.url, dataDir: "/nonexistent", poolSize: 4 });
    await migrateToLatest(database.db as never);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end()));
    await database?.close();
    await scratch?.drop();
  });

  it("never skips an event whose transaction commits after a later-numbered one", async () => {
    const held = await connect();
    const other = await connect();
    const r = reader(database);
    await held.query("begin");
    await held.query(INSERT, ["held"]);
    // Inserted after the held one (higher id, later xid) and committed first.
    await other.query(INSERT, ["committed-first"]);
    const ids = await scratch.query<{ id: string; user_id: string }>("select id::text, user_id from session_events");
    expect(ids.map((row) => row.user_id)).toEqual(["committed-first"]);
    // The committed event is held back while an older transaction is in flight: the reader must not move past it.
    expect(await r.poll()).toEqual([]);
    expect(await r.poll()).toEqual([]);
    await held.query("commit");
    expect(await r.pollFor(2)).toEqual(["held", "committed-first"]);
    expect(await r.poll()).toEqual([]);
    expect(r.seen.map((e) => e.userId)).toEqual(["held", "committed-first"]);
  });

  it("holds back a later transaction's event until an earlier transaction that writes later commits", async () => {
    const early = await connect();
    const late = await connect();
    const r = reader(database);
    await r.pollFor(await storedCount());
    // The early transaction takes its xid first, but writes its event after the late one commits.
    await early.query("begin");
    await early.query("select pg_current_xact_id()");
    await late.query(INSERT, ["late"]);
    expect(await r.poll()).toEqual([]);
    await early.query(INSERT, ["early"]);
    expect(await r.poll()).toEqual([]);
    await early.query("commit");
    expect(await r.pollFor(2)).toEqual(["early", "late"]);
    expect(await r.poll()).toEqual([]);
  });

  it("drops the event of a rolled-back transaction and still delivers the rest", async () => {
    const failing = await connect();
    const other = await connect();
    const r = reader(database);
    await r.pollFor(await storedCount());
    await failing.query("begin");
    await failing.query(INSERT, ["rolled-back"]);
    await other.query(INSERT, ["kept"]);
    expect(await r.poll()).toEqual([]);
    await failing.query("rollback");
    expect(await r.pollFor(1)).toEqual(["kept"]);
    expect(await r.poll()).toEqual([]);
  });
});

describe.runIf(!!DATABASE_URL)("events across two server processes on PostgreSQL", () => {
  let scratch: ScratchDatabase;
  let servers: ServerProcess[] = [];
  let lastCursor = "";

  beforeAll(async () => {
    scratch = await createScratchDatabase(DATABASE_URL as string);
    servers = await Promise.all(
      [0, 1].map(() => spawnServer(scratch.url, { EVENTS_POLL_INTERVAL_MS: "100", EVENTS_HEARTBEAT_MS: "500" })),
    );
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await scratch?.drop();
  });

  it("a watch on one and a lister on the other each see every event once, in cursor order, under concurrent writers", async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const stop = new AbortController();
    const watched: Event[] = [];
    const watching = (async () => {
      try {
        for await (const m of createClient(EventService, a.transport).watchEvents({}, { signal: stop.signal })) {
          watched.push(...m.events);
        }
      } catch {
        // Aborted at the end of the test.
      }
    })();
    const listed: Event[] = [];
    let cursor = "";
    let total = Number.POSITIVE_INFINITY;
    const listing = (async () => {
      // Bounded: the horizon is cluster-wide, so other databases' transactions can delay (never reorder) events.
      for (let i = 0; i < 2_000 && listed.length < total; i++) {
        const page = await createClient(EventService, b.transport).listEvents({ afterCursor: cursor, limit: 50 });
        listed.push(...page.events);
        cursor = page.cursor;
        if (page.events.length === 0) await new Promise((r) => setTimeout(r, 10));
      }
    })();
    // Writers on both servers: creates, patches and revokes interleave, so transactions commit out of id order.
    await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const server = i % 2 === 0 ? a : b;
        const created = await server.client().createSession({ userId: `w-${i}` });
        await server.client().authenticateSession({
          credential: { case: "sessionToken", value: created.sessionToken },
          sessionCustomClaims: { n: i },
        });
        if (i % 3 === 0) {
          await (i % 2 === 0 ? b : a).client().revokeSession({
            target: { case: "sessionId", value: created.session?.sessionId ?? "" },
          });
        }
      }),
    );
    const stored = await scratch.query<{ n: string }>("select count(*)::text as n from session_events");
    total = Number(stored[0]?.n);
    expect(total).toBe(40 * 2 + 14);
    await listing;
    for (let i = 0; i < 400 && watched.length < total; i++) await new Promise((r) => setTimeout(r, 25));
    // A little longer, so a duplicate would have time to show.
    await new Promise((r) => setTimeout(r, 300));
    stop.abort();
    await watching;
    for (const seen of [watched, listed]) {
      const cursors = seen.map((e) => e.cursor);
      expect(new Set(cursors).size).toBe(total);
      expect(seen).toHaveLength(total);
    }
    // Both readers saw the same sequence: one order, whichever server serves it, strictly increasing.
    expect(watched.map((e) => e.cursor)).toEqual(listed.map((e) => e.cursor));
    const positions = listed.map((e) => e.cursor.split(".").slice(1).map(BigInt) as [bigint, bigint]);
    for (let i = 1; i < positions.length; i++) {
      const [px, pi] = positions[i - 1] as [bigint, bigint];
      const [x, id] = positions[i] as [bigint, bigint];
      expect(x > px || (x === px && id > pi)).toBe(true);
    }
    lastCursor = listed.at(-1)?.cursor ?? "";
  });

  it("a watch resumes from its cursor on a restarted server with no gap and no duplicate", async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    await a.stop();
    const written = await Promise.all([0, 1, 2].map((i) => b.client().createSession({ userId: `restart-${i}` })));
    const restarted = await spawnServer(scratch.url, { EVENTS_POLL_INTERVAL_MS: "100" });
    servers = [restarted, b];
    const stop = new AbortController();
    const seen: Event[] = [];
    for await (const m of createClient(EventService, restarted.transport).watchEvents(
      { afterCursor: lastCursor },
      { signal: stop.signal },
    )) {
      seen.push(...m.events);
      if (seen.length >= 3) break;
    }
    stop.abort();
    expect(seen.map((e) => e.sessionId).sort()).toEqual(written.map((w) => w.session?.sessionId).sort());
    const after = await createClient(EventService, restarted.transport).listEvents({
      afterCursor: seen.at(-1)?.cursor,
    });
    expect(after.events).toEqual([]);
  });
});
