import { InvalidArgumentError } from "../errors.js";
import type { EventPosition } from "./event.js";

const CURSOR = /^e1\.(\d{1,20})\.(\d{1,20})$/;
const MAX_U64 = (1n << 64n) - 1n;

/** The opaque cursor of a position. */
export function encodeCursor(position: EventPosition): string {
  return `e1.${position.xid}.${position.id}`;
}

/** The position of a cursor ("" is the start), or InvalidArgumentError (INVALID_EVENT_CURSOR). */
export function decodeCursor(cursor: string): EventPosition | undefined {
  if (cursor === "") return undefined;
  const match = CURSOR.exec(cursor);
  const xid = match ? BigInt(match[1] as string) : -1n;
  const id = match ? BigInt(match[2] as string) : -1n;
  if (xid < 0n || xid > MAX_U64 || id < 0n || id > MAX_U64 >> 1n) {
    throw new InvalidArgumentError("INVALID_EVENT_CURSOR", "after_cursor is not a cursor this service returned");
  }
  return { xid, id };
}
