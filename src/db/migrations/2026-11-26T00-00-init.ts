import { type Kysely, sql } from "kysely";

/** Creates `sessions` and `signing_keys`. Uses nothing newer than PostgreSQL 15. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("sessions")
    .addColumn("session_id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("started_at", "timestamptz", (c) => c.notNull())
    .addColumn("last_accessed_at", "timestamptz", (c) => c.notNull())
    .addColumn("expires_at", "timestamptz", (c) => c.notNull())
    .addColumn("revoked_at", "timestamptz")
    .addColumn("attributes", "jsonb", (c) => c.notNull())
    .addColumn("roles", "jsonb", (c) => c.notNull())
    .addColumn("custom_claims", "jsonb", (c) => c.notNull())
    .addColumn("claims_version", "bigint", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createIndex("sessions_user_id_started_at_idx")
    .on("sessions")
    .columns(["user_id", "started_at desc"])
    .execute();
  await db.schema.createIndex("sessions_expires_at_idx").on("sessions").column("expires_at").execute();

  await db.schema
    .createTable("signing_keys")
    .addColumn("kid", "text", (c) => c.primaryKey())
    .addColumn("alg", "text", (c) => c.notNull())
    .addColumn("private_jwk", "jsonb", (c) => c.notNull())
    .addColumn("public_jwk", "jsonb", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("retired_at", "timestamptz")
    .execute();
}

/** Drops what `up` created. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("signing_keys").execute();
  await db.schema.dropTable("sessions").execute();
}
