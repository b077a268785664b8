import { type Kysely, sql } from "kysely";
import type { JsonObject } from "../claims/json.js";
import { jsonb } from "../db/jsonb.js";
import { prepare } from "../db/prepared-statement.js";
import type { DatabaseSchema, UserRow } from "../db/schema.js";
import type { User } from "./user.js";

type Db = Kysely<DatabaseSchema>;

/** Reads a user record, optionally locking it until the transaction ends. */
export async function findUser(db: Db, userId: string, options: { lock: boolean } = { lock: false }) {
  const query = db.selectFrom("users").selectAll().where("user_id", "=", userId);
  const row = await (options.lock ? query.forUpdate() : query).executeTakeFirst();
  return row && toUser(row);
}

/** Inserts a new user record (version 1). */
export async function insertUser(db: Db, user: User): Promise<void> {
  await db
    .insertInto("users")
    .values({
      user_id: user.userId,
      trusted_metadata: jsonb(user.trustedMetadata),
      untrusted_metadata: jsonb(user.untrustedMetadata),
      roles: jsonb([...user.roles]),
      created_at: user.createdAt,
      updated_at: user.updatedAt,
      version: user.version.toString(),
    })
    .execute();
}

/** Writes a changed user record (the caller holds its row lock). */
export async function updateUser(db: Db, user: User): Promise<void> {
  await db
    .updateTable("users")
    .set({
      trusted_metadata: jsonb(user.trustedMetadata),
      untrusted_metadata: jsonb(user.untrustedMetadata),
      roles: jsonb([...user.roles]),
      updated_at: user.updatedAt,
      version: user.version.toString(),
    })
    .where("user_id", "=", user.userId)
    .execute();
}

/** Deletes a user record; true when there was one. */
export async function deleteUser(db: Db, userId: string): Promise<boolean> {
  const result = await db.deleteFrom("users").where("user_id", "=", userId).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** Up to `limit` users with user_id after `after` (keyset paging), in user_id order. */
export async function listUsers(db: Db, after: string | undefined, limit: number): Promise<User[]> {
  let query = db.selectFrom("users").selectAll().orderBy("user_id").limit(limit);
  if (after !== undefined) query = query.where("user_id", ">", after);
  return (await query.execute()).map(toUser);
}

/**
 * Serializes every change that involves one user's sessions and record
 * (creating a session, updating or deleting the user) across replicas, until
 * the transaction ends. A user id with no record yet has no row to lock, hence
 * an advisory lock on its hash.
 */
export async function lockUserId(db: Db, userId: string): Promise<void> {
  await lockUserIdStatement.execute(db, { lockName: `tessera.user:${userId}` });
}

/** lockUserId's statement. */
const lockUserIdStatement = prepare(
  (_db, p: { lockName: string }) => sql`select pg_advisory_xact_lock(hashtextextended(${p.lockName}, 0))`,
);

/** Maps a `users` row (or its `to_jsonb` form, whose timestamps are strings) to the domain User. */
export function toUser(row: UserRow | Record<string, unknown>): User {
  const r = row as UserRow;
  return {
    userId: r.user_id,
    trustedMetadata: r.trusted_metadata as JsonObject,
    untrustedMetadata: r.untrusted_metadata as JsonObject,
    roles: r.roles,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
    version: BigInt(r.version),
  };
}
