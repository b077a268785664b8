import type { Kysely } from "kysely";
import {
  type ClaimsPolicy,
  type ClaimTemplateUser,
  type CompiledClaimTemplate,
  compileClaimTemplate,
  type JsonObject,
  readsRbacPolicy,
  renderClaimTemplate,
} from "../claims/index.js";
import type { Clock } from "../clock.js";
import type { DatabaseSchema } from "../db/schema.js";
import * as eventRepo from "../events/event.repository.js";
import { effectiveRoles } from "../rbac/permission-check.js";
import type { RbacPolicy } from "../rbac/rbac-policy.js";
import * as rbacRepo from "../rbac/rbac-policy.repository.js";
import { liveSessionCheck } from "../sessions/live-session-check.js";
import type { Session } from "../sessions/session.js";
import * as sessionRepo from "../sessions/session.repository.js";
import { emptyUser, type User } from "../users/user.js";
import * as repo from "./claim-template.repository.js";

/** The project's custom claim template: set, read, and rendered into each user's base claims. */
export interface ClaimTemplates {
  /** The template in force. */
  get(): Promise<repo.StoredClaimTemplate>;
  /**
   * Validates `source` ("" clears), checks that no live session's claims would
   * grow past the limit under it (naming the first offenders), and stores it.
   */
  set(source: string): Promise<repo.StoredClaimTemplate>;
  /**
   * The template's output for a user (undefined: no record) at template
   * `version` or later. Inside a transaction pass it as `db`: a cache miss
   * reads the template through it (PGlite has one connection).
   */
  baseFor(userId: string, user: User | undefined, version: bigint, db?: Kysely<DatabaseSchema>): Promise<JsonObject>;
  /**
   * Inside the transaction that sets the RBAC policy, before it locks the
   * policy row: takes the template row FOR UPDATE (holding off claim writes)
   * and, when the template reads the policy, refuses the change if a live
   * session's claims would grow past the limit under `policy`, and raises the
   * template version so claim writes in flight redo their work.
   */
  checkPolicyChange(trx: Kysely<DatabaseSchema>, policy: RbacPolicy): Promise<void>;
}

/** Dependencies of the claim templates. */
export interface ClaimTemplatesDeps {
  readonly db: Kysely<DatabaseSchema>;
  readonly clock: Clock;
  readonly claimsPolicy: ClaimsPolicy;
  /** Throws when a session's JWT would be too long to be accepted back. */
  readonly checkJwt: (session: Session) => void;
  /** Sessions checked per statement when a template is set. */
  readonly checkBatchSize?: number;
  /** The role every user holds (`user.rbac.roles`); undefined for none. */
  readonly defaultRole?: string;
}

/** How many compiled versions are kept; older ones are compiled again if a slow reader still asks. */
const CACHED_VERSIONS = 4;

type Compiled = CompiledClaimTemplate<ClaimTemplateUser> | null;

/** The template's render context for a user: its data, and its roles with the default one and the policy. */
export function templateUser(
  userId: string,
  user: User | undefined,
  rbac: { readonly defaultRole?: string; readonly policy?: RbacPolicy } = {},
): ClaimTemplateUser {
  const u = user ?? emptyUser(userId);
  return {
    userId,
    trustedMetadata: u.trustedMetadata,
    untrustedMetadata: u.untrustedMetadata,
    roles: u.roles,
    rbac: {
      roles: effectiveRoles([], u.roles, rbac.defaultRole),
      ...(rbac.policy === undefined ? {} : { policy: rbac.policy }),
    },
  };
}

/** Builds the template service. Compiled templates are cached by version: derived data, never a lock. */
export function createClaimTemplates(deps: ClaimTemplatesDeps): ClaimTemplates {
  const { db, clock, claimsPolicy } = deps;
  const batchSize = deps.checkBatchSize ?? 500;
  const compiled = new Map<bigint, Compiled>();

  const compile = (source: string): Compiled => (source === "" ? null : compileClaimTemplate(source, claimsPolicy));
  const remember = (version: bigint, value: Compiled) => {
    compiled.set(version, value);
    for (const old of compiled.keys()) if (compiled.size > CACHED_VERSIONS) compiled.delete(old);
  };
  const { defaultRole } = deps;
  const render = (template: Compiled, userId: string, user: User | undefined, policy?: RbacPolicy): JsonObject =>
    template === null ? {} : renderClaimTemplate(template, templateUser(userId, user, { defaultRole, policy }));
  /** The policy a template renders with: read (through `executor`) only when the template reads it. */
  const policyFor = async (template: Compiled, executor: Kysely<DatabaseSchema>): Promise<RbacPolicy | undefined> =>
    template !== null && readsRbacPolicy(template.variables) ? (await rbacRepo.readPolicy(executor)).policy : undefined;

  /** Checks every live session under `template` and `policy`; throws naming the first offenders. */
  async function checkLiveSessions(trx: Kysely<DatabaseSchema>, template: Compiled, policy: RbacPolicy | undefined) {
    const now = clock();
    const check = liveSessionCheck(claimsPolicy, deps.checkJwt, defaultRole);
    let after: string | undefined;
    for (;;) {
      const page = await sessionRepo.activeSessionsPage(trx, after, now, batchSize);
      check.check(page, (session) => render(template, session.userId, session.user, policy));
      if (check.full || page.length < batchSize) break;
      after = page.at(-1)?.id;
    }
    check.refuse();
  }

  /** The compiled template at `version`, or (when that one is gone) the newest; reads the database on a miss. */
  async function compiledAt(version: bigint, executor: Kysely<DatabaseSchema>): Promise<Compiled> {
    const hit = compiled.get(version);
    if (hit !== undefined) return hit;
    const stored = await repo.readTemplate(executor);
    const value = compile(stored.source);
    remember(stored.version, value);
    return value;
  }

  return {
    get: () => repo.readTemplate(db),

    async set(source) {
      // Validation first, outside any transaction: a bad template never takes a lock.
      const next = compile(source);
      return db.transaction().execute(async (trx) => {
        // FOR UPDATE waits for every claims write holding the template (FOR KEY SHARE) and holds off new ones,
        // so the sessions checked below cannot change their claims until this commits.
        await repo.lockTemplate(trx);
        const now = clock();
        await checkLiveSessions(trx, next, await policyFor(next, trx));
        const stored = await repo.writeTemplate(trx, source, now);
        await eventRepo.insertEvent(trx, {
          time: now,
          type: "claim_template_changed",
          templateVersion: stored.version,
        });
        remember(stored.version, next);
        return stored;
      });
    },

    async baseFor(userId, user, version, executor = db) {
      const template = await compiledAt(version, executor);
      return render(template, userId, user, await policyFor(template, executor));
    },

    async checkPolicyChange(trx, policy) {
      const current = await repo.lockTemplate(trx);
      const template = await compiledAt(current.version, trx);
      if (template === null || !readsRbacPolicy(template.variables)) return;
      await checkLiveSessions(trx, template, policy);
      // Same source, new version: a claims write that rendered under the old policy fails its compare-and-set.
      const stored = await repo.bumpTemplateVersion(trx);
      remember(stored.version, template);
    },
  };
}
