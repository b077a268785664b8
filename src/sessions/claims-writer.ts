/**
 * Claims writes of a session (an authenticate with a patch, a version or a check; an admin claims update),
 * grouped per session in this process: while one write of a session is in flight, the calls that arrive for it
 * queue, and the next write applies them all (see claims-batch.ts) with one compare-and-set statement. Every
 * caller is answered with the session as its own call left it. Correctness rests on the database: the
 * compare-and-set fails when anything moved (another replica, a user or template change, a revoke), and then
 * the batch is redone with the row locked.
 */
import type { Kysely } from "kysely";
import type { ClaimsPolicy, JsonObject } from "../claims/index.js";
import type { Clock } from "../clock.js";
import type { DatabaseSchema } from "../db/schema.js";
import { PermissionDeniedError, SessionNotFoundError, TooManyPendingWritesError } from "../errors.js";
import { checkPermission } from "../rbac/permission-check.js";
import type { AuthorizationVerdict } from "../rbac/rbac-policy.js";
import * as rbacRepo from "../rbac/rbac-policy.repository.js";
import * as templateRepo from "../templates/claim-template.repository.js";
import type { ClaimTemplates } from "../templates/claim-templates.js";
import type { User } from "../users/user.js";
import * as userRepo from "../users/user.repository.js";
import { type CallState, type ClaimsBatchPlan, type ClaimsCall, planClaimsBatch } from "./claims-batch.js";
import { createGroupCommit, type Outcome } from "./group-commit.js";
import { extendedExpiry, isActive, type Session } from "./session.js";
import * as repo from "./session.repository.js";
import { sessionView } from "./session-view.js";

/** A claims write as its caller sees it. */
export interface ClaimsWritten {
  /** The session as this call left it (its own claims version, overlay and expiry). */
  readonly stored: repo.StoredSession;
  /** Its effective claims when this call patched them; undefined: compute them from `stored`. */
  readonly claims: JsonObject | undefined;
  readonly verdict: AuthorizationVerdict | undefined;
}

/** Writes claims calls of sessions. */
export interface ClaimsWriter {
  /** `access`: an authenticate (touches last_accessed_at); false for an admin claims update. */
  write(key: repo.SessionKey, call: ClaimsCall, access: boolean): Promise<ClaimsWritten>;
}

/** Dependencies of the claims writer. */
export interface ClaimsWriterDeps {
  readonly db: Kysely<DatabaseSchema>;
  readonly clock: Clock;
  readonly claimsPolicy: ClaimsPolicy;
  readonly templates: ClaimTemplates;
  readonly defaultRole: string | undefined;
  /** Throws when a session's JWT would be too long to be accepted back. */
  readonly checkJwt: (session: Session) => void;
  /** Most calls of one session written together (PATCH_BATCH_MAX). */
  readonly batchMax: number;
  /** Most calls of one session waiting for its write in flight (PATCH_QUEUE_MAX); more are refused. */
  readonly queueMax: number;
}

type StateOf = (state: CallState) => { stored: repo.StoredSession; claims: JsonObject | undefined };

