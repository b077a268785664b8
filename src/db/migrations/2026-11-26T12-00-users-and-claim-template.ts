import { type Kysely, sql } from "kysely";

/**
 * Users with metadata and roles, the project's custom claim template (one
 * row, always present), and sessions storing their claims as an overlay of
 * their own patches (src/claims/overlay-json.ts) instead of the merged claims:
 * effective claims are the template's output for the user with the overlay
 * applied. Existing claims become an overlay that sets each top-level claim.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("users")
    .addColumn("user_id", "text", (c) => c.primaryKey())
    .addColumn("trusted_metadata", "jsonb", (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn("untrusted_metadata", "jsonb", (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn("roles", "jsonb", (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn("created_at", "timestamptz", (c) => c.notNull())
    .addColumn("updated_at", "timestamptz", (c) => c.notNull())
    .addColumn("version", "bigint", (c) => c.notNull().defaultTo(1))
    .execute();

  await db.schema
    .createTable("claim_template")
    .addColumn("id", "smallint", (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn("source", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("version", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("updated_at", "timestamptz")
    .execute();
  await sql`insert into claim_template (id) values (1)`.execute(db);

  await db.schema
    .alterTable("sessions")
    .addColumn("claims_overlay", "jsonb", (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  await sql`update sessions set claims_overlay = coalesce(
    (select jsonb_object_agg(key, jsonb_build_array(value)) from jsonb_each(custom_claims)), '{}'::jsonb)`.execute(db);
  await db.schema.alterTable("sessions").dropColumn("custom_claims").execute();
}

/** Back to merged claims: the overlay applied to an empty template. Deletes users and the template. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable("sessions")
    .addColumn("custom_claims", "jsonb", (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  await db.schema.alterTable("sessions").dropColumn("claims_overlay").execute();
  await db.schema.dropTable("claim_template").execute();
  await db.schema.dropTable("users").execute();
}
