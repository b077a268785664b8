import type { HttpRequest } from "../http/http-route.js";
import { StytchHttpError } from "./stytch-error.js";

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Reads a request body of at most `maxBytes` as a JSON object; an empty body is `{}`. */
export async function readJsonObject(req: HttpRequest, maxBytes: number): Promise<Record<string, unknown>> {
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
