import type { Kysely } from "kysely";
import type { DatabaseSchema } from "../db/schema.js";
import { EventCursorExpiredError } from "../errors.js";
import type { EventPosition } from "../events/event.js";
import { readEvents } from "../events/event.repository.js";
import { encodeCursor } from "../events/event-cursor.js";
import type { WakeSignal } from "../events/wake-signal.js";
import type { Logger } from "../logger.js";
import { describe } from "../rpc/error-mapper.js";
import type { ConcurrencyLimit } from "./concurrency-limit.js";
import { comparePositions } from "./event-position.js";
import { type BackoffPolicy, retryDelayMs } from "./webhook-backoff.js";
import { advanceCursor, recordFailure, selectFeedHead, selectTarget } from "./webhook-endpoint.repository.js";
import { signWebhook } from "./webhook-message.js";
import type { WebhookMetrics } from "./webhook-metrics.js";
import { postWebhook } from "./webhook-post.js";

/** What a delivery loop needs, shared by every loop of the dispatcher. */
export interface DeliveryLoopDeps {
  readonly db: Kysely<DatabaseSchema>;
  /** This replica's lease owner name. */
  readonly owner: string;
  readonly logger: Logger;
  readonly metrics: WebhookMetrics;
  /** Bounds the POSTs in flight over every endpoint. */
  readonly limit: ConcurrencyLimit;
  /** Woken on NOTIFY: new events may be readable. */
  readonly wake: WakeSignal;
  /** The position of the newest event swept (readEventHorizon). */
  readonly readHorizon: (db: Kysely<DatabaseSchema>) => Promise<EventPosition | undefined>;
  readonly timeoutMs: number;
  readonly backoff: BackoffPolicy;
  readonly pollIntervalMs: number;
  /** Most events read (and so POSTed) per step; a changed URL, secret or type list applies from the next step. */
  readonly batchSize: number;
}

/** What a loop does after a step: stop (endpoint gone, disabled, lease lost, shutdown) or sleep a while. */
type Next =
  | { readonly stop: true }
  | { readonly sleepMs: number; readonly wakeable: boolean; readonly delivered?: boolean };

const STOP: Next = { stop: true };
const AGAIN: Next = { sleepMs: 0, wakeable: false };

/** After a NOTIFY, how often and how many times a caught-up loop re-reads before falling back to the poll interval. */
const NOTIFIED_RETRY_MS = 50;
const NOTIFIED_RETRIES = 20;

/**
 * Delivers the events of endpoint `id`, one POST at a time in cursor order,
 * until the endpoint is gone or disabled, this replica loses its lease, or
 * `signal` aborts. Failures of the database are logged and retried.
 */
export async function runDeliveryLoop(id: string, deps: DeliveryLoopDeps, signal: AbortSignal): Promise<void> {
  // Quick re-reads left after a NOTIFY found nothing: its event waits behind an older transaction still running.
  let retries = 0;
  const state: LoopState = { undelivered: undefined };
  while (!signal.aborted) {
    const wakesBefore = deps.wake.wakes();
    let next: Next;
    try {
      next = await step(id, deps, state, signal);
    } catch (err) {
      if (signal.aborted) return;
      next = { sleepMs: deps.pollIntervalMs, wakeable: false };
      try {
        // Events after the cursor were swept before they were delivered: jump to the horizon.
        if (err instanceof EventCursorExpiredError) next = (await jumpSweptGap(id, deps)) ? AGAIN : STOP;
        else deps.logger.warn({ endpoint: id, err: describe(err) }, "webhook delivery step failed; retrying");
      } catch (jumpErr) {
        deps.logger.warn({ endpoint: id, err: describe(jumpErr) }, "webhook delivery step failed; retrying");
      }
    }
    if ("stop" in next) return;
    // Found what it was woken for: no quick re-reads until the next NOTIFY.
    if (next.delivered === true) retries = 0;
    if (!next.wakeable) {
      if (next.sleepMs > 0) await sleep(next.sleepMs, signal);
      continue;
    }
    // A NOTIFY that came while this step ran may be for an event the step did not see yet.
    if (deps.wake.wakes() !== wakesBefore) {
      retries = NOTIFIED_RETRIES;
      continue;
    }
    const wait = retries > 0 ? NOTIFIED_RETRY_MS : next.sleepMs;
    retries = Math.max(0, retries - 1);
    if (await deps.wake.sleep(wait, signal)) retries = NOTIFIED_RETRIES;
  }
}

