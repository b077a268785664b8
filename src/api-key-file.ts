import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { MIN_API_KEY_LENGTH } from "./config.js";

/** Where the generated API key of an embedded installation is kept. */
export function apiKeyPath(dataDir: string): string {
  return resolve(join(dataDir, "api-key"));
}

/**
 * Reads the API key stored in the data directory, making one (mode 0600) on
 * first start. Returns the key and whether it was just created. A key file
 * that is empty or holds a key shorter than MIN_API_KEY_LENGTH is refused:
 * an empty secret must never become an accepted one.
 */
export function loadOrCreateApiKey(dataDir: string): { key: string; path: string; created: boolean } {
  const path = apiKeyPath(dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const existing = readKeyFile(path);
  if (existing !== undefined) return { key: existing, path, created: false };
  const key = `tsk_${randomBytes(32).toString("base64url")}`;
  if (writeKeyFileOnce(path, `${key}\n`)) return { key, path, created: true };
  // Another process made the file between our read and our write: use its key.
  return { key: readKeyFile(path) ?? key, path, created: false };
}

/** The key in `path`, undefined when there is no such file; throws (naming the file, never the key) when it is unusable. */
function readKeyFile(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const key = text.trim();
  if (key.length < MIN_API_KEY_LENGTH) {
    const what = key.length === 0 ? "is empty" : `holds a key shorter than ${MIN_API_KEY_LENGTH} characters`;
    throw new Error(
      `the API key file ${path} ${what}; delete it to have a new key generated on the next start, or set API_KEYS`,
    );
  }
  return key;
}

/**
 * Writes `content` to `path` atomically and only if `path` does not exist:
 * a temporary file is written, fsynced, then hard-linked into place (which,
 * unlike rename, never replaces a file another process made), so `path` is
 * either absent or complete, never empty or half-written. False when `path` existed.
 */
function writeKeyFileOnce(path: string, content: string): boolean {
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    const fd = openSync(temporary, "wx", 0o600);
    try {
      writeSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(temporary, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw err;
    }
    syncDirectory(dirname(path));
    return true;
  } finally {
    try {
      unlinkSync(temporary);
    } catch {
      // Already gone, or never made because the open failed.
    }
  }
}

/** Makes a new directory entry durable; some platforms cannot fsync a directory, and there it is skipped. */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Best effort: the file itself is already fsynced.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
