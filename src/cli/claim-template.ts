import { readFileSync } from "node:fs";
import { TesseraError } from "../errors.js";
import { withAdminParts } from "./admin-parts.js";

const USAGE = "usage: npm run claim-template -- set FILE | get | clear";

/**
 * `npm run claim-template -- set FILE | get | clear`: sets, prints or clears
 * the project's custom claim template on the configured database (the same
 * checks as AdminService.SetClaimTemplate). With embedded PGlite, stop the
 * server first (one process at a time) or call the admin RPC instead.
 */
async function main(argv: readonly string[]): Promise<void> {
  const [command, file] = argv;
  if (!((command === "set" && file !== undefined) || command === "get" || command === "clear")) {
    throw new Error(USAGE);
  }
  await withAdminParts(async ({ templates }) => {
    const stored =
      command === "get"
        ? await templates.get()
        : await templates.set(command === "clear" ? "" : readFileSync(file ?? "", "utf8"));
    if (command === "get") process.stdout.write(stored.source === "" ? "" : `${stored.source.replace(/\n?$/, "\n")}`);
    else
      process.stdout.write(`${JSON.stringify({ version: String(stored.version), cleared: stored.source === "" })}\n`);
  });
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const detail =
    err instanceof TesseraError ? `${err.reason}: ${err.message}` : err instanceof Error ? err.message : String(err);
  process.stderr.write(`claim-template failed: ${detail}\n`);
  process.exit(1);
});
