import { decodeCursor, encodeCursor } from "../../events/event-cursor.js";
import { kConnection } from "../../server/connect-node-handler.js";
import type { EventRouteDeps, EventServiceImpl } from "./deps.js";
import { toEventMessage, validEventTypes } from "./event-message.js";

/**
 * EventService.WatchEvents: batches of events after the cursor as they
 * commit, and heartbeats (no events, the current cursor) when quiet; ends
 * when the client goes away or the server shuts down.
 */
export function watchEvents(deps: EventRouteDeps): Pick<EventServiceImpl, "watchEvents"> {
  return {
    watchEvents(req, context) {
      // Checked before the stream starts, so a refusal is a plain error with its reason.
      const after = decodeCursor(req.afterCursor);
      const types = validEventTypes(req.types);
      const batches = deps.events.watch(after, types, context.signal, context.values.get(kConnection));
      return (async function* () {
        for await (const batch of batches) {
          yield {
            events: batch.events.map(toEventMessage),
            cursor: batch.position === undefined ? "" : encodeCursor(batch.position),
          };
        }
      })();
    },
  };
}
