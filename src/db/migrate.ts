import { type Kysely, Migrator } from "kysely";
import { migrationProvider } from "./migrations/index.js";

/** Runs every pending migration with Kysely's Migrator; throws on the first failure. */
export async function migrateToLatest(db: Kysely<unknown>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    throw new Error("database migration failed", { cause: error });
  }
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}
