import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import {
  type ClaimsOverlay,
  type ClaimsPolicy,
  EMPTY_OVERLAY,
  effectiveClaims,
  type JsonObject,
  patchSessionOverlay,
} from "../claims/index.js";
import type { Clock } from "../clock.js";
import type { DatabaseSchema } from "../db/schema.js";
import { SessionLimitReachedError, SessionNotFoundError } from "../errors.js";
import { DENY_GRACE_SECONDS } from "../events/event.js";
import type { AuthorizationCheck, AuthorizationVerdict } from "../rbac/rbac-policy.js";
import * as templateRepo from "../templates/claim-template.repository.js";
import type { ClaimTemplates } from "../templates/claim-templates.js";
import { jwtLengthCheck } from "../tokens/jwt-length.js";
import type { SessionJwts } from "../tokens/session-jwt.js";
import { hashSessionToken, newSessionToken } from "../tokens/session-token.js";
import type { User } from "../users/user.js";
import * as userRepo from "../users/user.repository.js";
import { type ClaimsWritten, createClaimsWriter } from "./claims-writer.js";
import { extendedExpiry, type Session, type SessionAttributes } from "./session.js";
import * as repo from "./session.repository.js";
import { sessionView } from "./session-view.js";

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
  /** The user's record as read with the session; undefined for a user id without one. */
  readonly user: User | undefined;
  /** The answer to the call's authorization check (always authorized: a denial is an error); undefined without one. */
  readonly verdict?: AuthorizationVerdict;
}

/** Input of Sessions.create, already validated at the edge. */
export interface CreateSessionInput {
  readonly userId: string;
  readonly durationMinutes: number;
  readonly customClaims: JsonObject;
  readonly attributes: SessionAttributes;
  readonly roles: readonly string[];
}

/** Input of Sessions.authenticate, already validated at the edge. */
export interface AuthenticateSessionInput {
  readonly credential: Exclude<SessionCredential, { kind: "id" }>;
  readonly durationMinutes: number | undefined;
  readonly patch: JsonObject | undefined;
  readonly expectedClaimsVersion: bigint | undefined;
  /**
   * When given, the session's effective roles must grant this action on this
   * resource under the RBAC policy, or PermissionDeniedError and nothing is written.
   */
  readonly authorizationCheck?: AuthorizationCheck;
}

/** Input of Sessions.updateClaims: a patch by session id, without the session's credential. */
export interface UpdateClaimsInput {
  readonly sessionId: string;
  readonly patch: JsonObject;
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
  /** Patches one session's claims by id; not an access (last_accessed_at and expiry stay). */
  updateClaims(input: UpdateClaimsInput): Promise<Session>;
  /** Applies one patch to every active session of a user, all or nothing; newest first. */
  updateUserClaims(userId: string, patch: JsonObject): Promise<Session[]>;
}

/** Dependencies of the session service. */
export interface SessionsDeps {
  readonly db: Kysely<DatabaseSchema>;
  readonly jwts: SessionJwts;
  readonly clock: Clock;
  readonly claimsPolicy: ClaimsPolicy;
  readonly templates: ClaimTemplates;
  /** Most active sessions of one user; enforced in the database, so it holds across replicas. */
  readonly maxSessionsPerUser: number;
  /** Longest session JWT that may be minted: what authenticate accepts back as a credential. */
  readonly maxJwtLength: number;
  /** The role every session holds (RBAC_DEFAULT_ROLE); undefined for none. */
  readonly defaultRole?: string;
  /** JWT_TTL_SECONDS, for a revocation event's deny_until; the largest allowed TTL when unset. */
  readonly jwtTtlSeconds?: number;
  /** Most claims writes of one session applied with one statement (PATCH_BATCH_MAX); 64 when unset. */
  readonly patchBatchMax?: number;
  /** Most claims writes of one session waiting in this process (PATCH_QUEUE_MAX); default DEFAULT_PATCH_QUEUE_MAX. */
  readonly patchQueueMax?: number;
  /**
   * SESSION_TOUCH_INTERVAL_SECONDS: an authenticate without a patch or an extension writes last_accessed_at
   * only when it is older than this; 0 (the default here) writes it on every call.
   */
  readonly touchIntervalSeconds?: number;
}

