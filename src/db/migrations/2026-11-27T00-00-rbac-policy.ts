import { type Kysely, sql } from "kysely";

/**
 * The project's RBAC policy: one row (id 1), always present, holding the
 * policy document as Stytch shapes it; its version goes up on every set.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("rbac_policy")
    .addColumn("id", "smallint", (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn("policy", "jsonb", (c) =>
      c.notNull().defaultTo(sql`'{"resources": [], "roles": [], "scopes": []}'::jsonb`),
    )
    .addColumn("version", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("updated_at", "timestamptz")
    .execute();
  await sql`insert into rbac_policy (id) values (1)`.execute(db);
}

/** Drops the policy. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("rbac_policy").execute();
}
