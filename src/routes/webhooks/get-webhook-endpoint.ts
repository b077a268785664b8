import type { WebhookRouteDeps, WebhookServiceImpl } from "./deps.js";
import { toWebhookEndpointMessage } from "./webhook-endpoint-message.js";

/** WebhookService.GetWebhookEndpoint: one endpoint and its delivery state. */
export function getWebhookEndpoint(deps: WebhookRouteDeps): Pick<WebhookServiceImpl, "getWebhookEndpoint"> {
  return {
    async getWebhookEndpoint(req) {
      return { endpoint: toWebhookEndpointMessage(await deps.webhooks.get(req.id)) };
    },
  };
}
