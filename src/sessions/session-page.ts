/**
 * Paging of a user's sessions at the edge: page sizes and opaque page
 * tokens. Pure functions of their inputs; a token names where a page ended
 * (a keyset position) and the user it lists, nothing else.
 */
import { createHash } from "node:crypto";
import { InvalidArgumentError } from "../errors.js";
import type { SessionCursor } from "./session.service.js";

/** The page sizes a listing allows. */
export interface PageSizeLimits {
  /** Used when the request names none (0). */
  readonly defaultSize: number;
  /** Larger requested sizes are lowered to this. */
  readonly maxSize: number;
}

/** Longest page token accepted; the tokens Tessera makes are about 150 characters. */
export const MAX_PAGE_TOKEN_LENGTH = 512;

const TOKEN_VERSION = 1;
/** Latest instant a JavaScript Date can hold, in milliseconds. */
const MAX_DATE_MS = 8.64e15;

/** A requested page size: 0 means the default, above the maximum means the maximum, negative is refused. */
export function validPageSize(requested: number, limits: PageSizeLimits): number {
  if (!Number.isInteger(requested) || requested < 0) {
    throw new InvalidArgumentError("INVALID_PAGE_SIZE", "page_size must not be negative", {
      value: String(requested),
    });
  }
  if (requested === 0) return limits.defaultSize;
  return Math.min(requested, limits.maxSize);
}

/** The opaque token of the page after `cursor` in `userId`'s listing. */
export function encodePageToken(userId: string, cursor: SessionCursor): string {
  const body = [TOKEN_VERSION, userTag(userId), cursor.startedAt.getTime(), cursor.sessionId];
  return Buffer.from(JSON.stringify(body), "utf8").toString("base64url");
}

/**
 * The cursor in a token made by encodePageToken for the same user. Anything
 * else (not base64url, not the expected shape, made for another user,
 * altered) is INVALID_PAGE_TOKEN; the token itself is never echoed.
 */
export function decodePageToken(userId: string, token: string): SessionCursor {
  const invalid = () =>
    new InvalidArgumentError("INVALID_PAGE_TOKEN", "page_token is not a next_page_token of this listing", {
      length: String(token.length),
    });
  if (token.length > MAX_PAGE_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+$/.test(token)) throw invalid();
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(body) || body.length !== 4) throw invalid();
  const [version, tag, startedAtMs, sessionId] = body as unknown[];
  if (
    version !== TOKEN_VERSION ||
    tag !== userTag(userId) ||
    !Number.isSafeInteger(startedAtMs) ||
    (startedAtMs as number) < 0 ||
    (startedAtMs as number) > MAX_DATE_MS ||
    typeof sessionId !== "string" ||
    sessionId.length < 1 ||
    sessionId.length > 128
  ) {
    throw invalid();
  }
  const cursor: SessionCursor = { startedAt: new Date(startedAtMs as number), sessionId };
  // Only the canonical spelling is accepted, so a token has exactly one form.
  if (encodePageToken(userId, cursor) !== token) throw invalid();
  return cursor;
}

/** A short digest of the user id, binding a token to its listing without spelling the id out. */
function userTag(userId: string): string {
  return createHash("sha256").update(userId, "utf8").digest("base64url").slice(0, 16);
}
