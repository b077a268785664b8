import { type Kysely, sql } from "kysely";
import type { DatabaseSchema } from "../db/schema.js";

type Db = Kysely<DatabaseSchema>;

/** The stored template: its source ("" for none), version and when it last changed. */
export interface StoredClaimTemplate {
  readonly source: string;
  readonly version: bigint;
  readonly updatedAt: Date | null;
}

/** Reads the template row. */
export async function readTemplate(db: Db): Promise<StoredClaimTemplate> {
  const row = await db.selectFrom("claim_template").selectAll().where("id", "=", 1).executeTakeFirstOrThrow();
  return { source: row.source, version: BigInt(row.version), updatedAt: row.updated_at && new Date(row.updated_at) };
}

/**
 * Holds the template still until the transaction ends (FOR KEY SHARE) and
 * returns its version. Every write that changes a session's claims takes this;
 * setting a template takes FOR UPDATE, so it waits for those writes and they
 * wait for it: a template is checked against sessions that hold still.
 */
export async function holdTemplate(db: Db): Promise<bigint> {
  const row = await sql<{ version: string }>`select version from claim_template where id = 1 for key share`.execute(db);
  return BigInt(row.rows[0]?.version ?? 0);
}

/** Locks the template row for a change until the transaction ends. */
export async function lockTemplate(db: Db): Promise<StoredClaimTemplate> {
  const row = await db
    .selectFrom("claim_template")
    .selectAll()
    .where("id", "=", 1)
    .forUpdate()
    .executeTakeFirstOrThrow();
  return { source: row.source, version: BigInt(row.version), updatedAt: row.updated_at && new Date(row.updated_at) };
}

/** Writes a new source (the caller holds the row lock); the version goes up by one. */
export async function writeTemplate(db: Db, source: string, now: Date): Promise<StoredClaimTemplate> {
  const row = await db
    .updateTable("claim_template")
    .set((eb) => ({ source, updated_at: now, version: eb("version", "+", 1) }))
    .where("id", "=", 1)
    .returningAll()
    .executeTakeFirstOrThrow();
  return { source: row.source, version: BigInt(row.version), updatedAt: row.updated_at && new Date(row.updated_at) };
}

/** Raises the version without changing the source (the caller holds the row lock): its inputs changed. */
export async function bumpTemplateVersion(db: Db): Promise<StoredClaimTemplate> {
  const row = await db
    .updateTable("claim_template")
    .set((eb) => ({ version: eb("version", "+", 1) }))
    .where("id", "=", 1)
    .returningAll()
    .executeTakeFirstOrThrow();
  return { source: row.source, version: BigInt(row.version), updatedAt: row.updated_at && new Date(row.updated_at) };
}
