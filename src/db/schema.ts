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
  /** The session's own claim patches folded into an overlay (src/claims/overlay-json.ts). */
  claims_overlay: Jsonb<Record<string, unknown>>;
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

/** Table `users`: metadata and roles that custom claim templates read. */
export interface UsersTable {
  user_id: string;
  trusted_metadata: Jsonb<Record<string, unknown>>;
  untrusted_metadata: Jsonb<Record<string, unknown>>;
  roles: Jsonb<string[]>;
  created_at: Date;
  updated_at: Date;
  version: ColumnType<string | number | bigint, string | number | bigint | undefined, string | number | bigint>;
}

/** Table `claim_template`: exactly one row (id 1); an empty source means no template. */
export interface ClaimTemplateTable {
  id: number;
  source: string;
  version: ColumnType<string | number | bigint, string | number | bigint | undefined, string | number | bigint>;
  updated_at: Date | null;
}

/** Table `rbac_policy`: exactly one row (id 1), the policy document as Stytch shapes it (src/rbac/rbac-policy.ts). */
export interface RbacPolicyTable {
  id: number;
  policy: Jsonb<Record<string, unknown>>;
  version: ColumnType<string | number | bigint, string | number | bigint | undefined, string | number | bigint>;
  updated_at: Date | null;
}

/** Table `session_events`: the outbox of changes resource services follow (src/events/). */
export interface SessionEventsTable {
  id: ColumnType<string, never, never>;
  /** Id of the writing transaction (xid8, read as text); set by default. */
  xid: ColumnType<string, never, never>;
  occurred_at: Date;
  type: string;
  session_id: string | null;
  user_id: string | null;
  claims_version: ColumnType<string | null, string | null | undefined, never>;
  deny_until: ColumnType<Date | null, Date | null | undefined, never>;
  key_id: ColumnType<string | null, string | null | undefined, never>;
  template_version: ColumnType<string | null, string | null | undefined, never>;
}

/** Table `event_horizon`: one row, the position of the newest event the sweeper deleted (read and written in raw SQL). */
export interface EventHorizonTable {
  singleton: ColumnType<boolean, boolean | undefined, never>;
  xid: string;
  id: string;
}

/** Table `webhook_endpoints`: registered webhooks and where delivery to each stands (src/webhooks/). */
export interface WebhookEndpointsTable {
  id: string;
  url: string;
  event_types: ColumnType<string[], RawBuilder<string[]>, RawBuilder<string[]>>;
  description: string;
  /** The Standard Webhooks signing secret: signs deliveries, never returned after creation, never logged. */
  secret: string;
  enabled: Generated<boolean>;
  created_at: Date;
  /** The position delivered up to (xid8 and id, read as text); null for the very start of the feed. */
  cursor_xid: ColumnType<string | null, RawBuilder<string> | null, RawBuilder<string> | null>;
  cursor_id: string | null;
  attempts: Generated<number>;
  next_attempt_at: Date | null;
  last_success_at: Date | null;
  last_error: string | null;
  /** The replica delivering to this endpoint, until lease_until. */
  lease_owner: string | null;
  lease_until: Date | null;
}

/** All tables, for `Kysely<DatabaseSchema>`. */
export interface DatabaseSchema {
  sessions: SessionsTable;
  signing_keys: SigningKeysTable;
  users: UsersTable;
  claim_template: ClaimTemplateTable;
  rbac_policy: RbacPolicyTable;
  session_events: SessionEventsTable;
  event_horizon: EventHorizonTable;
  webhook_endpoints: WebhookEndpointsTable;
}

/** A row of `sessions` as read. */
export type SessionRow = Selectable<SessionsTable>;
/** A row of `signing_keys` as read. */
export type SigningKeyRow = Selectable<SigningKeysTable>;
/** A row of `users` as read. */
export type UserRow = Selectable<UsersTable>;
/** A row of `claim_template` as read. */
export type ClaimTemplateRow = Selectable<ClaimTemplateTable>;
