import { type Kysely, sql } from "kysely";
import type { DatabaseSchema } from "../db/schema.js";

/** Longest a readiness probe waits for `select 1`. */
export const PROBE_TIMEOUT_MS = 2_000;

/** Whether the database answers `select 1` within `timeoutMs`. Never throws. */
export async function pingDatabase(db: Kysely<DatabaseSchema>, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([
      sql`select 1`.execute(db).then(
        () => true,
        () => false,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
