import { type Kysely, sql } from "kysely";

/**
 * Webhook endpoints and where delivery to each stands (src/webhooks/). The
 * cursor is a feed position (xid8, id); it starts at the feed's horizon when
 * the endpoint is created, so only later events are delivered. Retry state
 * and the replica holding the delivery lease live here, so they survive
 * restarts. The secret is kept because every delivery is signed with it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("webhook_endpoints")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("url", "text", (c) => c.notNull())
    .addColumn("event_types", sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn("description", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("secret", "text", (c) => c.notNull())
    .addColumn("enabled", "boolean", (c) => c.notNull().defaultTo(true))
    .addColumn("created_at", "timestamptz", (c) => c.notNull())
    .addColumn("cursor_xid", sql`xid8`)
    .addColumn("cursor_id", "bigint")
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("next_attempt_at", "timestamptz")
    .addColumn("last_success_at", "timestamptz")
    .addColumn("last_error", "text")
    .addColumn("lease_owner", "text")
    .addColumn("lease_until", "timestamptz")
    .execute();
  await sql`create index webhook_endpoints_created_at on webhook_endpoints (created_at, id)`.execute(db);
}

/** Drops the endpoints (and their secrets). */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("webhook_endpoints").execute();
}
