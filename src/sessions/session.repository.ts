import { type Expression, type ExpressionBuilder, type Kysely, type SqlBool, sql } from "kysely";
import type { JsonObject } from "../claims/json.js";
import { jsonb } from "../db/jsonb.js";
import type { DatabaseSchema, SessionRow } from "../db/schema.js";
import type { Session } from "./session.js";

type Db = Kysely<DatabaseSchema>;

/** The SQL form of `isActive` (session.ts): not revoked and not expired at `at`. */
function activeAt(at: Date | Expression<Date>) {
  return (eb: ExpressionBuilder<DatabaseSchema, "sessions">): Expression<SqlBool> =>
    eb.and([eb("revoked_at", "is", null), eb("expires_at", ">", at)]);
}

/** When an authenticate happens: now, but never before the row's last access, so writers stamp in commit order. */
function accessedAt(now: Date) {
  return sql<Date>`greatest(last_accessed_at, ${now})`;
}

/** The SQL form of `extendedExpiry` (session.ts): `minutes` after `accessed`. */
function extendedExpiry(accessed: Expression<Date>, minutes: number) {
  return sql<Date>`${accessed} + make_interval(mins => ${minutes})`;
}

/** How a session is looked up. */
export type SessionKey = { readonly sessionId: string } | { readonly tokenHash: string };

/** Inserts a new session with its token hash. */
export async function insertSession(db: Db, session: Session, tokenHash: string): Promise<void> {
  await db
    .insertInto("sessions")
    .values({
      session_id: session.id,
      user_id: session.userId,
      token_hash: tokenHash,
      started_at: session.startedAt,
      last_accessed_at: session.lastAccessedAt,
      expires_at: session.expiresAt,
      revoked_at: null,
      attributes: jsonb({ ip_address: session.attributes.ipAddress, user_agent: session.attributes.userAgent }),
      roles: jsonb([...session.roles]),
      custom_claims: jsonb(session.customClaims),
      claims_version: session.claimsVersion.toString(),
    })
    .execute();
}

/**
 * Reads an active session. With `lock`, the row stays locked until the
 * transaction ends; without, the optimistic path re-checks its version when writing.
 */
export async function findActive(
  db: Db,
  key: SessionKey,
  now: Date,
  options: { lock: boolean } = { lock: false },
): Promise<Session | undefined> {
  const query = db
    .selectFrom("sessions")
    .selectAll()
    .where(...keyFilter(key))
    .where(activeAt(now));
  const row = await (options.lock ? query.forUpdate() : query).executeTakeFirst();
  return row && toSession(row);
}

/**
 * Compare-and-set write of an authenticated session in one statement: applies
 * only while the row still has `expectedVersion` and is active at
 * greatest(last_accessed_at, now), which also becomes the new last_accessed_at
 * (so it never goes back and follows commit order); with `durationMinutes`,
 * expires_at is that many minutes later. PostgreSQL re-checks the WHERE on the
 * latest row version after any lock wait, so a concurrent patch, revoke or
 * expiry makes it match nothing: undefined, and nothing is written.
 */
export async function updateIfVersion(
  db: Db,
  sessionId: string,
  expectedVersion: bigint,
  now: Date,
  change: { durationMinutes: number | undefined; customClaims: JsonObject; claimsVersion: bigint },
): Promise<Session | undefined> {
  const accessed = accessedAt(now);
  const row = await db
    .updateTable("sessions")
    .set({
      last_accessed_at: accessed,
      ...(change.durationMinutes === undefined ? {} : { expires_at: extendedExpiry(accessed, change.durationMinutes) }),
      ...(change.claimsVersion === expectedVersion
        ? {}
        : { custom_claims: jsonb(change.customClaims), claims_version: change.claimsVersion.toString() }),
    })
    .where("session_id", "=", sessionId)
    .where("claims_version", "=", expectedVersion.toString())
    .where(activeAt(accessed))
    .returningAll()
    .executeTakeFirst();
  return row && toSession(row);
}

/**
 * Touches an active session in one statement: sets last_accessed_at and,
 * when given, expires_at to that many minutes later. Neither moves backwards
 * when a call that read the clock earlier commits later: the row's own
 * last_accessed_at is the floor. Returns undefined when no active session matches.
 */
export async function touchActive(
  db: Db,
  key: SessionKey,
  now: Date,
  durationMinutes: number | undefined,
): Promise<Session | undefined> {
  const accessed = accessedAt(now);
  const row = await db
    .updateTable("sessions")
    .set(
      durationMinutes === undefined
        ? { last_accessed_at: accessed }
        : { last_accessed_at: accessed, expires_at: extendedExpiry(accessed, durationMinutes) },
    )
    .where(...keyFilter(key))
    .where(activeAt(now))
    .returningAll()
    .executeTakeFirst();
  return row && toSession(row);
}

