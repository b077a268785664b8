import { type Kysely, sql } from "kysely";
import type { DatabaseSchema } from "../db/schema.js";
import type { EventPosition, EventType } from "../events/event.js";
import { comparePositions } from "./event-position.js";
import type { DeliveryTarget, WebhookEndpoint } from "./webhook-endpoint.js";

type Db = Kysely<DatabaseSchema>;

/** An endpoint to register. */
export interface NewEndpoint {
  readonly id: string;
  readonly url: string;
  readonly eventTypes: readonly EventType[];
  readonly description: string;
  readonly secret: string;
  readonly createdAt: Date;
}

/** A change to an endpoint; unset fields stay. */
export interface EndpointChange {
  readonly url?: string;
  readonly eventTypes?: readonly EventType[];
  readonly description?: string;
  readonly enabled?: boolean;
}

/** Serialises endpoint registrations, so the count check and the insert cannot interleave. */
const REGISTRATION_LOCK = 7_412_301;

/**
 * The position of the newest event every reader can already see (of a
 * transaction older than every one in flight): a cursor here skips only
 * events that committed before now. Undefined when there is none.
 */
const FEED_HEAD = sql<{ xid: string; id: string }>`select xid::text, id::text from session_events
  where xid < pg_snapshot_xmin(pg_current_snapshot()) order by xid desc, id desc limit 1`;

/**
 * Inserts the endpoint with its cursor at the feed head, or at `floor` (the
 * retention horizon) when that is later, so only later events are delivered;
 * unless `max` are registered already: then returns false.
 */
