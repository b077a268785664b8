import type { EventPosition, EventType } from "../events/event.js";

/** Where delivery to an endpoint stands. */
export interface DeliveryState {
  /** Every event up to here was delivered or is not of the endpoint's types; undefined: the start of the feed. */
  readonly cursor: EventPosition | undefined;
  readonly lastSuccessAt: Date | undefined;
  /** Failed attempts since the last success. */
  readonly attempts: number;
  readonly nextAttemptAt: Date | undefined;
  /** A short category ("http_503", "timeout", ...), never a response body. */
  readonly lastError: string | undefined;
}

/** A registered webhook endpoint, as shown to callers: never its secret. */
export interface WebhookEndpoint {
  readonly id: string;
  readonly url: string;
  /** Types delivered; empty means all. */
  readonly eventTypes: readonly EventType[];
  readonly description: string;
  readonly enabled: boolean;
  readonly createdAt: Date;
  readonly delivery: DeliveryState;
}

/** An endpoint as its delivery loop sees it: with the secret it signs with, and how long until a retry is due. */
export interface DeliveryTarget extends WebhookEndpoint {
  readonly secret: string;
  /** Milliseconds until next_attempt_at by the database's clock; 0 when due now. */
  readonly waitMs: number;
}
