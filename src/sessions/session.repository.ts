import { type Expression, type ExpressionBuilder, type Kysely, type SqlBool, sql } from "kysely";
import { type ClaimsOverlay, overlayFromJson, overlayToJson } from "../claims/index.js";
import { jsonb, jsonbOfText } from "../db/jsonb.js";
import { prepare, preparedVariants } from "../db/prepared-statement.js";
import type { DatabaseSchema, SessionRow } from "../db/schema.js";
import { denyUntil, INSERT_SESSION_EVENTS } from "../events/event.repository.js";
import type { User } from "../users/user.js";
import { toUser } from "../users/user.repository.js";
import type { Session } from "./session.js";

type Db = Kysely<DatabaseSchema>;

/**
 * A session as stored: its own claim patches folded into `overlay`, with the
 * user record and the claim template version read in the same statement, so
 * its effective claims can be computed as of that statement.
 */
export interface StoredSession extends Omit<Session, "customClaims"> {
  readonly overlay: ClaimsOverlay;
  /** The user's record, or undefined for a user id without one. */
  readonly user: User | undefined;
  /** Version of the claim template in force when this was read. */
  readonly templateVersion: bigint;
}

/** How a session is looked up. */
export type SessionKey = { readonly sessionId: string } | { readonly tokenHash: string };

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

/** The user record and template version read alongside every session row. */
const USER_RECORD = sql<Record<
  string,
  unknown
> | null>`(select to_jsonb(u) from users u where u.user_id = sessions.user_id)`.as("user_record");
const TEMPLATE_VERSION = sql<string>`(select version from claim_template where id = 1)`.as("template_version");

type ReadRow = SessionRow & { user_record: Record<string, unknown> | null; template_version: string | number | bigint };

/**
 * Inserts a new session with its token hash and, in the same statement, its session_created event at its
 * start (call inside the transaction that checked the user's session limit).
 */
export async function insertSessionWithEvent(db: Db, session: StoredSession, tokenHash: string): Promise<void> {
  await insertSessionStatement.execute(db, {
    sessionId: session.id,
    userId: session.userId,
    tokenHash,
    startedAt: session.startedAt,
    lastAccessedAt: session.lastAccessedAt,
    expiresAt: session.expiresAt,
    attributesJson: JSON.stringify({
      ip_address: session.attributes.ipAddress,
      user_agent: session.attributes.userAgent,
    }),
    rolesJson: JSON.stringify([...session.roles]),
    overlayJson: JSON.stringify(overlayToJson(session.overlay)),
    claimsVersion: session.claimsVersion.toString(),
  });
}

/** insertSessionWithEvent's statement. */
const insertSessionStatement = prepare(
  (
    db,
    p: {
      sessionId: string;
      userId: string;
      tokenHash: string;
      startedAt: Date;
      lastAccessedAt: Date;
      expiresAt: Date;
      attributesJson: string;
      rolesJson: string;
      overlayJson: string;
      claimsVersion: string;
    },
  ) => {
    const inserted = db
      .insertInto("sessions")
      .values({
        session_id: p.sessionId,
        user_id: p.userId,
        token_hash: p.tokenHash,
        started_at: p.startedAt,
        last_accessed_at: p.lastAccessedAt,
        expires_at: p.expiresAt,
        revoked_at: null,
        attributes: jsonbOfText<{ ip_address: string; user_agent: string }>(p.attributesJson),
        roles: jsonbOfText<string[]>(p.rolesJson),
        claims_overlay: jsonbOfText<Record<string, unknown>>(p.overlayJson),
        claims_version: p.claimsVersion,
      })
      .returning(["session_id", "user_id", "claims_version", "started_at"]);
    return sql`with inserted as (${inserted}) ${INSERT_SESSION_EVENTS}
      select started_at, 'session_created', session_id, user_id, claims_version, null from inserted`;
  },
);

