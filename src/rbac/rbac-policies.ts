import type { Kysely } from "kysely";
import type { Clock } from "../clock.js";
import type { DatabaseSchema } from "../db/schema.js";
import * as eventRepo from "../events/event.repository.js";
import type { ClaimTemplates } from "../templates/claim-templates.js";
import * as repo from "./rbac-policy.repository.js";
import { validateRbacPolicy } from "./validate-rbac-policy.js";

/** The project's RBAC policy: read and replaced as a whole. */
export interface RbacPolicies {
  /** The policy in force (empty, version 0, before any set). */
  get(): Promise<repo.StoredRbacPolicy>;
  /**
   * Validates `document` (Stytch's policy shape) and stores it as the new
   * policy; InvalidRbacPolicyError or RbacPolicyTooLargeError, and nothing
   * changes, when it is not acceptable.
   */
  set(document: unknown): Promise<repo.StoredRbacPolicy>;
}

/** Dependencies of the policy service. */
export interface RbacPoliciesDeps {
  readonly db: Kysely<DatabaseSchema>;
  readonly clock: Clock;
  /** RBAC_POLICY_MAX_BYTES. */
  readonly maxBytes: number;
  /** The claim template, which may read the policy (`user.rbac.<resource_id>.actions`). */
  readonly templates: ClaimTemplates;
}

/** Builds the policy service. */
export function createRbacPolicies(deps: RbacPoliciesDeps): RbacPolicies {
  const { db, clock, maxBytes, templates } = deps;
  return {
    get: () => repo.readPolicy(db),

    async set(document) {
      // Validation first, outside any transaction: a bad policy never takes a lock.
      const policy = validateRbacPolicy(document, maxBytes);
      return db.transaction().execute(async (trx) => {
        // The template row first, then the policy row: the order every writer holding both takes them
        // (a claims write holds the template, then the policy), so the two cannot deadlock.
        await templates.checkPolicyChange(trx, policy);
        // FOR UPDATE waits for every check decided under the current policy and holds off new ones.
        await repo.lockPolicy(trx);
        const now = clock();
        const stored = await repo.writePolicy(trx, policy, now);
        await eventRepo.insertEvent(trx, { time: now, type: "rbac_policy_changed" });
        return stored;
      });
    },
  };
}
