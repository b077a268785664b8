import type { Kysely } from "kysely";
import { assertClaimsObject, assertJsonClaims, type ClaimsPolicy, type JsonObject } from "../claims/index.js";
import type { Clock } from "../clock.js";
import type { DatabaseSchema } from "../db/schema.js";
import {
  InvalidClaimsError,
  InvalidMetadataError,
  MetadataTooLargeError,
  MetadataTooManyKeysError,
  UserNotFoundError,
  UserVersionMismatchError,
} from "../errors.js";
import { DENY_GRACE_SECONDS } from "../events/event.js";
import * as eventRepo from "../events/event.repository.js";
import { liveSessionCheck } from "../sessions/live-session-check.js";
import type { Session } from "../sessions/session.js";
import * as sessionRepo from "../sessions/session.repository.js";
import * as templateRepo from "../templates/claim-template.repository.js";
import type { ClaimTemplates } from "../templates/claim-templates.js";
import { type MetadataMerge, mergeMetadata } from "./metadata-merge.js";
import type { User } from "./user.js";
import * as repo from "./user.repository.js";

/** Input of Users.update, validated at the edge (ids, roles); metadata patches are checked here. */
export interface UpdateUserInput {
  readonly userId: string;
  readonly trustedMetadata: JsonObject | undefined;
  readonly untrustedMetadata: JsonObject | undefined;
  readonly roles: readonly string[] | undefined;
  /** 0 means "the user must not exist yet". */
  readonly expectedVersion: bigint | undefined;
  /** How the metadata patches are merged; RFC 7396 when unset. */
  readonly metadataMerge?: MetadataMerge;
  /** Most top-level keys a metadata object may have after the merge; only its byte limit when unset. */
  readonly metadataMaxKeys?: number;
}

/** The result of Users.update. */
export interface UpdatedUser {
  readonly user: User;
  /** Live sessions whose claims_version went up because their claims' inputs changed. */
  readonly sessionsUpdated: number;
}

/** One page of users. */
export interface UserPage {
  readonly users: User[];
  /** The last user id of a full page, to continue after; undefined on the last page. */
  readonly nextAfter: string | undefined;
}

/** User records: the data custom claim templates read. */
export interface Users {
  get(userId: string): Promise<User>;
  update(input: UpdateUserInput): Promise<UpdatedUser>;
  /** Revokes every active session of the user and deletes the record, in one transaction; returns how many were revoked. */
  delete(userId: string): Promise<number>;
  list(after: string | undefined, limit: number): Promise<UserPage>;
}

/** Dependencies of the user service. */
export interface UsersDeps {
  readonly db: Kysely<DatabaseSchema>;
  readonly clock: Clock;
  readonly claimsPolicy: ClaimsPolicy;
  readonly templates: ClaimTemplates;
  readonly metadataMaxBytes: number;
  /** Throws when a session's JWT would be too long to be accepted back. */
  readonly checkJwt: (session: Session) => void;
  /** The role every session holds, measured in its JWT; undefined for none. */
  readonly defaultRole?: string;
  /** JWT_TTL_SECONDS, for revocation events' deny_until; the largest allowed TTL when unset. */
  readonly jwtTtlSeconds?: number;
}