/** What a create decides on, read together. */
export interface CreateBasis {
  /** The claim template version, held (FOR KEY SHARE) until the transaction ends, as holdTemplate does. */
  readonly templateVersion: bigint;
  /** The user's record, or undefined for a user id without one. */
  readonly user: User | undefined;
  /** How many active sessions the user has, counted no further than `upTo`. */
  readonly active: number;
}

/**
 * Reads in one statement (one snapshot) what a create decides on: the template version (held until the
 * transaction ends), the user's record and how many active sessions the user has at `now`, counting no
 * further than `upTo`. Call after taking the user's lock (lockUserId), in a statement of its own, so the
 * snapshot sees every create of this user that committed before the lock was granted.
 */
export async function readCreateBasis(db: Db, userId: string, now: Date, upTo: number): Promise<CreateBasis> {
  const result = await createBasisStatement.execute(db, { userId, now, upTo });
  const row = result.rows[0];
  if (row === undefined) throw new Error("the create basis read no row");
  return {
    templateVersion: BigInt(row.template_version ?? 0),
    user: row.user_record === null ? undefined : toUser(row.user_record),
    active: Number(row.active),
  };
}

/** readCreateBasis's statement. */
const createBasisStatement = prepare((db, p: { userId: string; now: Date; upTo: number }) =>
  db.selectNoFrom((eb) => [
    eb.selectFrom("claim_template").select("version").where("id", "=", 1).forKeyShare().as("template_version"),
    sql<Record<string, unknown> | null>`(select to_jsonb(u) from users u where u.user_id = ${p.userId})`.as(
      "user_record",
    ),
    eb
      .selectFrom(
        eb
          .selectFrom("sessions")
          .select("session_id")
          .where("user_id", "=", p.userId)
          .where(activeAt(p.now))
          .limit(p.upTo)
          .as("active"),
      )
      .select(eb.fn.countAll<string>().as("count"))
      .as("active"),
  ]),
);

/**
 * Reads an active session. With `lock`, the row stays locked until the
 * transaction ends; without, the optimistic path re-checks its version when writing.
 */
export async function findActive(
  db: Db,
  key: SessionKey,
  now: Date,
  options: { lock: boolean } = { lock: false },
): Promise<StoredSession | undefined> {
  const [column, value] = keyOf(key);
  const result = await findActiveStatement(column)(options.lock).execute(db, { key: value, now });
  const row = result.rows[0];
  return row && toStoredSession(row);
}

/** findActive's statement, per key column and with or without the row lock. */
const findActiveStatement = preparedVariants((column: KeyColumn) =>
  preparedVariants((lock: boolean) =>
    prepare((db, p: { key: string; now: Date }) => {
      const query = db
        .selectFrom("sessions")
        .selectAll()
        .select([USER_RECORD, TEMPLATE_VERSION])
        .where(column, "=", p.key)
        .where(activeAt(p.now));
      return lock ? query.forUpdate() : query;
    }),
  ),
);

/** A change written with a session's authentication or claims update. */
export interface SessionChange {
  /** Touch last_accessed_at (an authenticate); false for an admin claims update. */
  readonly access: boolean;
  readonly durationMinutes: number | undefined;
  /** The new overlay and version; undefined when the claims do not change. */
  readonly claims: { readonly overlay: ClaimsOverlay; readonly claimsVersion: bigint } | undefined;
  /** When an authorization check was decided: the RBAC policy version it was decided under. */
  readonly policyVersion?: bigint | undefined;
  /** When set, the write also requires the row to still expire at this time (a batch answered it to a call). */
  readonly expiresAt?: Date | undefined;
}

/**
 * The CTE `event` writing one claims-changed event per version from `fromVersion` up to the new
 * claims_version of each row of the CTE `changed`, in version order (one per patch of a batch).
 */
function claimsChangedEvents(now: Date, fromVersion: string) {
  return sql`event as (${INSERT_SESSION_EVENTS}
      select ${now}::timestamptz, 'session_claims_changed', session_id, user_id, version, null
      from changed cross join generate_series(${fromVersion}::bigint, changed.claims_version) as version
      order by version)`;
}

