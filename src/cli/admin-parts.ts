import { systemClock } from "../clock.js";
import { type Config, parseConfig } from "../config.js";
import { claimSourcesFor, databaseOptions, keyStoreFor, sessionJwtsFor } from "../context.js";
import { type Database, openDatabase } from "../db/database.js";
import { migrateToLatest } from "../db/migrate.js";
import type { KeyStore } from "../keys/key-store.js";
import type { RbacPolicies } from "../rbac/rbac-policies.js";
import type { ClaimTemplates } from "../templates/claim-templates.js";

/** What an operator command works on: the configured database, its keys, template and RBAC policy. */
export interface AdminParts {
  readonly config: Config;
  readonly database: Database;
  readonly keys: KeyStore;
  readonly templates: ClaimTemplates;
  readonly rbac: RbacPolicies;
}

/**
 * Runs `command` on the database the environment configures (one connection,
 * migrated, signing keys loaded), built as the server builds them, and closes it.
 */
export async function withAdminParts<T>(command: (parts: AdminParts) => Promise<T>): Promise<T> {
  const config = parseConfig(process.env);
  const database = await openDatabase(databaseOptions(config, 1));
  try {
    await migrateToLatest(database.db as never);
    const keys = keyStoreFor(config, database, systemClock);
    await keys.init();
    const sources = claimSourcesFor(config, database, sessionJwtsFor(config, keys, systemClock), systemClock);
    return await command({ config, database, keys, ...sources });
  } finally {
    await database.close();
  }
}
