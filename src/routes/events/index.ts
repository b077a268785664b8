import type { ConnectRouter } from "@connectrpc/connect";
import { EventService } from "../../../gen/tessera/events/v1/event_service_pb.js";
import { registerMethods } from "../index.js";
import type { EventRouteDeps } from "./deps.js";
import { listEvents } from "./list-events.js";
import { watchEvents } from "./watch-events.js";

/** Registers every EventService RPC on the router (all need an API key). */
export function registerEventService(router: ConnectRouter, deps: EventRouteDeps): void {
  registerMethods(router, EventService, {
    ...listEvents(deps),
    ...watchEvents(deps),
  });
}
