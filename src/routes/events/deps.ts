import type { ServiceImpl } from "@connectrpc/connect";
import type { EventService } from "../../../gen/tessera/events/v1/event_service_pb.js";
import type { Config } from "../../config.js";
import type { EventFeed } from "../../events/event-feed.js";

/** What the EventService handlers need from the app. */
export interface EventRouteDeps {
  readonly events: EventFeed;
  readonly config: Pick<Config, "eventsDefaultPageSize" | "eventsMaxPageSize">;
}

/** The full EventService implementation; each RPC file returns its slice. */
export type EventServiceImpl = ServiceImpl<typeof EventService>;
