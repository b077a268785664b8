import { InvalidArgumentError } from "../../errors.js";
import { decodeCursor, encodeCursor } from "../../events/event-cursor.js";
import type { EventRouteDeps, EventServiceImpl } from "./deps.js";
import { toEventMessage, validEventTypes } from "./event-message.js";

/** EventService.ListEvents: up to `limit` events after the cursor (EVENTS_DEFAULT_PAGE_SIZE when 0, at most EVENTS_MAX_PAGE_SIZE). */
export function listEvents(deps: EventRouteDeps): Pick<EventServiceImpl, "listEvents"> {
  const { eventsDefaultPageSize, eventsMaxPageSize } = deps.config;
  return {
    async listEvents(req) {
      if (req.limit < 0) {
        throw new InvalidArgumentError("INVALID_PAGE_SIZE", "limit must not be negative", { field: "limit" });
      }
      const after = decodeCursor(req.afterCursor);
      const types = validEventTypes(req.types);
      const limit = req.limit === 0 ? eventsDefaultPageSize : Math.min(req.limit, eventsMaxPageSize);
      const batch = await deps.events.list(after, limit, types);
      return {
        events: batch.events.map(toEventMessage),
        cursor: batch.position === undefined ? "" : encodeCursor(batch.position),
      };
    },
  };
}