/**
 * Compare-and-set write of a session in one statement: applies only while the
 * row still has `expectedVersion`, is active at greatest(last_accessed_at, now)
 * (which becomes the new last_accessed_at when `access`), and, when the
 * claims change, while the claim template is still at `templateVersion` (held
 * with FOR KEY SHARE for the statement, see claim-template.repository.ts),
 * and, with `policyVersion`, while the RBAC policy is still at that version
 * (held the same way, see rbac-policy.repository.ts).
 * PostgreSQL re-checks the WHERE on the latest row version after any lock
 * wait, so a concurrent patch, user change, revoke or expiry makes it match
 * nothing: undefined, and nothing is written.
 */
export async function updateIfVersion(
  db: Db,
  sessionId: string,
  expectedVersion: bigint,
  templateVersion: bigint,
  now: Date,
  change: SessionChange,
): Promise<StoredSession | undefined> {
  const shape =
    (change.access ? CAS_ACCESS : 0) |
    (change.durationMinutes === undefined ? 0 : CAS_EXTEND) |
    (change.claims === undefined ? 0 : CAS_CLAIMS) |
    (change.policyVersion === undefined ? 0 : CAS_POLICY) |
    (change.expiresAt === undefined ? 0 : CAS_EXPIRY);
  const result = await compareAndSetStatement(shape).execute(db, {
    sessionId,
    expectedVersion: expectedVersion.toString(),
    templateVersion: templateVersion.toString(),
    now,
    durationMinutes: change.durationMinutes,
    overlayJson: change.claims && JSON.stringify(overlayToJson(change.claims.overlay)),
    claimsVersion: change.claims?.claimsVersion.toString(),
    fromVersion: (expectedVersion + 1n).toString(),
    policyVersion: change.policyVersion?.toString(),
    expiresAt: change.expiresAt,
  });
  const row = result.rows[0];
  return row && toStoredSession(row);
}

/** Which parts a compare-and-set write has (bits of its shape); each shape is its own prepared statement. */
const CAS_ACCESS = 1;
const CAS_EXTEND = 2;
const CAS_CLAIMS = 4;
const CAS_POLICY = 8;
const CAS_EXPIRY = 16;

/** The parameters of a compare-and-set write; those its shape leaves out are not read (and may be undefined). */
interface CompareAndSetParams {
  readonly sessionId: string;
  readonly expectedVersion: string;
  readonly templateVersion: string;
  readonly now: Date;
  readonly durationMinutes: number | undefined;
  readonly overlayJson: string | undefined;
  readonly claimsVersion: string | undefined;
  /** The first claims version the events are written for (expectedVersion + 1). */
  readonly fromVersion: string;
  readonly policyVersion: string | undefined;
  readonly expiresAt: Date | undefined;
}

