import { timestampMs } from "@bufbuild/protobuf/wkt";
import { errors, type JWTPayload, jwtVerify } from "jose";
import { type Event, EventType } from "../../../gen/tessera/events/v1/event_service_pb.js";
import { createEventFeed } from "./event-feed.js";
import { createJwksCache } from "./jwks-cache.js";
import { SessionState } from "./session-state.js";

/** What to do with a JWT whose claims_version is below the latest the feed announced. */
export type StaleClaimsPolicy = "reject" | "flag" | "ignore";

/** Options of createVerifier. */
export interface VerifierOptions {
  /** Tessera's base URL, e.g. http://127.0.0.1:8080 (the feed and the JWKS). */
  readonly url: string;
  /** An API key of Tessera, for the event feed. */
  readonly apiKey: string;
  /** The expected `iss` (Tessera's JWT_ISSUER). */
  readonly issuer: string;
  /** The expected `aud` (Tessera's JWT_AUDIENCE). */
  readonly audience: string;
  /** Tessera's CLAIMS_NAMESPACE; the session claim is `<namespace>session`. Default https://tessera.dev/. */
  readonly namespace?: string;
  /** Stale claims: reject (reason stale_claims), flag (ok with stale: true) or ignore. Default flag. */
  readonly staleClaims?: StaleClaimsPolicy;
  /** The feed counts as down after this long without a message (events or heartbeat). Default 30000. */
  readonly feedDownAfterMs?: number;
  /** While the feed is down: reject everything (fail-closed, default) or verify without it (fail-open). */
  readonly whenFeedDown?: "fail-closed" | "fail-open";
  /** Wire protocol of the feed. Default grpc. */
  readonly protocol?: "grpc" | "connect";
  /** Least time between two JWKS fetches caused by an unknown `kid`. Default 1000. */
  readonly jwksMinRefreshMs?: number;
  /** Reconnect backoff: first delay and ceiling. Defaults 100 and 5000. */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** How long a claims_version is remembered: Tessera's longest JWT lifetime. Default 86400. */
  readonly maxJwtTtlSeconds?: number;
  /** Seconds of clock skew allowed on `exp`/`nbf`. Default 5. */
  readonly clockToleranceSeconds?: number;
  /** The clock, in milliseconds since the epoch. Default Date.now. */
  readonly now?: () => number;
  /** Called when a watch breaks (the verifier reconnects by itself). */
  readonly onFeedError?: (err: unknown) => void;
}

/** The feed's state as a verification saw it. */
export type FeedState = "live" | "down-open" | "down-closed";

/** Why a JWT was refused. */
export type RejectReason =
  | "invalid_token"
  | "expired"
  | "wrong_issuer_or_audience"
  | "no_session_claim"
  | "revoked"
  | "stale_claims"
  | "feed_down";

/** The outcome of verify. */
export type VerifyResult =
  | {
      readonly ok: true;
      readonly sessionId: string;
      readonly claims: JWTPayload;
      /** True when the JWT's claims_version is below the latest the feed announced. */
      readonly stale: boolean;
      readonly feed: FeedState;
    }
  | { readonly ok: false; readonly reason: RejectReason; readonly sessionId?: string; readonly feed: FeedState };

/** A local verifier of Tessera session JWTs that follows the change-event feed. */
export interface Verifier {
  /** Verifies one JWT; never throws for a bad token. */
  verify(jwt: string): Promise<VerifyResult>;
  /** Fetches the JWKS and reads the feed's history (the deny list), then follows the feed. */
  start(): Promise<void>;
  /** Stops following the feed. */
  close(): Promise<void>;
}

