import { readFileSync } from "node:fs";
import { systemClock } from "../clock.js";
import { parseConfig } from "../config.js";
import { claimsPolicyOf, databaseOptions, keyStoreFor, sessionJwtsFor } from "../context.js";
import { openDatabase } from "../db/database.js";
import { migrateToLatest } from "../db/migrate.js";
import { TesseraError } from "../errors.js";
import { createRbacPolicies } from "../rbac/rbac-policies.js";
import { MAX_CREDENTIAL_LENGTH } from "../sessions/session-input.js";
import { createClaimTemplates } from "../templates/claim-templates.js";
import { jwtLengthCheck } from "../tokens/jwt-length.js";

const USAGE = "usage: npm run rbac-policy -- set FILE | get";

/**
 * `npm run rbac-policy -- set FILE | get`: replaces the project's RBAC policy
 * with the JSON document in FILE (Stytch's policy shape: resources, roles,
 * scopes), or prints it, on the configured database, with the same checks as
 * AdminService.SetRbacPolicy. With embedded PGlite, stop the server first
 * (one process at a time) or call the admin RPC instead.
 */
async function main(argv: readonly string[]): Promise<void> {
  const [command, file] = argv;
  if (!((command === "set" && file !== undefined) || command === "get")) throw new Error(USAGE);
  // Read and parsed before the database is opened: a bad file changes nothing and takes no lock.
  const document = command === "set" ? parseJson(readFileSync(file ?? "", "utf8")) : undefined;
  const config = parseConfig(process.env);
  const database = await openDatabase(databaseOptions(config, 1));
  try {
    await migrateToLatest(database.db as never);
    const keys = keyStoreFor(config, database, systemClock);
    await keys.init();
    const templates = createClaimTemplates({
      db: database.db,
      clock: systemClock,
      claimsPolicy: claimsPolicyOf(config),
      checkJwt: jwtLengthCheck(sessionJwtsFor(config, keys, systemClock), MAX_CREDENTIAL_LENGTH),
      defaultRole: config.rbacDefaultRole,
    });
    const rbac = createRbacPolicies({
      db: database.db,
      clock: systemClock,
      maxBytes: config.rbacPolicyMaxBytes,
      templates,
    });
    if (command === "get") {
      process.stdout.write(`${JSON.stringify((await rbac.get()).policy, null, 2)}\n`);
    } else {
      const stored = await rbac.set(document);
      process.stdout.write(`${JSON.stringify({ version: String(stored.version) })}\n`);
    }
  } finally {
    await database.close();
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`the policy file is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const detail =
    err instanceof TesseraError ? `${err.reason}: ${err.message}` : err instanceof Error ? err.message : String(err);
  process.stderr.write(`rbac-policy failed: ${detail}\n`);
  process.exit(1);
});