/** PATCH_BATCH_MAX's default (src/config.ts). */
const DEFAULT_PATCH_BATCH_MAX = 64;
const DEFAULT_PATCH_QUEUE_MAX = 1_024;

/** The largest JWT_TTL_SECONDS (src/config.ts): a safe bound on JWT lifetimes when none is given. */
const MAX_JWT_TTL_SECONDS = 86_400;

/**
 * Builds the session service. Concurrency is left to the database (row and advisory locks, compare-and-set);
 * claims writes of one session in this process are grouped (claims-writer.ts) only to write fewer statements.
 */
export function createSessions(deps: SessionsDeps): Sessions {
  const { db, jwts, clock, claimsPolicy, templates, maxSessionsPerUser, maxJwtLength, defaultRole } = deps;

  /** Refuses a session state whose JWT would be too long to be accepted back; called before anything is written. */
  const checkJwtLength = jwtLengthCheck(jwts, maxJwtLength);
  const denyWindowSeconds = (deps.jwtTtlSeconds ?? MAX_JWT_TTL_SECONDS) + DENY_GRACE_SECONDS;
  const touchIntervalSeconds = deps.touchIntervalSeconds ?? 0;
  const claimsWriter = createClaimsWriter({
    db,
    clock,
    claimsPolicy,
    templates,
    defaultRole,
    checkJwt: checkJwtLength,
    batchMax: deps.patchBatchMax ?? DEFAULT_PATCH_BATCH_MAX,
    queueMax: deps.patchQueueMax ?? DEFAULT_PATCH_QUEUE_MAX,
  });

  /**
   * An authenticate that changes nothing but the access (and, with a duration, the expiry): one statement.
   * Without an extension, last_accessed_at is written at most once per touchIntervalSeconds.
   */
  function touch(key: repo.SessionKey, durationMinutes: number | undefined): Promise<repo.StoredSession | undefined> {
    return durationMinutes === undefined && touchIntervalSeconds > 0
      ? repo.touchActiveCoalesced(db, key, clock(), touchIntervalSeconds)
      : repo.touchActive(db, key, clock(), durationMinutes);
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

  /** The session as callers see it: effective claims are the template's output for the user, then the overlay. */
  async function toSession(stored: repo.StoredSession): Promise<Session> {
    const base = await templates.baseFor(stored.userId, stored.user, stored.templateVersion);
    return sessionView(stored, effectiveClaims(base, stored.overlay, claimsPolicy), defaultRole);
  }

  /** The overlay and version after `patch`, checked against the session's base and the JWT length. */
  async function nextClaims(
    current: repo.StoredSession,
    patch: JsonObject,
    executor: Kysely<DatabaseSchema>,
  ): Promise<{ overlay: ClaimsOverlay; claimsVersion: bigint }> {
    const { user } = current;
    const base = await templates.baseFor(current.userId, user, current.templateVersion, executor);
    const { overlay, claims } = patchSessionOverlay(base, current.overlay, patch, claimsPolicy);
    const claimsVersion = current.claimsVersion + 1n;
    // Only the claims and their version change the JWT's length here: timestamps keep their width, and roles
    // change with the user.
    checkJwtLength({ ...sessionView(current, claims, defaultRole, user), claimsVersion });
    return { overlay, claimsVersion };
  }

  /** The session a claims write answered with: its effective claims as written, or computed from it. */
  function writtenSession(written: ClaimsWritten): Promise<Session> | Session {
    return written.claims === undefined
      ? toSession(written.stored)
      : sessionView(written.stored, written.claims, defaultRole);
  }

  return {
    async create(input) {
      const token = newSessionToken();
      const stored = await db.transaction().execute(async (trx) => {
        // One user's creates and user changes take turns, so a user change checks every session it affects.
        await userRepo.lockUserId(trx, input.userId);
        // After the lock, in one statement: creates of this user that committed meanwhile are counted.
        const { templateVersion, user, active } = await repo.readCreateBasis(
          trx,
          input.userId,
          clock(),
          maxSessionsPerUser,
        );
        if (active >= maxSessionsPerUser) throw new SessionLimitReachedError(maxSessionsPerUser);
        const base = await templates.baseFor(input.userId, user, templateVersion, trx);
        const { overlay, claims } = patchSessionOverlay(base, EMPTY_OVERLAY, input.customClaims, claimsPolicy);
        const now = clock();
        const session: repo.StoredSession = {
          id: `session-${randomUUID()}`,
          userId: input.userId,
          startedAt: now,
          lastAccessedAt: now,
          expiresAt: extendedExpiry(now, input.durationMinutes),
          revokedAt: null,
          attributes: input.attributes,
          roles: [...input.roles],
          overlay,
          claimsVersion: 0n,
          user,
          templateVersion,
        };
        checkJwtLength(sessionView(session, claims, defaultRole));
        // Its session_created event is written by the same statement.
        await repo.insertSessionWithEvent(trx, session, hashSessionToken(token));
        return session;
      });
      const session = await toSession(stored);
      return { session, sessionToken: token, sessionJwt: await jwts.mint(session), user: stored.user };
    },

    async authenticate(input) {
      const key = await keyOf(input.credential);
      const patch = input.patch !== undefined && Object.keys(input.patch).length > 0 ? input.patch : undefined;
      const check = input.authorizationCheck;
      let session: Session;
      let stored: repo.StoredSession;
      let verdict: AuthorizationVerdict | undefined;
      if (patch === undefined && input.expectedClaimsVersion === undefined && check === undefined) {
        // Nothing to read before writing: one statement, one round trip.
        const touched = await touch(key, input.durationMinutes);
        if (touched === undefined) throw new SessionNotFoundError();
        stored = touched;
        session = await toSession(stored);
      } else {
        // A check is decided on the session as read, before the write, which applies only if nothing moved.
        const written = await claimsWriter.write(
          key,
          {
            patch,
            expectedClaimsVersion: input.expectedClaimsVersion,
            durationMinutes: input.durationMinutes,
            check,
          },
          true,
        );
        ({ stored, verdict } = written);
        session = await writtenSession(written);
      }
      const sessionToken = input.credential.kind === "token" ? input.credential.token : undefined;
      return {
        session,
        sessionToken,
        sessionJwt: await jwts.mint(session),
        user: stored.user,
        ...(verdict === undefined ? {} : { verdict }),
      };
    },

    async list(userId, page = { limit: maxSessionsPerUser }) {
      // One row past the page tells whether more follow.
      const rows = await repo.listActiveByUser(db, userId, clock(), { limit: page.limit + 1, after: page.after });
      return { sessions: await Promise.all(rows.slice(0, page.limit).map(toSession)), more: rows.length > page.limit };
    },

    async revoke(credential) {
      const key = await keyOf(credential);
      if (!(await repo.revoke(db, key, clock(), denyWindowSeconds))) throw new SessionNotFoundError();
    },

    async updateClaims(input) {
      const written = await claimsWriter.write(
        { sessionId: input.sessionId },
        {
          patch: input.patch,
          expectedClaimsVersion: input.expectedClaimsVersion,
          durationMinutes: undefined,
          check: undefined,
        },
        false,
      );
      return writtenSession(written);
    },

    async updateUserClaims(userId, patch) {
      const written = await db.transaction().execute(async (trx) => {
        await userRepo.lockUserId(trx, userId);
        const templateVersion = await templateRepo.holdTemplate(trx);
        const sessions = await repo.lockActiveByUser(trx, userId, clock());
        const user = await userRepo.findUser(trx, userId);
        // Every session is checked before any is written: one refusal changes nothing.
        const changes = await Promise.all(
          sessions.map(async (current) => ({
            current,
            claims: await nextClaims({ ...current, user, templateVersion }, patch, trx),
          })),
        );
        const out: repo.StoredSession[] = [];
        for (const { current, claims } of changes) {
          out.push(
            await repo.writeLocked(
              trx,
              current.id,
              {
                lastAccessedAt: current.lastAccessedAt,
                expiresAt: current.expiresAt,
                overlay: claims.overlay,
                claimsVersion: claims.claimsVersion,
              },
              // The claims-changed event is written by the same statement.
              { at: clock(), after: current.claimsVersion },
            ),
          );
        }
        return out;
      });
      return Promise.all(written.map(toSession));
    },
  };
}
