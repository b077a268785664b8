import { InvalidArgumentError } from "../errors.js";

/** Longest webhook URL accepted, in characters. */
export const MAX_WEBHOOK_URL_LENGTH = 2_048;

/**
 * The URL normalised by WHATWG URL parsing, or InvalidArgumentError
 * (INVALID_WEBHOOK_URL) naming why: too long, unparsable, not http(s), with
 * credentials, or with a fragment. The URL itself is not echoed back.
 */
export function validWebhookUrl(raw: string): string {
  const refuse = (why: string): never => {
    throw new InvalidArgumentError("INVALID_WEBHOOK_URL", `url ${why}`, { field: "url" });
  };
  if (raw.length === 0) refuse("is required");
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) refuse(`is longer than ${MAX_WEBHOOK_URL_LENGTH} characters`);
  // The URL parser would drop tabs and newlines silently; refuse them (and every control character) instead.
  if (raw.trim() !== raw || hasControlCharacter(raw)) refuse("must not hold whitespace or control characters");
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse("is not an absolute URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") refuse("must use http or https");
  if (url.username !== "" || url.password !== "") refuse("must not hold a user name or password");
  if (url.hash !== "") refuse("must not hold a fragment");
  if (url.hostname === "") refuse("must name a host");
  const normalised = url.toString();
  if (normalised.length > MAX_WEBHOOK_URL_LENGTH) refuse(`is longer than ${MAX_WEBHOOK_URL_LENGTH} characters`);
  return normalised;
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
