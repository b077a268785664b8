import { validEventTypes } from "../events/event-message.js";
import type { WebhookRouteDeps, WebhookServiceImpl } from "./deps.js";
import { toWebhookEndpointMessage } from "./webhook-endpoint-message.js";

/** WebhookService.UpdateWebhookEndpoint: changes the fields set, keeping the cursor. */
export function updateWebhookEndpoint(deps: WebhookRouteDeps): Pick<WebhookServiceImpl, "updateWebhookEndpoint"> {
  return {
    async updateWebhookEndpoint(req) {
      const endpoint = await deps.webhooks.update(req.id, {
        ...(req.url === undefined ? {} : { url: req.url }),
        ...(req.eventTypes === undefined ? {} : { eventTypes: validEventTypes(req.eventTypes.types) }),
        ...(req.description === undefined ? {} : { description: req.description }),
        ...(req.enabled === undefined ? {} : { enabled: req.enabled }),
      });
      return { endpoint: toWebhookEndpointMessage(endpoint) };
    },
  };
}
