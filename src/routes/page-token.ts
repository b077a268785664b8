import { InvalidArgumentError } from "../errors.js";

/** Page sizes of listing RPCs: 1 to 1000, 100 when unset (0). */
export const PAGE_SIZE = { default: 100, max: 1000 } as const;

/** A requested page size, or the default when 0. */
export function validPageSize(pageSize: number): number {
  if (pageSize === 0) return PAGE_SIZE.default;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > PAGE_SIZE.max) {
    throw new InvalidArgumentError("INVALID_PAGE_SIZE", `page_size must be from 1 to ${PAGE_SIZE.max}`);
  }
  return pageSize;
}

/** An opaque page token for "continue after this key" (base64url of a small JSON document). */
export function encodePageToken(after: string | undefined): string {
  return after === undefined ? "" : Buffer.from(JSON.stringify({ a: after }), "utf8").toString("base64url");
}

/** The key a page token continues after; undefined for the first page. INVALID_PAGE_TOKEN when malformed. */
export function decodePageToken(token: string): string | undefined {
  if (token === "") return undefined;
  try {
    if (token.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(token)) throw new Error("shape");
    const value: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    const after = (value as { a?: unknown } | null)?.a;
    if (typeof after !== "string") throw new Error("shape");
    return after;
  } catch {
    throw new InvalidArgumentError("INVALID_PAGE_TOKEN", "page_token is not a token this service returned");
  }
}
