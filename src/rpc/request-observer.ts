import { randomUUID } from "node:crypto";
import type { Logger } from "../logger.js";

/** Observes each finished request: method, code name (`ok` or a gRPC code in snake_case) and duration. */
export type RpcObserver = (method: string, code: string, seconds: number) => void;

/** One request being observed: its id, and how to record its end. */
export interface Observation {
  /** The caller's valid `x-request-id`, or a new one. */
  readonly requestId: string;
  /** Records the end once: one log line and every observer. `fields` must hold no secret. */
  finish(code: string, fields?: Readonly<Record<string, unknown>>): void;
}

/** Request ids, log lines and metrics for every API surface (Connect and the Stytch dialect alike), in one place. */
export interface RequestObserver {
  /** Starts observing a request to `method`; `givenId` is the caller's x-request-id header, if any. */
  start(method: string, givenId: string | null | undefined, idPrefix?: string): Observation;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Builds the observer: one `info` line `"msg": "rpc"` per request, never with a message body. */
export function createRequestObserver(logger: Logger, observers: readonly RpcObserver[]): RequestObserver {
  return {
    start(method, givenId, idPrefix = "") {
      const started = process.hrtime.bigint();
      const requestId =
        typeof givenId === "string" && REQUEST_ID.test(givenId) ? givenId : `${idPrefix}${randomUUID()}`;
      let finished = false;
      return {
        requestId,
        finish(code, fields = {}) {
          if (finished) return;
          finished = true;
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          for (const observe of observers) observe(method, code, seconds);
          logger.info(
            { request_id: requestId, method, code, duration_ms: Math.round(seconds * 1e6) / 1e3, ...fields },
            "rpc",
          );
        },
      };
    },
  };
}
