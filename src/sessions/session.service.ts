import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { applyClaimsPatch, validateInitialClaims } from "../claims/apply-claims-patch.js";
import type { ClaimsPolicy } from "../claims/claims-policy.js";
import type { JsonObject } from "../claims/json.js";
import type { Clock } from "../clock.js";
import type { DatabaseSchema } from "../db/schema.js";
import { ClaimsVersionMismatchError, SessionNotFoundError } from "../errors.js";
import type { SessionJwts } from "../tokens/session-jwt.js";
import { hashSessionToken, newSessionToken } from "../tokens/session-token.js";
import { isActive, type Session, type SessionAttributes } from "./session.js";
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

/** The session logic behind every RPC. */
export interface SessionService {
  create(input: CreateSessionInput): Promise<IssuedSession>;
  authenticate(input: AuthenticateSessionInput): Promise<IssuedSession>;
  list(userId: string): Promise<Session[]>;
  revoke(credential: SessionCredential): Promise<void>;
}

/** Dependencies of the session service. */
export interface SessionServiceDeps {
  readonly db: Kysely<DatabaseSchema>;
  readonly jwts: SessionJwts;
  readonly clock: Clock;
  readonly claimsPolicy: ClaimsPolicy;
}

const MINUTE_MS = 60_000;

/** Builds the session service. Concurrency is left to the database: row locks, never in-process locks. */
export function createSessionService(deps: SessionServiceDeps): SessionService {
  const { db, jwts, clock, claimsPolicy } = deps;

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
        expiresAt: new Date(now.getTime() + input.durationMinutes * MINUTE_MS),
        revokedAt: null,
        attributes: input.attributes,
        roles: [...input.roles],
        customClaims,
        claimsVersion: 0n,
      };
      await repo.insertSession(db, session, hashSessionToken(token));
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
        session = await db.transaction().execute(async (trx) => {
          const current = await repo.findActiveForUpdate(trx, key, now);
          if (current === undefined) return undefined;
          // The clock is read again under the row lock, so writers of one session stamp in commit order and
          // a call that waited past the expiry does not revive the session; last_accessed_at never goes back.
          const lockedNow = new Date(Math.max(clock().getTime(), current.lastAccessedAt.getTime()));
          if (!isActive(current, lockedNow)) return undefined;
          const expiresAt =
            input.durationMinutes === undefined
              ? undefined
              : new Date(lockedNow.getTime() + input.durationMinutes * MINUTE_MS);
          if (input.expectedClaimsVersion !== undefined && input.expectedClaimsVersion !== current.claimsVersion) {
            throw new ClaimsVersionMismatchError(input.expectedClaimsVersion, current.claimsVersion);
          }
          const claims =
            patch === undefined ? current.customClaims : applyClaimsPatch(current.customClaims, patch, claimsPolicy);
          return repo.updateAuthenticated(trx, current.id, {
            lastAccessedAt: lockedNow,
            expiresAt: expiresAt ?? current.expiresAt,
            customClaims: claims,
            claimsVersion: patch === undefined ? current.claimsVersion : current.claimsVersion + 1n,
          });
        });
      }
      if (session === undefined) throw new SessionNotFoundError();
      const sessionToken = input.credential.kind === "token" ? input.credential.token : undefined;
      return { session, sessionToken, sessionJwt: await jwts.mint(session) };
    },

    list(userId) {
      return repo.listActiveByUser(db, userId, clock());
    },

    async revoke(credential) {
      const key = await keyOf(credential);
      if (!(await repo.revoke(db, key, clock()))) throw new SessionNotFoundError();
    },
  };
}
