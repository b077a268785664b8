import type { ColumnType, Generated, RawBuilder, Selectable } from "kysely";

/** A jsonb column: written only through `jsonb()` (src/db/jsonb.ts), read back parsed. */
type Jsonb<T> = ColumnType<T, RawBuilder<T>, RawBuilder<T>>;

/** Table `sessions`. Tokens are stored only as SHA-256 hex digests. */
export interface SessionsTable {
  session_id: string;
  user_id: string;
  token_hash: string;
  started_at: Date;
  last_accessed_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  attributes: Jsonb<{ ip_address: string; user_agent: string }>;
  roles: Jsonb<string[]>;
  custom_claims: Jsonb<Record<string, unknown>>;
  claims_version: ColumnType<string | number | bigint, string | number | bigint | undefined, string | number | bigint>;
}

/** Table `signing_keys`: every replica signs and verifies with these. */
export interface SigningKeysTable {
  kid: string;
  alg: string;
  private_jwk: Jsonb<Record<string, unknown>>;
  public_jwk: Jsonb<Record<string, unknown>>;
  created_at: Generated<Date>;
  /** When this key stopped signing; null for the active key. */
  retired_at: Date | null;
}

/** All tables, for `Kysely<DatabaseSchema>`. */
export interface DatabaseSchema {
  sessions: SessionsTable;
  signing_keys: SigningKeysTable;
}

/** A row of `sessions` as read. */
export type SessionRow = Selectable<SessionsTable>;
/** A row of `signing_keys` as read. */
export type SigningKeyRow = Selectable<SigningKeysTable>;
