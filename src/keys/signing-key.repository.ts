import { type Kysely, sql } from "kysely";
import { jsonb } from "../db/jsonb.js";
import type { DatabaseSchema, SigningKeyRow } from "../db/schema.js";

type Db = Kysely<DatabaseSchema>;

/** Every stored key that is active or retired after `retiredAfter`, newest first. */
export function listUsableKeys(db: Db, retiredAfter: Date): Promise<SigningKeyRow[]> {
  return db
    .selectFrom("signing_keys")
    .selectAll()
    .where((eb) => eb.or([eb("retired_at", "is", null), eb("retired_at", ">", retiredAfter)]))
    .orderBy("created_at", "desc")
    .execute();
}

/** The key that signs now, if any. */
export function findActiveKey(db: Db): Promise<SigningKeyRow | undefined> {
  return db
    .selectFrom("signing_keys")
    .selectAll()
    .where("retired_at", "is", null)
    .orderBy("created_at", "desc")
    .executeTakeFirst();
}

/** When the newest stored key was made, if there is any. */
export async function newestKeyCreatedAt(db: Db): Promise<Date | undefined> {
  const row = await db
    .selectFrom("signing_keys")
    .select("created_at")
    .orderBy("created_at", "desc")
    .limit(1)
    .executeTakeFirst();
  return row === undefined ? undefined : new Date(row.created_at);
}

/** Stores a new key. */
export async function insertKey(
  db: Db,
  key: {
    kid: string;
    alg: string;
    privateJwk: Record<string, unknown>;
    publicJwk: Record<string, unknown>;
    createdAt: Date;
  },
): Promise<void> {
  await db
    .insertInto("signing_keys")
    .values({
      kid: key.kid,
      alg: key.alg,
      private_jwk: jsonb(key.privateJwk),
      public_jwk: jsonb(key.publicJwk),
      created_at: key.createdAt,
      retired_at: null,
    })
    .execute();
}

/** Marks every active key retired at `at`. */
export async function retireActiveKeys(db: Db, at: Date): Promise<void> {
  await db.updateTable("signing_keys").set({ retired_at: at }).where("retired_at", "is", null).execute();
}

/** Deletes keys retired at or before `before`; returns how many. */
export async function deleteKeysRetiredBefore(db: Db, before: Date): Promise<number> {
  const result = await db.deleteFrom("signing_keys").where("retired_at", "<=", before).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Serializes key creation between replicas for the rest of the transaction. */
export async function lockKeys(db: Db): Promise<void> {
  await sql`lock table signing_keys in share row exclusive mode`.execute(db);
}
