import { systemClock } from "../clock.js";
import { parseConfig } from "../config.js";
import { databaseOptions, keyStoreFor } from "../context.js";
import { openDatabase } from "../db/database.js";
import { migrateToLatest } from "../db/migrate.js";

/**
 * `npm run rotate-key`: makes a new signing key on the configured database and
 * exits. Running replicas pick it up within KEY_RELOAD_SECONDS (or at once on
 * seeing its kid); the previous key stays published for one JWT lifetime plus
 * an hour. With embedded PGlite, stop the server first (one process at a time)
 * or call AdminService.RotateSigningKey instead.
 */
async function main(): Promise<void> {
  const config = parseConfig(process.env);
  const database = await openDatabase(databaseOptions(config, 1));
  try {
    await migrateToLatest(database.db as never);
    const keys = keyStoreFor(config, database, systemClock);
    await keys.init();
    const rotation = await keys.rotate();
    const published = keys.published().map((key) => key.kid);
    process.stdout.write(
      `${JSON.stringify({ kid: rotation.kid, published_kids: published, deleted_keys: rotation.deleted })}\n`,
    );
  } finally {
    await database.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`key rotation failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
