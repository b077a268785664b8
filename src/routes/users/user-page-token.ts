import { InvalidArgumentError } from "../../errors.js";

/** Page sizes of ListUsers: 100 when unset (0), larger requests lowered to 1000. */
export const USER_PAGE_SIZES = { defaultSize: 100, maxSize: 1000 } as const;

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