/** updateIfVersion's statement for one shape (see there). */
const compareAndSetStatement = preparedVariants((shape: number) =>
  prepare((db, p: CompareAndSetParams) => {
    const accessed = accessedAt(p.now);
    let update = db
      .updateTable("sessions")
      .set({
        ...(shape & CAS_ACCESS ? { last_accessed_at: accessed } : {}),
        ...(shape & CAS_EXTEND ? { expires_at: extendedExpiry(accessed, p.durationMinutes as number) } : {}),
        ...(shape & CAS_CLAIMS
          ? {
              claims_overlay: jsonbOfText<Record<string, unknown>>(p.overlayJson as string),
              claims_version: p.claimsVersion as string,
            }
          : {}),
      })
      .where("session_id", "=", p.sessionId)
      .where("claims_version", "=", p.expectedVersion)
      .where(activeAt(accessed))
      .$if((shape & CAS_EXPIRY) !== 0, (query) => query.where("expires_at", "=", p.expiresAt as Date));
    // A CTE runs (and holds its row, FOR KEY SHARE) only when the WHERE refers to it: the template when the
    // claims change, the policy when a check was decided.
    if (shape & CAS_CLAIMS) {
      update = update.where(sql<string>`(select version from held_template)`, "=", p.templateVersion);
    }
    if (shape & CAS_POLICY) {
      update = update.where(sql<string>`(select version from held_policy)`, "=", p.policyVersion as string);
    }
    const heldTemplate = db.selectFrom("claim_template").select("version").where("id", "=", 1).forKeyShare();
    const heldPolicy = db.selectFrom("rbac_policy").select("version").where("id", "=", 1).forKeyShare();
    const changed = update.returningAll().returning([USER_RECORD, TEMPLATE_VERSION]);
    // A claims change writes its events (one per version it skips, a batch's patches) in the same statement, so
    // they exist exactly when the change does, at no extra round trip; a plain access writes none.
    const event = shape & CAS_CLAIMS ? sql`, ${claimsChangedEvents(p.now, p.fromVersion)}` : sql``;
    return sql<ReadRow>`with held_template as (${heldTemplate}), held_policy as (${heldPolicy}),
    changed as (${changed})${event}
    select * from changed`;
  }),
);

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
): Promise<StoredSession | undefined> {
  const [column, value] = keyOf(key);
  const result = await touchActiveStatement(column)(durationMinutes !== undefined).execute(db, {
    key: value,
    now,
    durationMinutes,
  });
  const row = result.rows[0];
  return row && toStoredSession(row);
}

/** touchActive's statement, per key column and with or without an extension. */
const touchActiveStatement = preparedVariants((column: KeyColumn) =>
  preparedVariants((extend: boolean) =>
    prepare((db, p: { key: string; now: Date; durationMinutes: number | undefined }) => {
      const accessed = accessedAt(p.now);
      return db
        .updateTable("sessions")
        .set(
          extend
            ? { last_accessed_at: accessed, expires_at: extendedExpiry(accessed, p.durationMinutes as number) }
            : { last_accessed_at: accessed },
        )
        .where(column, "=", p.key)
        .where(activeAt(p.now))
        .returningAll()
        .returning([USER_RECORD, TEMPLATE_VERSION]);
    }),
  ),
);

/**
 * Authenticates an active session in one statement, writing last_accessed_at
 * only when it is more than `intervalSeconds` before `now` (a coalesced
 * touch): an UPDATE that matches only a row that is due (a recent access costs
 * no write and no row lock) and, in the same statement, the row as of the
 * statement's start with the new last_accessed_at when one was written. A row
 * written meanwhile is re-checked by PostgreSQL, so of racing callers at most
 * one writes. Returns undefined when no active session matches.
 */
export async function touchActiveCoalesced(
  db: Db,
  key: SessionKey,
  now: Date,
  intervalSeconds: number,
): Promise<StoredSession | undefined> {
  const [column, value] = keyOf(key);
  const dueBefore = new Date(now.getTime() - intervalSeconds * 1000);
  const result = await touchCoalescedStatement(column).execute(db, { key: value, now, dueBefore });
  const row = result.rows[0];
  return row && toStoredSession({ ...row, last_accessed_at: row.touched_at ?? row.last_accessed_at });
}

/** touchActiveCoalesced's statement, per key column. */
const touchCoalescedStatement = preparedVariants((column: KeyColumn) =>
  prepare((db, p: { key: string; now: Date; dueBefore: Date }) => {
    const touched = db
      .updateTable("sessions")
      .set({ last_accessed_at: accessedAt(p.now) })
      .where(column, "=", p.key)
      .where("last_accessed_at", "<=", p.dueBefore)
      .where(activeAt(p.now))
      .returning("last_accessed_at");
    const read = db
      .selectFrom("sessions")
      .selectAll()
      .select([
        USER_RECORD,
        TEMPLATE_VERSION,
        sql<Date | null>`(select last_accessed_at from touched)`.as("touched_at"),
      ])
      .where(column, "=", p.key)
      .where(activeAt(p.now));
    return sql<ReadRow & { touched_at: Date | null }>`with touched as (${touched}) ${read}`;
  }),
);

