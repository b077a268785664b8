import { validEventTypes } from "../events/event-message.js";
import type { WebhookRouteDeps, WebhookServiceImpl } from "./deps.js";
import { toWebhookEndpointMessage } from "./webhook-endpoint-message.js";

/** WebhookService.CreateWebhookEndpoint: registers an endpoint; the only answer that holds its secret. */
export function createWebhookEndpoint(deps: WebhookRouteDeps): Pick<WebhookServiceImpl, "createWebhookEndpoint"> {
  return {
    async createWebhookEndpoint(req) {
      const created = await deps.webhooks.create({
        url: req.url,
        eventTypes: validEventTypes(req.eventTypes),
        description: req.description,
      });
      return { endpoint: toWebhookEndpointMessage(created.endpoint), secret: created.secret };
    },
  };
}