/** What a loop remembers between steps. */
interface LoopState {
  /** When the event a retry waits for happened, for the lag metric. */
  undelivered: Date | undefined;
}

/** One step: waits out a pending retry, or skips a swept gap, or delivers the next batch of events. */
async function step(id: string, deps: DeliveryLoopDeps, state: LoopState, signal: AbortSignal): Promise<Next> {
  const target = await selectTarget(deps.db, id, deps.owner);
  if (target === undefined) return STOP;
  deps.metrics.failing(id, target.delivery.attempts > 0);
  if (state.undelivered !== undefined) deps.metrics.lag(id, (Date.now() - state.undelivered.getTime()) / 1_000);
  // Re-read at least every poll interval: an UpdateWebhookEndpoint makes a pending retry due at once.
  if (target.waitMs > 0) return { sleepMs: Math.min(target.waitMs, deps.pollIntervalMs), wakeable: false };
  const cursor = target.delivery.cursor;
  // Read before the events, so every event of the endpoint's types up to it is in the batch (see selectFeedHead).
  const head = target.eventTypes.length > 0 ? await selectFeedHead(deps.db) : undefined;
  const events = await readEvents(deps.db, cursor, deps.batchSize, target.eventTypes);
  for (const event of events) {
    deps.metrics.lag(id, (Date.now() - event.time.getTime()) / 1_000);
    // The wall clock, not the app's Clock: receivers check webhook-timestamp against theirs (as retries use the database's).
    const message = signWebhook(event, target.secret, new Date());
    let seconds = 0;
    const result = await deps.limit.run(async () => {
      const started = performance.now();
      const posted = await postWebhook(target.url, message, deps.timeoutMs, signal);
      seconds = (performance.now() - started) / 1_000;
      return posted;
    }, signal);
    if ("aborted" in result) return STOP;
    deps.metrics.delivered(id, result.ok ? "success" : "failure", seconds);
    deps.metrics.failing(id, !result.ok);
    state.undelivered = result.ok ? undefined : event.time;
    if (result.ok) {
      if (!(await advanceCursor(deps.db, id, deps.owner, event.position, true))) return STOP;
      continue;
    }
    const attempts = target.delivery.attempts + 1;
    const delayMs = retryDelayMs(attempts, deps.backoff);
    deps.logger.warn(
      { endpoint: id, webhook_id: message.id, error: result.error, attempts, retry_in_ms: delayMs },
      "webhook delivery failed; will retry",
    );
    if (!(await recordFailure(deps.db, id, deps.owner, result.error, delayMs))) return STOP;
    return { sleepMs: 0, wakeable: false };
  }
  if (events.length === deps.batchSize) return { sleepMs: 0, wakeable: false };
  deps.metrics.lag(id, 0);
  // Caught up: move over the events of other types, so the cursor keeps up with the feed (and its retention).
  const reached = events.at(-1)?.position ?? cursor;
  if (head !== undefined && (reached === undefined || comparePositions(reached, head) < 0)) {
    if (!(await advanceCursor(deps.db, id, deps.owner, head, false))) return STOP;
  }
  return { sleepMs: deps.pollIntervalMs, wakeable: true, delivered: events.length > 0 };
}

/**
 * After readEvents refused the endpoint's cursor (EVENT_CURSOR_EXPIRED): moves
 * it to the retention horizon, counted and logged, since the events swept
 * before delivery are lost to this endpoint. False when the lease is lost.
 */
async function jumpSweptGap(id: string, deps: DeliveryLoopDeps): Promise<boolean> {
  const target = await selectTarget(deps.db, id, deps.owner);
  if (target === undefined) return false;
  const cursor = target.delivery.cursor;
  const horizon = await deps.readHorizon(deps.db);
  if (horizon === undefined || (cursor !== undefined && comparePositions(cursor, horizon) >= 0)) return true;
  if (!(await advanceCursor(deps.db, target.id, deps.owner, horizon, false))) return false;
  deps.metrics.gap(target.id);
  deps.logger.warn(
    { endpoint: target.id, from: cursor === undefined ? "" : encodeCursor(cursor), to: encodeCursor(horizon) },
    "webhook endpoint fell behind EVENT_RETENTION_SECONDS: events swept before delivery were skipped",
  );
  return true;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
