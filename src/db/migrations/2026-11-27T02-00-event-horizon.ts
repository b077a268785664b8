import { type Kysely, sql } from "kysely";

/**
 * The retention horizon of the change feed: the position of the newest event
 * the sweeper ever deleted (one row). A cursor below it may have missed
 * deleted events, so readers refuse it instead of skipping them silently.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create table event_horizon (
      singleton boolean primary key default true check (singleton),
      xid xid8 not null,
      id bigint not null)`.execute(db);
}

/** Drops the horizon. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("event_horizon").execute();
}
