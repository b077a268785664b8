import { parseConfig } from "../config.js";
import { databaseOptions } from "../context.js";
import { openDatabase } from "../db/database.js";
import { migrateToLatest } from "../db/migrate.js";

/** `npm run migrate`: runs pending migrations on the configured database and exits. */
async function main(): Promise<void> {
  const config = parseConfig(process.env);
  const database = await openDatabase(databaseOptions(config, 1));
  try {
    const applied = await migrateToLatest(database.db as never);
    process.stdout.write(applied.length === 0 ? "database is up to date\n" : `applied: ${applied.join(", ")}\n`);
  } finally {
    await database.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`migration failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
