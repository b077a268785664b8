import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Database } from "../db/database.js";
import { EVENTS_CHANNEL } from "../events/event-feed.js";
import { createWakeSignal } from "../events/wake-signal.js";
import type { Logger } from "../logger.js";
import { describe } from "../rpc/error-mapper.js";
import { createConcurrencyLimit } from "./concurrency-limit.js";
import { type DeliveryLoopDeps, runDeliveryLoop } from "./delivery-loop.js";
import { releaseLeases, takeLeases } from "./webhook-endpoint.repository.js";

/** Options of createWebhookDispatcher; the loop dependencies it builds itself are left out. */
export interface WebhookDispatcherOptions extends Omit<DeliveryLoopDeps, "owner" | "limit" | "wake" | "logger"> {
  readonly logger: Logger;
  /** Subscribes to NOTIFY on a channel (Database.listen); undefined polls only. */
  readonly listen?: Database["listen"];
  /** Most POSTs in flight over every endpoint. */
  readonly maxConcurrency: number;
  /** How long a lease lasts unless renewed. */
  readonly leaseMs: number;
}

/** Runs one delivery loop per enabled endpoint this replica holds the lease of. */
export interface WebhookDispatcher {
  /** Starts taking leases and delivering (and listening for NOTIFY). */
  start(): Promise<void>;
  /** Looks for new or changed endpoints now (after a create or update on this server); nothing before start(). */
  poke(): void;
  /** Endpoints this server is delivering to. */
  delivering(): number;
  /** Stops every loop (cutting POSTs in flight: their events are redelivered), then gives the leases up. */
  stop(): Promise<void>;
}

/**
 * Creates the dispatcher. Each endpoint is delivered by the replica holding
 * its lease in the database (taken when free or expired, renewed every third
 * of WEBHOOK_LEASE_MS, given up on shutdown), so replicas do not deliver the
 * same events twice in normal operation; a crashed replica's endpoints move on
 * once its leases expire.
 */
export function createWebhookDispatcher(options: WebhookDispatcherOptions): WebhookDispatcher {
  const owner = `${hostname()}/${process.pid}/${randomUUID()}`;
  const logger = options.logger.child({ component: "webhooks" });
  const wake = createWakeSignal();
  const deps: DeliveryLoopDeps = {
    ...options,
    owner,
    logger,
    wake,
    limit: createConcurrencyLimit(options.maxConcurrency),
  };
  const stopping = new AbortController();
  const loops = new Map<string, Promise<void>>();
  const tickMs = Math.min(options.pollIntervalMs, Math.floor(options.leaseMs / 3));
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;
  let again = false;
  let stopListening: (() => Promise<void>) | undefined;
  let started = false;

  const startLoop = (id: string) => {
    const done = runDeliveryLoop(id, deps, stopping.signal)
      .catch((err: unknown) => logger.error({ endpoint: id, err: describe(err) }, "webhook delivery loop crashed"))
      .finally(async () => {
        loops.delete(id);
        options.metrics.forget(id);
        // Disabled, deleted or taken over: give back what is still ours, so another replica need not wait.
        if (!stopping.signal.aborted) await releaseLeases(options.db, owner, id).catch(() => {});
      });
    loops.set(id, done);
  };

  async function tick(): Promise<void> {
    try {
      const held = await takeLeases(options.db, owner, options.leaseMs);
      for (const id of held) if (!loops.has(id) && !stopping.signal.aborted) startLoop(id);
    } catch (err) {
      logger.warn({ err: describe(err) }, "webhook lease update failed; retrying");
    }
  }

  /** Runs ticks one at a time; a poke during a tick runs one more after it. */
  function runTick(): void {
    if (stopping.signal.aborted) return;
    if (ticking !== undefined) {
      again = true;
      return;
    }
    clearTimeout(timer);
    ticking = tick().finally(() => {
      ticking = undefined;
      if (stopping.signal.aborted) return;
      if (again) {
        again = false;
        runTick();
      } else timer = setTimeout(runTick, tickMs);
    });
  }

  return {
    async start() {
      if (stopping.signal.aborted || started) return;
      started = true;
      if (options.listen !== undefined) {
        try {
          const stop = await options.listen(EVENTS_CHANNEL, () => wake.wake());
          // Stopped while LISTEN was being set up: undo it at once.
          if (stopping.signal.aborted) await stop();
          else stopListening = stop;
        } catch (err) {
          logger.warn({ err: describe(err) }, "webhook LISTEN failed; delivery polls");
        }
      }
      runTick();
    },
    poke() {
      // Before start() (an app that never listens) nothing is delivered.
      if (!started) return;
      runTick();
      wake.wake();
    },
    delivering: () => loops.size,
    async stop() {
      stopping.abort();
      clearTimeout(timer);
      await ticking;
      await Promise.all(loops.values());
      await stopListening?.().catch(() => {});
      await releaseLeases(options.db, owner).catch((err: unknown) => {
        logger.warn({ err: describe(err) }, "webhook lease release failed; leases expire on their own");
      });
    },
  };
}
