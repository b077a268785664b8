import { createHash, randomBytes } from "node:crypto";

/** Makes a new opaque session token: 256 random bits, base64url. */
export function newSessionToken(): string {
  return randomBytes(32).toString("base64url");
}

/** The stored form of a session token: its SHA-256, hex. The token itself is never stored. */
export function hashSessionToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}
