import type { HttpRequest } from "../http/http-route.js";
import { StytchHttpError } from "./stytch-error.js";

const decoder = new TextDecoder("utf-8", { fatal: true });

/** `application/json`, optionally with `charset=utf-8` (any case, optionally quoted), and no other parameter. */
const JSON_MEDIA_TYPE = /^application\/json[ \t]*(?:;[ \t]*charset[ \t]*=[ \t]*(?:utf-8|"utf-8")[ \t]*)?$/i;

/**
 * Reads a request body of at most `maxBytes` as a JSON object; an empty body is `{}`.
 * The body must be declared `application/json`, as every Stytch SDK sends it.
 */
export async function readJsonObject(req: HttpRequest, maxBytes: number): Promise<Record<string, unknown>> {
  if (!JSON_MEDIA_TYPE.test(req.headers["content-type"] ?? "")) {
    throw new StytchHttpError(400, "bad_request", "the request body must be sent as content-type: application/json");
  }
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge(maxBytes);
    chunks.push(chunk);
  }
  if (size === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(Buffer.concat(chunks, size)));
  } catch {
    throw new StytchHttpError(400, "bad_request", "request body is not valid UTF-8 JSON");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new StytchHttpError(400, "bad_request", "request body must be a JSON object");
  }
  return value as Record<string, unknown>;
}

function tooLarge(maxBytes: number): StytchHttpError {
  return new StytchHttpError(413, "request_too_large", `request body is larger than ${maxBytes} bytes`);
}
