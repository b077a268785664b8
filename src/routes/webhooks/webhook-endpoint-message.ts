import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { EventType as EventTypeMessage } from "../../../gen/tessera/events/v1/event_service_pb.js";
import type { WebhookEndpointSchema } from "../../../gen/tessera/webhooks/v1/webhooks_pb.js";
import { EVENT_TYPES } from "../../events/event.js";
import { encodeCursor } from "../../events/event-cursor.js";
import type { WebhookEndpoint } from "../../webhooks/webhook-endpoint.js";

/** An endpoint as its protobuf message: its delivery state, never its secret. */
export function toWebhookEndpointMessage(endpoint: WebhookEndpoint): MessageInitShape<typeof WebhookEndpointSchema> {
  const { delivery } = endpoint;
  return {
    id: endpoint.id,
    url: endpoint.url,
    eventTypes: endpoint.eventTypes.map((type) => (EVENT_TYPES.indexOf(type) + 1) as EventTypeMessage),
    description: endpoint.description,
    enabled: endpoint.enabled,
    createdAt: timestampFromDate(endpoint.createdAt),
    delivery: {
      cursor: delivery.cursor === undefined ? "" : encodeCursor(delivery.cursor),
      lastSuccessAt: delivery.lastSuccessAt && timestampFromDate(delivery.lastSuccessAt),
      consecutiveFailures: delivery.attempts,
      nextAttemptAt: delivery.nextAttemptAt && timestampFromDate(delivery.nextAttemptAt),
      lastError: delivery.lastError ?? "",
    },
  };
}
