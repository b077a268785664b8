import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { applyClaimsPatch, validateInitialClaims } from "../claims/apply-claims-patch.js";
import type { ClaimsPolicy } from "../claims/claims-policy.js";
import type { JsonObject } from "../claims/json.js";
import type { Clock } from "../clock.js";
import type { DatabaseSchema } from "../db/schema.js";
import {
  ClaimsVersionMismatchError,
  SessionJwtTooLargeError,
  SessionLimitReachedError,
  SessionNotFoundError,
} from "../errors.js";
import type { SessionJwts } from "../tokens/session-jwt.js";
import { hashSessionToken, newSessionToken } from "../tokens/session-token.js";
import { extendedExpiry, isActive, type Session, type SessionAttributes } from "./session.js";
import * as repo from "./session.repository.js";

/** How a caller proves which session it means. */
export type SessionCredential =
  | { readonly kind: "token"; readonly token: string }
  | { readonly kind: "jwt"; readonly jwt: string }
  | { readonly kind: "id"; readonly sessionId: string };

/** A session with freshly issued credentials. */
export interface IssuedSession {
  readonly session: Session;
  /** The session token, when the caller has it (not after authenticating by JWT). */
  readonly sessionToken: string | undefined;
  readonly sessionJwt: string;
}

/** Input of SessionService.create, already validated at the edge. */
export interface CreateSessionInput {
  readonly userId: string;
  readonly durationMinutes: number;
  readonly customClaims: JsonObject;
  readonly attributes: SessionAttributes;
  readonly roles: readonly string[];
}

/** Input of SessionService.authenticate, already validated at the edge. */
export interface AuthenticateSessionInput {
  readonly credential: Exclude<SessionCredential, { kind: "id" }>;
  readonly durationMinutes: number | undefined;
  readonly patch: JsonObject | undefined;
  readonly expectedClaimsVersion: bigint | undefined;
}

/** Where a page of a user's sessions starts: after this session, in the order newest first. */
export type SessionCursor = repo.SessionCursor;

/** Which page of a user's sessions to list. */
export interface SessionPageRequest {
  /** Most sessions to return (at least 1). */
  readonly limit: number;
  /** Return only sessions after this one (newest first); undefined starts at the newest. */
  readonly after?: SessionCursor;
}

/** A page of a user's active sessions, newest first. */
export interface SessionPage {
  readonly sessions: Session[];
  /** Whether more active sessions follow the last one. */
  readonly more: boolean;
}

/** The session logic behind every API surface (named apart from the generated SessionService descriptor). */
export interface Sessions {
  /** Refused with SessionLimitReachedError when the user already has maxSessionsPerUser active sessions. */
  create(input: CreateSessionInput): Promise<IssuedSession>;
  authenticate(input: AuthenticateSessionInput): Promise<IssuedSession>;
  /** A page of the user's active sessions; without `page`, the newest maxSessionsPerUser of them. */
  list(userId: string, page?: SessionPageRequest): Promise<SessionPage>;
  revoke(credential: SessionCredential): Promise<void>;
}

/** Dependencies of the session service. */
export interface SessionsDeps {
  readonly db: Kysely<DatabaseSchema>;
  readonly jwts: SessionJwts;
  readonly clock: Clock;
  readonly claimsPolicy: ClaimsPolicy;
  /** Most active sessions of one user; enforced in the database, so it holds across replicas. */
  readonly maxSessionsPerUser: number;
  /** Longest session JWT that may be minted: what authenticate accepts back as a credential. */
  readonly maxJwtLength: number;
}

