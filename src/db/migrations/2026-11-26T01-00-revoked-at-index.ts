import { type Kysely, sql } from "kysely";

/**
 * Indexes revoked sessions for the sweeper. Partial, so active sessions (the
 * vast majority, with revoked_at null) cost nothing; with the expires_at index
 * the sweeper's OR becomes a bitmap OR of two index scans instead of a table scan.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex("sessions_revoked_at_idx")
    .on("sessions")
    .column("revoked_at")
    .where(sql.ref("revoked_at"), "is not", null)
    .execute();
}

/** Drops the index. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex("sessions_revoked_at_idx").execute();
}
