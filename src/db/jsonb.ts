import { type RawBuilder, sql } from "kysely";

/**
 * A value written to a jsonb column. The JSON text is sent as a `text`
 * parameter and cast in SQL, so neither `pg` (which turns arrays into
 * PostgreSQL array literals) nor PGlite re-encodes it.
 */
export function jsonb<T>(value: T): RawBuilder<T> {
  return sql<T>`cast(${JSON.stringify(value)}::text as jsonb)`;
}