/** Writes the authenticated state of a locked session. */
export async function updateAuthenticated(
  db: Db,
  sessionId: string,
  change: { lastAccessedAt: Date; expiresAt: Date; customClaims: JsonObject; claimsVersion: bigint },
): Promise<Session> {
  const row = await db
    .updateTable("sessions")
    .set({
      last_accessed_at: change.lastAccessedAt,
      expires_at: change.expiresAt,
      custom_claims: jsonb(change.customClaims),
      claims_version: change.claimsVersion.toString(),
    })
    .where("session_id", "=", sessionId)
    .returningAll()
    .executeTakeFirstOrThrow();
  return toSession(row);
}

/** A position in a user's sessions ordered newest first: (started_at, session_id) descending. */
export interface SessionCursor {
  readonly startedAt: Date;
  readonly sessionId: string;
}

/**
 * Up to `page.limit` of the user's active sessions, newest first (ties by
 * session_id, descending), after `page.after` when given: a keyset page, so
 * sessions created or revoked meanwhile never shift it.
 */
export async function listActiveByUser(
  db: Db,
  userId: string,
  now: Date,
  page: { limit: number; after: SessionCursor | undefined },
): Promise<Session[]> {
  const after = page.after;
  const rows = await db
    .selectFrom("sessions")
    .selectAll()
    .where("user_id", "=", userId)
    .where(activeAt(now))
    .$if(after !== undefined, (query) =>
      query.where((eb) =>
        eb(
          eb.refTuple("started_at", "session_id"),
          "<",
          eb.tuple(after?.startedAt as Date, after?.sessionId as string),
        ),
      ),
    )
    .orderBy("started_at", "desc")
    .orderBy("session_id", "desc")
    .limit(page.limit)
    .execute();
  return rows.map(toSession);
}

/** Advisory lock class of per-user session creation (the second key is the user id's hash). */
const USER_SESSIONS_LOCK = 0x7e55e4a;

/**
 * Serializes session creation for one user until the transaction ends, on
 * every connection of every replica. Two users rarely share a hash; when they
 * do, their creates merely queue behind each other.
 */
export async function lockUserSessions(db: Db, userId: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(${USER_SESSIONS_LOCK}::int4, hashtext(${userId}))`.execute(db);
}

/** How many active sessions the user has at `now`, counting no further than `upTo`. */
export async function countActiveByUser(db: Db, userId: string, now: Date, upTo: number): Promise<number> {
  const row = await db
    .selectFrom((eb) =>
      eb
        .selectFrom("sessions")
        .select("session_id")
        .where("user_id", "=", userId)
        .where(activeAt(now))
        .limit(upTo)
        .as("active"),
    )
    .select((eb) => eb.fn.countAll<string>().as("count"))
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/**
 * Revokes a session, whatever its state. Returns false when no session
 * matches; a session already revoked keeps its first revocation time.
 */
export async function revoke(db: Db, key: SessionKey, now: Date): Promise<boolean> {
  const row = await db
    .updateTable("sessions")
    .set((eb) => ({ revoked_at: eb.fn.coalesce("revoked_at", eb.val(now)) }))
    .where(...keyFilter(key))
    .returning("session_id")
    .executeTakeFirst();
  return row !== undefined;
}

/** Reads a session by key whatever its state (for tests and admin use). */
export async function findAny(db: Db, key: SessionKey): Promise<Session | undefined> {
  const row = await db
    .selectFrom("sessions")
    .selectAll()
    .where(...keyFilter(key))
    .executeTakeFirst();
  return row && toSession(row);
}

/**
 * Deletes up to `limit` sessions that expired before `expiredBefore` or were
 * revoked before `revokedBefore`. Returns how many were deleted.
 */
export async function deleteStale(db: Db, expiredBefore: Date, revokedBefore: Date, limit: number): Promise<number> {
  const result = await db
    .deleteFrom("sessions")
    .where(
      "session_id",
      "in",
      db
        .selectFrom("sessions")
        .select("session_id")
        .where((eb) => eb.or([eb("expires_at", "<", expiredBefore), eb("revoked_at", "<", revokedBefore)]))
        .limit(limit)
        // Rows being authenticated right now are left for the next sweep instead of waited for.
        .forUpdate()
        .skipLocked(),
    )
    // Re-checked on the row as committed, so a session extended since the subquery's snapshot survives.
    .where((eb) => eb.or([eb("expires_at", "<", expiredBefore), eb("revoked_at", "<", revokedBefore)]))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

function keyFilter(key: SessionKey): ["session_id" | "token_hash", "=", string] {
  return "sessionId" in key ? ["session_id", "=", key.sessionId] : ["token_hash", "=", key.tokenHash];
}

/** Maps a row to the domain Session (drops the token hash). */
function toSession(row: SessionRow): Session {
  return {
    id: row.session_id,
    userId: row.user_id,
    startedAt: new Date(row.started_at),
    lastAccessedAt: new Date(row.last_accessed_at),
    expiresAt: new Date(row.expires_at),
    revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at),
    attributes: { ipAddress: row.attributes.ip_address, userAgent: row.attributes.user_agent },
    roles: row.roles,
    customClaims: row.custom_claims as JsonObject,
    claimsVersion: BigInt(row.claims_version),
  };
}
