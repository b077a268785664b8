import type { Migration, MigrationProvider } from "kysely";
import * as init from "./2026-11-26T00-00-init.js";
import * as revokedAtIndex from "./2026-11-26T01-00-revoked-at-index.js";
import * as usersAndClaimTemplate from "./2026-11-26T12-00-users-and-claim-template.js";
import * as sessionEvents from "./2026-11-26T13-00-session-events.js";
import * as rbacPolicy from "./2026-11-27T00-00-rbac-policy.js";
import * as eventHorizon from "./2026-11-27T02-00-event-horizon.js";
import * as webhooks from "./2026-11-27T03-00-webhooks.js";

/** Every migration, by timestamped name. Add new ones here. */
export const migrations: Readonly<Record<string, Migration>> = {
  "2026-11-26T00-00-init": init,
  "2026-11-26T01-00-revoked-at-index": revokedAtIndex,
  "2026-11-26T12-00-users-and-claim-template": usersAndClaimTemplate,
  "2026-11-26T13-00-session-events": sessionEvents,
  "2026-11-27T00-00-rbac-policy": rbacPolicy,
  "2026-11-27T02-00-event-horizon": eventHorizon,
  "2026-11-27T03-00-webhooks": webhooks,
};

/** A Kysely MigrationProvider over the static list above (no filesystem scan). */
export const migrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...migrations }),
};
