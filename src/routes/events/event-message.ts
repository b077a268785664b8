import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Event } from "../../../gen/tessera/events/v1/event_service_pb.js";
import { EventType as EventTypeMessage } from "../../../gen/tessera/events/v1/event_service_pb.js";
import { InvalidArgumentError } from "../../errors.js";
import type { ChangeEvent, EventType } from "../../events/event.js";
import { EVENT_TYPES } from "../../events/event.js";
import { encodeCursor } from "../../events/event-cursor.js";

/** An event as its protobuf message (fields not set for its type stay at their defaults). */
export function toEventMessage(event: ChangeEvent): Omit<Event, "$typeName"> {
  return {
    cursor: encodeCursor(event.position),
    time: timestampFromDate(event.time),
    type: (EVENT_TYPES.indexOf(event.type) + 1) as EventTypeMessage,
    sessionId: event.sessionId ?? "",
    userId: event.userId ?? "",
    claimsVersion: event.claimsVersion ?? 0n,
    denyUntil: event.denyUntil && timestampFromDate(event.denyUntil),
    keyId: event.keyId ?? "",
    templateVersion: event.templateVersion ?? 0n,
  };
}

/** The requested type filter, or InvalidArgumentError (INVALID_REQUEST_FIELD) for an unknown or unspecified type. */
export function validEventTypes(types: readonly EventTypeMessage[]): EventType[] {
  return [
    ...new Set(
      types.map((type) => {
        const name = type === EventTypeMessage.UNSPECIFIED ? undefined : EVENT_TYPES[type - 1];
        if (name === undefined) {
          throw new InvalidArgumentError("INVALID_REQUEST_FIELD", "types holds an unknown event type", {
            field: "types",
          });
        }
        return name;
      }),
    ),
  ];
}
