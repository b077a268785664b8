import type { WebhookRouteDeps, WebhookServiceImpl } from "./deps.js";
import { toWebhookEndpointMessage } from "./webhook-endpoint-message.js";

/** WebhookService.ListWebhookEndpoints: every endpoint (at most WEBHOOK_MAX_ENDPOINTS), oldest first. */
export function listWebhookEndpoints(deps: WebhookRouteDeps): Pick<WebhookServiceImpl, "listWebhookEndpoints"> {
  return {
    async listWebhookEndpoints() {
      return { endpoints: (await deps.webhooks.list()).map(toWebhookEndpointMessage) };
    },
  };
}