export async function insertEndpoint(
  db: Db,
  endpoint: NewEndpoint,
  max: number,
  floor: EventPosition | undefined,
): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(${REGISTRATION_LOCK})`.execute(tx);
    const count = await tx
      .selectFrom("webhook_endpoints")
      .select((eb) => eb.fn.countAll<string>().as("n"))
      .executeTakeFirstOrThrow();
    if (Number(count.n) >= max) return false;
    const head = await selectFeedHead(tx);
    const start = head === undefined || (floor !== undefined && comparePositions(head, floor) < 0) ? floor : head;
    await tx
      .insertInto("webhook_endpoints")
      .values({
        id: endpoint.id,
        url: endpoint.url,
        event_types: toTextArray(endpoint.eventTypes),
        description: endpoint.description,
        secret: endpoint.secret,
        created_at: endpoint.createdAt,
        cursor_xid: start === undefined ? null : sql<string>`${start.xid.toString()}::xid8`,
        cursor_id: start === undefined ? null : start.id.toString(),
      })
      .execute();
    return true;
  });
}

/** The endpoint, or undefined. */
export async function selectEndpoint(db: Db, id: string): Promise<WebhookEndpoint | undefined> {
  const row = await db.selectFrom("webhook_endpoints").select(ENDPOINT_COLUMNS).where("id", "=", id).executeTakeFirst();
  return row && toEndpoint(row);
}

/** Up to `limit` endpoints, oldest first. */
export async function selectEndpoints(db: Db, limit: number): Promise<WebhookEndpoint[]> {
  const rows = await db
    .selectFrom("webhook_endpoints")
    .select(ENDPOINT_COLUMNS)
    .orderBy("created_at")
    .orderBy("id")
    .limit(limit)
    .execute();
  return rows.map(toEndpoint);
}

/**
 * Applies the change; a changed URL, type list or enabled flag also makes a
 * pending retry due at once. Returns the endpoint after it, or undefined.
 */
export async function updateEndpoint(db: Db, id: string, change: EndpointChange): Promise<WebhookEndpoint | undefined> {
  const retryNow = change.url !== undefined || change.eventTypes !== undefined || change.enabled !== undefined;
  const row = await db
    .updateTable("webhook_endpoints")
    .set({
      ...(change.url === undefined ? {} : { url: change.url }),
      ...(change.eventTypes === undefined ? {} : { event_types: toTextArray(change.eventTypes) }),
      ...(change.description === undefined ? {} : { description: change.description }),
      ...(change.enabled === undefined ? {} : { enabled: change.enabled }),
      ...(retryNow ? { next_attempt_at: null } : {}),
    })
    .where("id", "=", id)
    .returning(ENDPOINT_COLUMNS)
    .executeTakeFirst();
  return row && toEndpoint(row);
}

/** Replaces the endpoint's signing secret; returns the endpoint, or undefined when there is none. */
export async function updateSecret(db: Db, id: string, secret: string): Promise<WebhookEndpoint | undefined> {
  const row = await db
    .updateTable("webhook_endpoints")
    .set({ secret })
    .where("id", "=", id)
    .returning(ENDPOINT_COLUMNS)
    .executeTakeFirst();
  return row && toEndpoint(row);
}

/** Deletes the endpoint; false when there was none. */
export async function deleteEndpoint(db: Db, id: string): Promise<boolean> {
  const result = await db.deleteFrom("webhook_endpoints").where("id", "=", id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/**
 * Takes every enabled endpoint whose lease is free or expired, and renews
 * those `owner` holds once a third of their lease has passed, for `leaseMs`;
 * returns the ids taken or renewed.
 */
export async function takeLeases(db: Db, owner: string, leaseMs: number): Promise<string[]> {
  const seconds = leaseMs / 1_000;
  const rows = await sql<{ id: string }>`update webhook_endpoints
    set lease_owner = ${owner}, lease_until = now() + make_interval(secs => ${seconds})
    where enabled and (lease_until is null or lease_until < now()
      or (lease_owner = ${owner} and lease_until < now() + make_interval(secs => ${(seconds * 2) / 3})))
    returning id`.execute(db);
  return rows.rows.map((row) => row.id);
}

/** Gives up `owner`'s lease on one endpoint (`id`), or on all of them. */
export async function releaseLeases(db: Db, owner: string, id?: string): Promise<void> {
  await sql`update webhook_endpoints set lease_owner = null, lease_until = null
    where lease_owner = ${owner} ${id === undefined ? sql`` : sql`and id = ${id}`}`.execute(db);
}

/** The endpoint with its secret, if it is enabled and `owner` still holds its lease. */
export async function selectTarget(db: Db, id: string, owner: string): Promise<DeliveryTarget | undefined> {
  const row = await db
    .selectFrom("webhook_endpoints")
    .select(ENDPOINT_COLUMNS)
    .select([
      "secret",
      sql<number>`greatest(0, ceil(extract(epoch from (next_attempt_at - now())) * 1000))::float8`.as("wait_ms"),
    ])
    .where("id", "=", id)
    .where("enabled", "=", true)
    .where("lease_owner", "=", owner)
    .where(sql<boolean>`lease_until > now()`)
    .executeTakeFirst();
  return row && { ...toEndpoint(row), secret: row.secret, waitMs: Number(row.wait_ms ?? 0) };
}

/** The position of the newest event every reader can see, or undefined (see FEED_HEAD). */
export async function selectFeedHead(db: Db): Promise<EventPosition | undefined> {
  const row = (await FEED_HEAD.execute(db)).rows[0];
  return row && { xid: BigInt(row.xid), id: BigInt(row.id) };
}

/**
 * Moves the cursor to `position` while `owner` holds the lease; `delivered`
 * also records a success (clearing the retry state). False when the lease is
 * lost or the endpoint was disabled or deleted meanwhile.
 */
export async function advanceCursor(
  db: Db,
  id: string,
  owner: string,
  position: EventPosition,
  delivered: boolean,
): Promise<boolean> {
  const result = await sql`update webhook_endpoints
    set cursor_xid = ${position.xid.toString()}::xid8, cursor_id = ${position.id.toString()}::bigint
      ${delivered ? sql`, attempts = 0, next_attempt_at = null, last_error = null, last_success_at = now()` : sql``}
    where id = ${id} and lease_owner = ${owner} and enabled`.execute(db);
  return Number(result.numAffectedRows ?? 0n) > 0;
}

/**
 * Records a failed attempt while `owner` holds the lease: attempts + 1, the
 * error category, and the next attempt `delayMs` from now (by the database's
 * clock, so it survives a restart). False when the lease is lost or the
 * endpoint was disabled or deleted meanwhile.
 */
export async function recordFailure(
  db: Db,
  id: string,
  owner: string,
  error: string,
  delayMs: number,
): Promise<boolean> {
  const result = await sql`update webhook_endpoints
    set attempts = attempts + 1, last_error = ${error},
      next_attempt_at = now() + make_interval(secs => ${delayMs / 1_000})
    where id = ${id} and lease_owner = ${owner} and enabled`.execute(db);
  return Number(result.numAffectedRows ?? 0n) > 0;
}

const ENDPOINT_COLUMNS = [
  "id",
  "url",
  "event_types",
  "description",
  "enabled",
  "created_at",
  sql<string | null>`cursor_xid::text`.as("cursor_xid"),
  sql<string | null>`cursor_id::text`.as("cursor_id"),
  "attempts",
  "next_attempt_at",
  "last_success_at",
  "last_error",
] as const;

interface EndpointRow {
  id: string;
  url: string;
  event_types: string[];
  description: string;
  enabled: boolean;
  created_at: Date;
  cursor_xid: string | null;
  cursor_id: string | null;
  attempts: number;
  next_attempt_at: Date | null;
  last_success_at: Date | null;
  last_error: string | null;
}

function toTextArray(types: readonly EventType[]) {
  return sql<string[]>`${`{${types.join(",")}}`}::text[]`;
}

function toEndpoint(row: EndpointRow): WebhookEndpoint {
  return {
    id: row.id,
    url: row.url,
    eventTypes: row.event_types as EventType[],
    description: row.description,
    enabled: row.enabled,
    createdAt: new Date(row.created_at),
    delivery: {
      cursor:
        row.cursor_xid === null || row.cursor_id === null
          ? undefined
          : { xid: BigInt(row.cursor_xid), id: BigInt(row.cursor_id) },
      lastSuccessAt: row.last_success_at === null ? undefined : new Date(row.last_success_at),
      attempts: Number(row.attempts),
      nextAttemptAt: row.next_attempt_at === null ? undefined : new Date(row.next_attempt_at),
      lastError: row.last_error ?? undefined,
    },
  };
}
