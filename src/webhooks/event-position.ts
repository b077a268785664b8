import type { EventPosition } from "../events/event.js";

/** Orders two feed positions as readEvents does: by transaction id, then event id. */
export function comparePositions(a: EventPosition, b: EventPosition): number {
  if (a.xid !== b.xid) return a.xid < b.xid ? -1 : 1;
  return a.id === b.id ? 0 : a.id < b.id ? -1 : 1;
}