/** Builds a verifier; call start() before verify(). */
export function createVerifier(options: VerifierOptions): Verifier {
  const now = options.now ?? Date.now;
  const sessionClaim = `${options.namespace ?? "https://tessera.dev/"}session`;
  const staleClaims = options.staleClaims ?? "flag";
  const feedDownAfterMs = options.feedDownAfterMs ?? 30_000;
  const failOpen = options.whenFeedDown === "fail-open";
  const keepClaimsMs = (options.maxJwtTtlSeconds ?? 86_400) * 1000;
  const state = new SessionState();
  const jwks = createJwksCache(options.url, options.jwksMinRefreshMs ?? 1000, now);
  let lastAliveMs = Number.NEGATIVE_INFINITY;
  let lastPruneMs = Number.NEGATIVE_INFINITY;

  const apply = (events: readonly Event[]) => {
    const nowMs = now();
    for (const e of events) {
      switch (e.type) {
        case EventType.SESSION_REVOKED:
          state.apply({
            kind: "revoked",
            sessionId: e.sessionId,
            denyUntilMs: e.denyUntil !== undefined ? timestampMs(e.denyUntil) : nowMs + keepClaimsMs,
          });
          break;
        case EventType.SESSION_EXPIRED:
          // Its JWTs have expired already; the entry covers clock skew and a JWT minted at the last moment.
          state.apply({ kind: "revoked", sessionId: e.sessionId, denyUntilMs: eventMs(e, nowMs) + 120_000 });
          break;
        case EventType.SESSION_CLAIMS_CHANGED:
          state.apply({
            kind: "claims-changed",
            sessionId: e.sessionId,
            claimsVersion: Number(e.claimsVersion),
            keepUntilMs: eventMs(e, nowMs) + keepClaimsMs,
          });
          break;
        case EventType.SIGNING_KEY_ROTATED:
          void jwks.refresh(true).catch((err: unknown) => options.onFeedError?.(err));
          break;
        default:
          break;
      }
    }
    state.prune(nowMs);
  };

  const feed = createEventFeed({
    url: options.url,
    apiKey: options.apiKey,
    protocol: options.protocol ?? "grpc",
    minBackoffMs: options.minBackoffMs ?? 100,
    maxBackoffMs: options.maxBackoffMs ?? 5000,
    onEvents: apply,
    onAlive: () => {
      lastAliveMs = now();
      // Heartbeats prune too, so a quiet feed still lets passed entries go.
      if (lastAliveMs - lastPruneMs >= 1000) {
        lastPruneMs = lastAliveMs;
        state.prune(lastAliveMs);
      }
    },
    ...(options.onFeedError !== undefined ? { onError: options.onFeedError } : {}),
  });

  async function checkSignature(jwt: string): Promise<JWTPayload | RejectReason> {
    const verifyOptions = {
      issuer: options.issuer,
      audience: options.audience,
      typ: "JWT",
      algorithms: ["ES256", "EdDSA", "RS256"],
      clockTolerance: options.clockToleranceSeconds ?? 5,
      currentDate: new Date(now()),
    };
    for (let attempt = 0; ; attempt++) {
      try {
        return (await jwtVerify(jwt, jwks.getKey, verifyOptions)).payload;
      } catch (err) {
        if (err instanceof errors.JWKSNoMatchingKey && attempt === 0 && (await jwks.refresh().catch(() => false))) {
          continue;
        }
        if (err instanceof errors.JWTExpired) return "expired";
        if (err instanceof errors.JWTClaimValidationFailed) return "wrong_issuer_or_audience";
        return "invalid_token";
      }
    }
  }

  return {
    async start() {
      await jwks.refresh(true);
      await feed.start();
    },
    close: () => feed.close(),
    async verify(jwt) {
      const nowMs = now();
      const feedState: FeedState =
        nowMs - lastAliveMs <= feedDownAfterMs ? "live" : failOpen ? "down-open" : "down-closed";
      const payload = await checkSignature(jwt);
      if (typeof payload === "string") return { ok: false, reason: payload, feed: feedState };
      const session = payload[sessionClaim];
      const sessionId = isRecord(session) && typeof session.id === "string" ? session.id : undefined;
      if (!isRecord(session) || sessionId === undefined)
        return { ok: false, reason: "no_session_claim", feed: feedState };
      if (feedState === "down-closed") return { ok: false, reason: "feed_down", sessionId, feed: feedState };
      const facts = state.facts(sessionId, nowMs);
      if (facts.deniedUntilMs !== undefined) return { ok: false, reason: "revoked", sessionId, feed: feedState };
      const version = typeof session.claims_version === "number" ? session.claims_version : 0;
      const stale = staleClaims !== "ignore" && facts.claimsVersion !== undefined && version < facts.claimsVersion;
      if (stale && staleClaims === "reject") return { ok: false, reason: "stale_claims", sessionId, feed: feedState };
      return { ok: true, sessionId, claims: payload, stale, feed: feedState };
    },
  };
}

function eventMs(e: Event, fallback: number): number {
  return e.time !== undefined ? timestampMs(e.time) : fallback;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