/** Builds the session service. Concurrency is left to the database: row and advisory locks, never in-process locks. */
export function createSessions(deps: SessionsDeps): Sessions {
  const { db, jwts, clock, claimsPolicy, maxSessionsPerUser, maxJwtLength } = deps;

  /** Refuses a session state whose JWT would be too long to be accepted back; called before anything is written. */
  function checkJwtLength(session: Session): void {
    const length = jwts.length(session);
    if (length > maxJwtLength) throw new SessionJwtTooLargeError(length, maxJwtLength);
  }

  /** Resolves a credential to a lookup key; a JWT must verify first. */
  async function keyOf(credential: SessionCredential): Promise<repo.SessionKey> {
    switch (credential.kind) {
      case "token":
        return { tokenHash: hashSessionToken(credential.token) };
      case "id":
        return { sessionId: credential.sessionId };
      case "jwt":
        return { sessionId: (await jwts.verify(credential.jwt)).sessionId };
    }
  }

  /** The claims and version after a patch, or ClaimsVersionMismatchError when the caller's version is stale. */
  function nextState(
    current: Session,
    expectedClaimsVersion: bigint | undefined,
    patch: JsonObject | undefined,
  ): { customClaims: JsonObject; claimsVersion: bigint } {
    if (expectedClaimsVersion !== undefined && expectedClaimsVersion !== current.claimsVersion) {
      throw new ClaimsVersionMismatchError(expectedClaimsVersion, current.claimsVersion);
    }
    if (patch === undefined) return { customClaims: current.customClaims, claimsVersion: current.claimsVersion };
    const customClaims = applyClaimsPatch(current.customClaims, patch, claimsPolicy);
    // Only the claims change the JWT's length: timestamps keep their width, and the rest is fixed at create.
    checkJwtLength({ ...current, customClaims });
    return { customClaims, claimsVersion: current.claimsVersion + 1n };
  }

  /** The contended path: the same change under the row lock (BEGIN, SELECT … FOR UPDATE, UPDATE, COMMIT). */
  function authenticateLocked(
    key: repo.SessionKey,
    durationMinutes: number | undefined,
    expectedClaimsVersion: bigint | undefined,
    patch: JsonObject | undefined,
  ): Promise<Session | undefined> {
    return db.transaction().execute(async (trx) => {
      const current = await repo.findActive(trx, key, clock(), { lock: true });
      if (current === undefined) return undefined;
      // The clock is read again under the row lock, so writers of one session stamp in commit order and
      // a call that waited past the expiry does not revive the session; last_accessed_at never goes back.
      const lockedNow = new Date(Math.max(clock().getTime(), current.lastAccessedAt.getTime()));
      if (!isActive(current, lockedNow)) return undefined;
      const change = nextState(current, expectedClaimsVersion, patch);
      return repo.updateAuthenticated(trx, current.id, {
        lastAccessedAt: lockedNow,
        expiresAt: durationMinutes === undefined ? current.expiresAt : extendedExpiry(lockedNow, durationMinutes),
        ...change,
      });
    });
  }

  return {
    async create(input) {
      const customClaims = validateInitialClaims(input.customClaims, claimsPolicy);
      const now = clock();
      const token = newSessionToken();
      const session: Session = {
        id: `session-${randomUUID()}`,
        userId: input.userId,
        startedAt: now,
        lastAccessedAt: now,
        expiresAt: extendedExpiry(now, input.durationMinutes),
        revokedAt: null,
        attributes: input.attributes,
        roles: [...input.roles],
        customClaims,
        claimsVersion: 0n,
      };
      checkJwtLength(session);
      await db.transaction().execute(async (trx) => {
        // Creates for one user queue here, on every connection and replica, so the count cannot go stale
        // before the insert; the count is read after the lock, in a snapshot that sees earlier commits.
        await repo.lockUserSessions(trx, session.userId);
        const active = await repo.countActiveByUser(trx, session.userId, now, maxSessionsPerUser);
        if (active >= maxSessionsPerUser) throw new SessionLimitReachedError(maxSessionsPerUser);
        await repo.insertSession(trx, session, hashSessionToken(token));
      });
      return { session, sessionToken: token, sessionJwt: await jwts.mint(session) };
    },

    async authenticate(input) {
      const key = await keyOf(input.credential);
      const now = clock();
      const patch = input.patch !== undefined && Object.keys(input.patch).length > 0 ? input.patch : undefined;

      let session: Session | undefined;
      if (patch === undefined && input.expectedClaimsVersion === undefined) {
        // Nothing to read before writing: one statement, one round trip.
        session = await repo.touchActive(db, key, now, input.durationMinutes);
      } else {
        // Optimistic first: read, then one compare-and-set UPDATE on claims_version (two round trips, no
        // transaction). Only when another writer got in between does it take the row lock and redo the work.
        const read = await repo.findActive(db, key, now);
        if (read === undefined) throw new SessionNotFoundError();
        const change = nextState(read, input.expectedClaimsVersion, patch);
        session = await repo.updateIfVersion(db, read.id, read.claimsVersion, clock(), {
          durationMinutes: input.durationMinutes,
          ...change,
        });
        session ??= await authenticateLocked(key, input.durationMinutes, input.expectedClaimsVersion, patch);
      }
      if (session === undefined) throw new SessionNotFoundError();
      const sessionToken = input.credential.kind === "token" ? input.credential.token : undefined;
      return { session, sessionToken, sessionJwt: await jwts.mint(session) };
    },

    async list(userId, page = { limit: maxSessionsPerUser }) {
      // One row past the page tells whether more follow.
      const rows = await repo.listActiveByUser(db, userId, clock(), { limit: page.limit + 1, after: page.after });
      return { sessions: rows.slice(0, page.limit), more: rows.length > page.limit };
    },

    async revoke(credential) {
      const key = await keyOf(credential);
      if (!(await repo.revoke(db, key, clock()))) throw new SessionNotFoundError();
    },
  };
}
