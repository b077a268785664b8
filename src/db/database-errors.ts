/** Driver error codes that mean PostgreSQL (or the network to it) is unreachable, not that a query is wrong. */
const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "08000",
  "08001",
  "08003",
  "08004",
  "08006",
]);

/** Whether an error means the database cannot be reached (as opposed to a bug). */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && UNAVAILABLE_CODES.has(code)) return true;
  return /Connection terminated|not queryable|timeout exceeded when trying to connect|Query read timeout|connect ECONNREFUSED/i.test(
    err.message,
  );
}
