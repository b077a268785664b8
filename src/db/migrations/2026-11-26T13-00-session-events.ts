import { type Kysely, sql } from "kysely";

/**
 * The outbox of changes resource services follow (src/events/). Each row
 * carries the id of the transaction that wrote it (`xid`, xid8), so readers can
 * return only events of transactions older than every one still in flight:
 * ids alone commit out of order. A statement-level trigger sends a NOTIFY, delivered
 * at commit, to wake watchers.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("session_events")
    .addColumn("id", "bigint", (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn("xid", sql`xid8`, (c) => c.notNull().defaultTo(sql`pg_current_xact_id()`))
    .addColumn("occurred_at", "timestamptz", (c) => c.notNull())
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("session_id", "text")
    .addColumn("user_id", "text")
    .addColumn("claims_version", "bigint")
    .addColumn("deny_until", "timestamptz")
    .addColumn("key_id", "text")
    .addColumn("template_version", "bigint")
    .execute();
  await sql`create index session_events_cursor on session_events (xid, id)`.execute(db);
  await sql`create index session_events_occurred_at on session_events (occurred_at)`.execute(db);
  await sql`create function session_events_notify() returns trigger language plpgsql as $$
    begin perform pg_notify('tessera_events', ''); return null; end $$`.execute(db);
  await sql`create trigger session_events_notify after insert on session_events
    for each statement execute function session_events_notify()`.execute(db);
}

/** Drops the outbox and its trigger. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("session_events").execute();
  await sql`drop function session_events_notify()`.execute(db);
}
