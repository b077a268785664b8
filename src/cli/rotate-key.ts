import { KeyRotationTooSoonError } from "../errors.js";
import { withAdminParts } from "./admin-parts.js";

/** Exit status of a refused rotation: EX_TEMPFAIL, "try again later". */
const EXIT_TRY_LATER = 75;

/**
 * `npm run rotate-key`: makes a new signing key on the configured database and
 * exits. Running replicas pick it up within KEY_RELOAD_SECONDS (or at once on
 * seeing its kid); the previous key stays published for one JWT lifetime plus
 * an hour. With embedded PGlite, stop the server first (one process at a time)
 * or call AdminService.RotateSigningKey instead. A rotation refused by
 * KEY_ROTATION_MIN_INTERVAL_SECONDS or MAX_PUBLISHED_SIGNING_KEYS says when the
 * next is allowed and exits 75.
 */
async function main(): Promise<void> {
  await withAdminParts(async ({ keys }) => {
    const rotation = await keys.rotate();
    const published = keys.published().map((key) => key.kid);
    process.stdout.write(
      `${JSON.stringify({ kid: rotation.kid, published_kids: published, deleted_keys: rotation.deleted })}\n`,
    );
  });
}

main().catch((err: unknown) => {
  if (err instanceof KeyRotationTooSoonError) {
    process.stderr.write(`${err.message} (retry in ${err.metadata.retry_after_seconds} s); nothing was changed\n`);
    process.exit(EXIT_TRY_LATER);
  }
  process.stderr.write(`key rotation failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