/** Builds the claims writer. */
export function createClaimsWriter(deps: ClaimsWriterDeps): ClaimsWriter {
  const { db, clock, claimsPolicy, templates, defaultRole, checkJwt } = deps;
  const lanes = createGroupCommit<ClaimsCall, ClaimsWritten>(
    deps.batchMax,
    deps.queueMax,
    () => new TooManyPendingWritesError(deps.queueMax),
  );

  /** The calls applied to `session` (with `user`, under `policy`): each call's outcome and the state to write. */
  async function plan(
    session: repo.StoredSession,
    user: User | undefined,
    policy: rbacRepo.StoredRbacPolicy | undefined,
    calls: readonly ClaimsCall[],
    executor: Kysely<DatabaseSchema>,
  ): Promise<ClaimsBatchPlan> {
    const needsBase = calls.some((call) => call.patch !== undefined);
    const base = needsBase ? await templates.baseFor(session.userId, user, session.templateVersion, executor) : {};
    const roles = sessionView(session, {}, defaultRole, user).roles;
    return planClaimsBatch(session, calls, {
      base,
      claimsPolicy,
      decide(check) {
        // Decided on the session as read, before anything is written.
        if (policy === undefined) throw new Error("an authorization check needs the policy");
        const verdict = checkPermission(policy.policy, roles, check);
        if (!verdict.authorized) throw new PermissionDeniedError(check.resourceId, check.action);
        return verdict;
      },
      // Only the claims and their version change the JWT's length here: timestamps keep their width, and
      // roles change with the user.
      checkJwt: (claims, claimsVersion) =>
        checkJwt({ ...sessionView(session, claims, defaultRole, user), claimsVersion }),
    });
  }

  /** Each call's answer: its own state over the written row, or its own error. */
  function answers(outcomes: ClaimsBatchPlan["outcomes"], stateOf: StateOf): Outcome<ClaimsWritten>[] {
    return outcomes.map((outcome) => {
      if (!outcome.ok) return outcome;
      const { stored, claims } = stateOf(outcome.value);
      return { ok: true, value: { stored, claims, verdict: outcome.value.verdict } };
    });
  }

  /**
   * The optimistic run: read, plan, one compare-and-set UPDATE on claims_version, the template version and,
   * with a check, the policy version (two or three round trips, no transaction, for the whole batch).
   */
  async function runBatch(
    key: repo.SessionKey,
    access: boolean,
    calls: readonly ClaimsCall[],
  ): Promise<Outcome<ClaimsWritten>[]> {
    const read = await repo.findActive(db, key, clock());
    if (read === undefined) throw new SessionNotFoundError();
    const checks = calls.some((call) => call.check !== undefined);
    const policy = checks ? await rbacRepo.readPolicy(db) : undefined;
    const planned = await plan(read, read.user, policy, calls, db);
    // Nothing succeeded: nothing is written, as for a single refused call.
    if (!planned.anyOk) return answers(planned.outcomes, () => ({ stored: read, claims: undefined }));
    const changed = planned.claimsVersion !== read.claimsVersion;
    const written = await repo.updateIfVersion(db, read.id, read.claimsVersion, read.templateVersion, clock(), {
      access,
      durationMinutes: planned.extensionMinutes,
      claims: changed ? { overlay: planned.overlay, claimsVersion: planned.claimsVersion } : undefined,
      policyVersion: policy?.version,
      // A call answered with the expiry as read needs it to still be the one a later extension replaces.
      expiresAt: planned.answersReadExpiry ? read.expiresAt : undefined,
    });
    if (written === undefined) return runBatchLocked(key, access, calls);
    return answers(planned.outcomes, (state) => ({
      stored: stateAfter(written, state, planned.answersReadExpiry ? read.expiresAt : written.expiresAt),
      claims: state.claims,
    }));
  }

  /** The contended run: the same batch with the template (and policy) held and the row locked. */
  async function runBatchLocked(
    key: repo.SessionKey,
    access: boolean,
    calls: readonly ClaimsCall[],
  ): Promise<Outcome<ClaimsWritten>[]> {
    return db.transaction().execute(async (trx) => {
      const templateVersion = await templateRepo.holdTemplate(trx);
      const checks = calls.some((call) => call.check !== undefined);
      const policy = checks ? await rbacRepo.holdPolicy(trx) : undefined;
      const locked = await repo.findActive(trx, key, clock(), { lock: true });
      if (locked === undefined) throw new SessionNotFoundError();
      // Read after the row lock, so a user change that committed while this waited is seen.
      const user = await userRepo.findUser(trx, locked.userId);
      // The clock is read again under the row lock, so writers of one session stamp in commit order and
      // a call that waited past the expiry does not revive the session; last_accessed_at never goes back.
      const lockedNow = new Date(Math.max(clock().getTime(), locked.lastAccessedAt.getTime()));
      if (!isActive(locked, lockedNow)) throw new SessionNotFoundError();
      const current = { ...locked, user, templateVersion };
      // Decided again on what is locked now; a refused call is left out, the others are written.
      const planned = await plan(current, user, policy, calls, trx);
      if (!planned.anyOk) return answers(planned.outcomes, () => ({ stored: current, claims: undefined }));
      const lastAccessedAt = access ? lockedNow : current.lastAccessedAt;
      const changed = planned.claimsVersion !== current.claimsVersion;
      const stored = await repo.writeLocked(
        trx,
        current.id,
        {
          lastAccessedAt,
          expiresAt:
            planned.extensionMinutes === undefined
              ? current.expiresAt
              : extendedExpiry(lastAccessedAt, planned.extensionMinutes),
          overlay: planned.overlay,
          claimsVersion: planned.claimsVersion,
        },
        changed ? { at: lockedNow, after: current.claimsVersion } : undefined,
      );
      return answers(planned.outcomes, (state) => ({
        stored: stateAfter(stored, state, current.expiresAt),
        claims: state.claims,
      }));
    });
  }

  return {
    write(key, call, access) {
      const lane = `${access ? "a" : "u"}:${"sessionId" in key ? `i:${key.sessionId}` : `t:${key.tokenHash}`}`;
      return lanes.submit(lane, call, (calls) => runBatch(key, access, calls));
    },
  };
}

/**
 * The session as one call of a written batch left it: the row as written (its last access is every call's,
 * they committed together) with that call's overlay, version and expiry; `readExpiry` is the expiry before the
 * batch, which a call answers with until an extension in the batch replaces it.
 */
function stateAfter(written: repo.StoredSession, state: CallState, readExpiry: Date): repo.StoredSession {
  return {
    ...written,
    overlay: state.overlay,
    claimsVersion: state.claimsVersion,
    expiresAt:
      state.extensionMinutes === undefined
        ? readExpiry
        : extendedExpiry(written.lastAccessedAt, state.extensionMinutes),
  };
}