/**
 * Writes the state of a locked session; with `events`, also (in the same statement) one claims-changed event
 * for each version after `events.after` up to the new claims_version.
 */
export async function writeLocked(
  db: Db,
  sessionId: string,
  change: { lastAccessedAt: Date; expiresAt: Date; overlay: ClaimsOverlay; claimsVersion: bigint },
  events?: { readonly at: Date; readonly after: bigint },
): Promise<StoredSession> {
  const written = db
    .updateTable("sessions")
    .set({
      last_accessed_at: change.lastAccessedAt,
      expires_at: change.expiresAt,
      claims_overlay: jsonb(overlayToJson(change.overlay)),
      claims_version: change.claimsVersion.toString(),
    })
    .where("session_id", "=", sessionId)
    .returningAll()
    .returning([USER_RECORD, TEMPLATE_VERSION]);
  if (events === undefined) return toStoredSession(await written.executeTakeFirstOrThrow());
  const firstEvent = (events.after + 1n).toString();
  const result = await sql<ReadRow>`with changed as (${written}), ${claimsChangedEvents(events.at, firstEvent)}
    select * from changed`.execute(db);
  const row = result.rows[0];
  if (row === undefined) throw new Error(`locked session ${sessionId} was not written`);
  return toStoredSession(row);
}

/** Raises claims_version by one on each of these (locked) sessions, with a claims-changed event for each. */
export async function bumpClaimsVersions(db: Db, sessionIds: readonly string[], now: Date): Promise<void> {
  if (sessionIds.length === 0) return;
  const bumped = db
    .updateTable("sessions")
    .set((eb) => ({ claims_version: eb("claims_version", "+", 1) }))
    .where("session_id", "in", sessionIds)
    .returning(["session_id", "user_id", "claims_version"]);
  await sql`with bumped as (${bumped}) ${INSERT_SESSION_EVENTS}
    select ${now}::timestamptz, 'session_claims_changed', session_id, user_id, claims_version, null from bumped`.execute(
    db,
  );
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
): Promise<StoredSession[]> {
  const after = page.after;
  const rows = await db
    .selectFrom("sessions")
    .selectAll()
    .select([USER_RECORD, TEMPLATE_VERSION])
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
  return rows.map(toStoredSession);
}

/**
 * Every active session of a user, locked until the transaction ends, newest
 * first. Locks are taken in one order (session_id) by every multi-row writer,
 * so they cannot deadlock; MAX_SESSIONS_PER_USER bounds how many.
 */
export async function lockActiveByUser(db: Db, userId: string, now: Date): Promise<StoredSession[]> {
  const rows = await db
    .selectFrom("sessions")
    .selectAll()
    .select([USER_RECORD, TEMPLATE_VERSION])
    .where("user_id", "=", userId)
    .where(activeAt(now))
    .orderBy("session_id")
    .forUpdate()
    .execute();
  return rows.map(toStoredSession).sort(newestFirst);
}

/** Up to `limit` active sessions with session_id after `after`, in session_id order (for template checks). */
export async function activeSessionsPage(
  db: Db,
  after: string | undefined,
  now: Date,
  limit: number,
): Promise<StoredSession[]> {
  let query = db
    .selectFrom("sessions")
    .selectAll()
    .select([USER_RECORD, TEMPLATE_VERSION])
    .where(activeAt(now))
    .orderBy("session_id")
    .limit(limit);
  if (after !== undefined) query = query.where("session_id", ">", after);
  return (await query.execute()).map(toStoredSession);
}

/**
 * Revokes a session, whatever its state. Returns false when no session
 * matches; a session already revoked keeps its first revocation time, and
 * only the first revocation writes an event (in the same statement), whose
 * deny_until is at most `denyWindowSeconds` after `now`.
 */
