import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

/** Where the generated API key of an embedded installation is kept. */
export function apiKeyPath(dataDir: string): string {
  return resolve(join(dataDir, "api-key"));
}

/**
 * Reads the API key stored in the data directory, making one (mode 0600) on
 * first start. Returns the key and whether it was just created.
 */
export function loadOrCreateApiKey(dataDir: string): { key: string; path: string; created: boolean } {
  const path = apiKeyPath(dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    return { key: readFileSync(path, "utf8").trim(), path, created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const key = `tsk_${randomBytes(32).toString("base64url")}`;
  writeFileSync(path, `${key}\n`, { mode: 0o600, flag: "wx" });
  return { key, path, created: true };
}