/** Builds the user service. Concurrency goes through the database (per-user lock, row locks). */
export function createUsers(deps: UsersDeps): Users {
  const { db, clock, claimsPolicy, templates } = deps;
  const denyWindowSeconds = (deps.jwtTtlSeconds ?? 86_400) + DENY_GRACE_SECONDS;

  /**
   * A metadata patch merged into the current object as the input says, and checked: a JSON object, finite,
   * within depth, size and (when asked) top-level key count.
   */
  function mergeField(field: string, current: JsonObject, patch: JsonObject | undefined, input: UpdateUserInput) {
    if (patch === undefined) return current;
    const policy = { ...claimsPolicy, maxBytes: deps.metadataMaxBytes };
    try {
      assertClaimsObject(patch);
      assertJsonClaims(patch, policy);
      const merged = mergeMetadata(current, patch, input.metadataMerge ?? "rfc7396");
      assertJsonClaims(merged, policy);
      const size = Buffer.byteLength(JSON.stringify(merged), "utf8");
      if (size > deps.metadataMaxBytes) throw new MetadataTooLargeError(field, size, deps.metadataMaxBytes);
      const keys = Object.keys(merged).length;
      const maxKeys = input.metadataMaxKeys;
      if (maxKeys !== undefined && keys > maxKeys) throw new MetadataTooManyKeysError(field, keys, maxKeys);
      return merged;
    } catch (err) {
      if (err instanceof InvalidClaimsError) throw new InvalidMetadataError(field, err.message);
      throw err;
    }
  }

  return {
    async get(userId) {
      const user = await repo.findUser(db, userId);
      if (user === undefined) throw new UserNotFoundError();
      return user;
    },

    update(input) {
      return db.transaction().execute(async (trx) => {
        await repo.lockUserId(trx, input.userId);
        const templateVersion = await templateRepo.holdTemplate(trx);
        const current = await repo.findUser(trx, input.userId, { lock: true });
        const version = current?.version ?? 0n;
        if (input.expectedVersion !== undefined && input.expectedVersion !== version) {
          throw new UserVersionMismatchError(input.expectedVersion, version);
        }
        const now = clock();
        const trustedMetadata = mergeField(
          "trusted_metadata",
          current?.trustedMetadata ?? {},
          input.trustedMetadata,
          input,
        );
        const untrustedMetadata = mergeField(
          "untrusted_metadata",
          current?.untrustedMetadata ?? {},
          input.untrustedMetadata,
          input,
        );
        const roles = input.roles ?? current?.roles ?? [];
        const changed =
          current === undefined ||
          JSON.stringify([trustedMetadata, untrustedMetadata, roles]) !==
            JSON.stringify([current.trustedMetadata, current.untrustedMetadata, current.roles]);
        if (current !== undefined && !changed) return { user: current, sessionsUpdated: 0 };
        const user: User = {
          userId: input.userId,
          trustedMetadata,
          untrustedMetadata,
          roles: [...roles],
          createdAt: current?.createdAt ?? now,
          updatedAt: now,
          version: version + 1n,
        };
        // Every live session of the user is checked under the new data before anything is written.
        const sessions = await sessionRepo.lockActiveByUser(trx, input.userId, now);
        const base = await templates.baseFor(input.userId, user, templateVersion, trx);
        // Measured with the new record (its roles are in every one of these sessions' next JWT), at the
        // claims_version the bump below gives them: the JWT carries it.
        const check = liveSessionCheck(claimsPolicy, deps.checkJwt, deps.defaultRole);
        check.check(
          sessions.map((session) => ({ ...session, claimsVersion: session.claimsVersion + 1n })),
          () => base,
          () => user,
        );
        check.refuse();
        if (current === undefined) await repo.insertUser(trx, user);
        else await repo.updateUser(trx, user);
        // The claims' inputs changed: older JWTs of these sessions are stale, and a patch racing this one
        // (compare-and-set on claims_version) redoes its work against the new data.
        await sessionRepo.bumpClaimsVersions(
          trx,
          sessions.map((session) => session.id),
          now,
        );
        await eventRepo.insertEvent(trx, { time: now, type: "user_updated", userId: input.userId });
        return { user, sessionsUpdated: sessions.length };
      });
    },

    delete(userId) {
      return db.transaction().execute(async (trx) => {
        await repo.lockUserId(trx, userId);
        const now = clock();
        const revoked = await sessionRepo.revokeAllOfUser(trx, userId, now, denyWindowSeconds);
        const deleted = await repo.deleteUser(trx, userId);
        if (!deleted && revoked === 0) throw new UserNotFoundError();
        if (deleted) await eventRepo.insertEvent(trx, { time: now, type: "user_deleted", userId });
        return revoked;
      });
    },

    async list(after, limit) {
      const users = await repo.listUsers(db, after, limit);
      return { users, nextAfter: users.length === limit ? users.at(-1)?.userId : undefined };
    },
  };
}
