import { toBinary, toJson } from "@bufbuild/protobuf";
import { type Session as SessionMessage, SessionSchema } from "../../gen/tessera/sessions/v1/session_pb.js";
import { MAX_PAGE_TOKEN_LENGTH } from "../sessions/session-page.js";

/** Bytes of a list response kept for its own framing (braces, field names, gRPC frame) and a next_page_token. */
export const RESPONSE_OVERHEAD_BYTES = 64 + MAX_PAGE_TOKEN_LENGTH;

/**
 * Bytes one Session adds to a response's repeated field in the larger of its
 * encodings: protobuf binary (tag, length, message) or JSON (text and a comma).
 * The budget then holds whichever protocol the caller speaks.
 */
export function encodedSessionSize(message: SessionMessage): number {
  const binary = toBinary(SessionSchema, message).byteLength;
  const json = Buffer.byteLength(JSON.stringify(toJson(SessionSchema, message)), "utf8");
  return Math.max(1 + varintLength(binary) + binary, json + 1);
}

/**
 * How many of the leading items fit in `budget` bytes together with the
 * response overhead. Always at least one (when there is one), so paging
 * moves on even past a single item larger than the budget.
 */
export function countWithinBudget(sizes: readonly number[], budget: number): number {
  let total = RESPONSE_OVERHEAD_BYTES;
  let count = 0;
  for (const size of sizes) {
    total += size;
    if (count > 0 && total > budget) break;
    count++;
  }
  return count;
}

function varintLength(value: number): number {
  let length = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 0x80)) length++;
  return length;
}