export async function revoke(db: Db, key: SessionKey, now: Date, denyWindowSeconds: number): Promise<boolean> {
  const [column, , value] = keyFilter(key);
  // The locking read sees the latest committed row, so of two racing revokes only one finds it unrevoked.
  const result = await sql<{ session_id: string }>`with target as (
      select session_id, revoked_at from sessions where ${sql.ref(column)} = ${value} for update),
    changed as (
      update sessions set revoked_at = coalesce(sessions.revoked_at, ${now}::timestamptz) from target
      where sessions.session_id = target.session_id
      returning sessions.session_id, sessions.user_id, sessions.claims_version, sessions.expires_at,
        target.revoked_at is null as newly),
    event as (${INSERT_SESSION_EVENTS}
      select ${now}::timestamptz, 'session_revoked', session_id, user_id, claims_version,
        ${denyUntil(now, denyWindowSeconds)} from changed where newly)
    select session_id from changed`.execute(db);
  return result.rows.length > 0;
}

/** Revokes every active session of a user, with a revoked event for each; returns how many. */
export async function revokeAllOfUser(db: Db, userId: string, now: Date, denyWindowSeconds: number): Promise<number> {
  const revoked = db
    .updateTable("sessions")
    .set({ revoked_at: now })
    .where("user_id", "=", userId)
    .where(activeAt(now))
    .returning(["session_id", "user_id", "claims_version", "expires_at"]);
  const result = await sql<{ count: string }>`with revoked as (${revoked}),
    event as (${INSERT_SESSION_EVENTS}
      select ${now}::timestamptz, 'session_revoked', session_id, user_id, claims_version,
        ${denyUntil(now, denyWindowSeconds)} from revoked)
    select count(*)::text as count from revoked`.execute(db);
  return Number(result.rows[0]?.count ?? 0);
}

/**
 * Deletes up to `limit` sessions that expired before `expiredBefore` or were
 * revoked before `revokedBefore`, with an expired event (in the same
 * statement, at `expiredBefore`) for each one deleted that was never revoked.
 * Returns how many were deleted.
 */
export async function deleteStale(db: Db, expiredBefore: Date, revokedBefore: Date, limit: number): Promise<number> {
  const deleted = db
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
    .returning(["session_id", "user_id", "claims_version", "revoked_at"]);
  const result = await sql<{ count: string }>`with deleted as (${deleted}),
    event as (${INSERT_SESSION_EVENTS}
      select ${expiredBefore}::timestamptz, 'session_expired', session_id, user_id, claims_version, null
      from deleted where revoked_at is null)
    select count(*)::text as count from deleted`.execute(db);
  return Number(result.rows[0]?.count ?? 0);
}

/** The column a session is looked up by. */
type KeyColumn = "session_id" | "token_hash";

function keyFilter(key: SessionKey): [KeyColumn, "=", string] {
  const [column, value] = keyOf(key);
  return [column, "=", value];
}

function keyOf(key: SessionKey): [KeyColumn, string] {
  return "sessionId" in key ? ["session_id", key.sessionId] : ["token_hash", key.tokenHash];
}

function newestFirst(a: StoredSession, b: StoredSession): number {
  return b.startedAt.getTime() - a.startedAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** Maps a row (with the user record and template version read alongside) to a StoredSession; drops the token hash. */
function toStoredSession(row: ReadRow): StoredSession {
  return {
    id: row.session_id,
    userId: row.user_id,
    startedAt: new Date(row.started_at),
    lastAccessedAt: new Date(row.last_accessed_at),
    expiresAt: new Date(row.expires_at),
    revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at),
    attributes: { ipAddress: row.attributes.ip_address, userAgent: row.attributes.user_agent },
    roles: row.roles,
    overlay: overlayFromJson(row.claims_overlay),
    claimsVersion: BigInt(row.claims_version),
    user: row.user_record === null ? undefined : toUser(row.user_record),
    templateVersion: BigInt(row.template_version),
  };
}
