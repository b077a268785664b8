import { type RawBuilder, sql } from "kysely";

/**
 * A value written to a jsonb column. The JSON text is sent as a `text`
 * parameter and cast in SQL, so neither `pg` (which turns arrays into
 * PostgreSQL array literals) nor PGlite re-encodes it.
 */
export function jsonb<T>(value: T): RawBuilder<T> {
  return jsonbOfText<T>(JSON.stringify(value));
}

/** A value written to a jsonb column, given as its JSON text (as `jsonb` sends it; for prepared statements). */
export function jsonbOfText<T>(text: string): RawBuilder<T> {
  return sql<T>`cast(${text}::text as jsonb)`;
}
