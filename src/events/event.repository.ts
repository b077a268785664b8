import { type Kysely, type RawBuilder, sql } from "kysely";
import type { DatabaseSchema } from "../db/schema.js";
import { EventCursorExpiredError } from "../errors.js";
import type { ChangeEvent, EventPosition, EventType } from "./event.js";

type Db = Kysely<DatabaseSchema>;

/** An event to write; the transaction id and event id are set by the database. */
export interface NewEvent {
  readonly time: Date;
  readonly type: EventType;
  readonly sessionId?: string;
  readonly userId?: string;
  readonly claimsVersion?: bigint;
  readonly keyId?: string;
  readonly templateVersion?: bigint;
}

/** Writes one event; call inside the transaction of the change it reports. */
export async function insertEvent(db: Db, event: NewEvent): Promise<void> {
  await db
    .insertInto("session_events")
    .values({
      occurred_at: event.time,
      type: event.type,
      session_id: event.sessionId ?? null,
      user_id: event.userId ?? null,
      claims_version: event.claimsVersion?.toString() ?? null,
      key_id: event.keyId ?? null,
      template_version: event.templateVersion?.toString() ?? null,
    })
    .execute();
}

/**
 * The head of an INSERT writing one event per row of a data-modifying CTE
 * (the same statement as the change): follow it with
 * `select <time>, <type>, session_id, user_id, claims_version, <deny_until> from <cte>`.
 */
export const INSERT_SESSION_EVENTS: RawBuilder<unknown> = sql`insert into session_events
  (occurred_at, type, session_id, user_id, claims_version, deny_until)`;

/** The deny_until of a revocation at `now` of a session expiring at `expiresAt` (SQL), `windowSeconds` after it at most. */
export function denyUntil(now: Date, windowSeconds: number): RawBuilder<Date> {
  return sql<Date>`least(${now}::timestamptz + make_interval(secs => ${windowSeconds}), expires_at)`;
}

/**
 * Up to `limit` events after `after`, in cursor order, of transactions older
 * than every transaction still in flight (pg_snapshot_xmin of this statement's
 * snapshot): a transaction that has not committed yet can only add events
 * positioned after every event returned, so a reader never skips one.
 * Throws EventCursorExpiredError when `after` is below the retention horizon
 * (read in the same statement, so in the same snapshot as the events).
 */
export async function readEvents(
  db: Db,
  after: EventPosition | undefined,
  limit: number,
  types: readonly EventType[],
): Promise<ChangeEvent[]> {
  const afterHorizon =
    after === undefined
      ? sql`false`
      : sql`(h.xid, h.id) > (${after.xid.toString()}::xid8, ${after.id.toString()}::bigint)`;
  const rows = await sql<ReadRow>`select e.id::text, e.xid::text, e.occurred_at, e.type, e.session_id, e.user_id,
      e.claims_version::text, e.deny_until, e.key_id, e.template_version::text, ${afterHorizon} as expired
    from (select 1) one
    left join event_horizon h on h.singleton
    left join lateral (select * from session_events
      where xid < pg_snapshot_xmin(pg_current_snapshot())
        ${after === undefined ? sql`` : sql`and (xid, id) > (${after.xid.toString()}::xid8, ${after.id.toString()}::bigint)`}
        ${types.length === 0 ? sql`` : sql`and type in (${sql.join(types)})`}
      order by xid, id
      limit ${limit}) e on true
    order by e.xid, e.id`.execute(db);
  if (rows.rows.some((row) => row.expired === true)) throw new EventCursorExpiredError();
  return rows.rows.filter((row): row is EventRow & Expired => row.id !== null).map(toEvent);
}

/** The position of the newest event the sweeper deleted; a cursor below it has missed events. */
export async function readEventHorizon(db: Db): Promise<EventPosition | undefined> {
  const rows = await sql<{ xid: string; id: string }>`select xid::text, id::text from event_horizon
    where singleton`.execute(db);
  const row = rows.rows[0];
  return row === undefined ? undefined : { xid: BigInt(row.xid), id: BigInt(row.id) };
}

/**
 * Deletes up to `limit` events that happened before `before` and raises the
 * retention horizon to the newest one deleted, in one statement; returns how many.
 */
export async function deleteEventsBefore(db: Db, before: Date, limit: number): Promise<number> {
  const result = await sql<{ deleted: string }>`with gone as (
      delete from session_events where id in (
        select id from session_events where occurred_at < ${before} limit ${limit})
      returning xid, id),
    newest as (select xid, id from gone order by xid desc, id desc limit 1),
    raised as (
      insert into event_horizon (singleton, xid, id) select true, xid, id from newest
      on conflict (singleton) do update set xid = excluded.xid, id = excluded.id
        where (event_horizon.xid, event_horizon.id) < (excluded.xid, excluded.id))
    select count(*)::text as deleted from gone`.execute(db);
  return Number(result.rows[0]?.deleted ?? 0);
}

/** Whether the cursor read from is below the horizon (null: no horizon yet). */
interface Expired {
  expired: boolean | null;
}

/** A row of readEvents: an event, or all nulls when there is none (the horizon check still comes back). */
type ReadRow = (EventRow | { [K in keyof EventRow]: null }) & Expired;

interface EventRow {
  id: string;
  xid: string;
  occurred_at: Date;
  type: string;
  session_id: string | null;
  user_id: string | null;
  claims_version: string | null;
  deny_until: Date | null;
  key_id: string | null;
  template_version: string | null;
}

function toEvent(row: EventRow): ChangeEvent {
  return {
    position: { xid: BigInt(row.xid), id: BigInt(row.id) },
    time: new Date(row.occurred_at),
    type: row.type as EventType,
    sessionId: row.session_id ?? undefined,
    userId: row.user_id ?? undefined,
    claimsVersion: row.claims_version === null ? undefined : BigInt(row.claims_version),
    denyUntil: row.deny_until === null ? undefined : new Date(row.deny_until),
    keyId: row.key_id ?? undefined,
    templateVersion: row.template_version === null ? undefined : BigInt(row.template_version),
  };
}
