import type { Kysely, Selectable } from "kysely";
import { jsonb } from "../db/jsonb.js";
import type { DatabaseSchema, RbacPolicyTable } from "../db/schema.js";
import type { RbacPolicy } from "./rbac-policy.js";

type Db = Kysely<DatabaseSchema>;

/** The stored policy, its version (0 before any set) and when it last changed. */
export interface StoredRbacPolicy {
  readonly policy: RbacPolicy;
  readonly version: bigint;
  readonly updatedAt: Date | null;
}

/** Reads the policy row. */
export async function readPolicy(db: Db): Promise<StoredRbacPolicy> {
  const row = await db.selectFrom("rbac_policy").selectAll().where("id", "=", 1).executeTakeFirstOrThrow();
  return toStored(row);
}

/**
 * Reads the policy and holds it still until the transaction ends (FOR KEY
 * SHARE): a set (FOR UPDATE) waits for every check decided under it.
 */
export async function holdPolicy(db: Db): Promise<StoredRbacPolicy> {
  const row = await db
    .selectFrom("rbac_policy")
    .selectAll()
    .where("id", "=", 1)
    .forKeyShare()
    .executeTakeFirstOrThrow();
  return toStored(row);
}

/** Locks the policy row for a change until the transaction ends. */
export async function lockPolicy(db: Db): Promise<StoredRbacPolicy> {
  const row = await db.selectFrom("rbac_policy").selectAll().where("id", "=", 1).forUpdate().executeTakeFirstOrThrow();
  return toStored(row);
}

/** Writes a new policy (the caller holds the row lock); the version goes up by one. */
export async function writePolicy(db: Db, policy: RbacPolicy, now: Date): Promise<StoredRbacPolicy> {
  const row = await db
    .updateTable("rbac_policy")
    .set((eb) => ({
      policy: jsonb(policy as unknown as Record<string, unknown>),
      updated_at: now,
      version: eb("version", "+", 1),
    }))
    .where("id", "=", 1)
    .returningAll()
    .executeTakeFirstOrThrow();
  return toStored(row);
}

function toStored(row: Selectable<RbacPolicyTable>): StoredRbacPolicy {
  // Written only after validation, so the stored document is a policy.
  return {
    policy: row.policy as unknown as RbacPolicy,
    version: BigInt(row.version),
    updatedAt: row.updated_at && new Date(row.updated_at),
  };
}
