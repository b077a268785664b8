import { readFileSync } from "node:fs";
import { TesseraError } from "../errors.js";
import { withAdminParts } from "./admin-parts.js";

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
  await withAdminParts(async ({ rbac }) => {
    if (command === "get") {
      process.stdout.write(`${JSON.stringify((await rbac.get()).policy, null, 2)}\n`);
    } else {
      const stored = await rbac.set(document);
      process.stdout.write(`${JSON.stringify({ version: String(stored.version) })}\n`);
    }
  });
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
