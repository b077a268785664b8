import type { WebhookRouteDeps, WebhookServiceImpl } from "./deps.js";

/** WebhookService.DeleteWebhookEndpoint: deletes the endpoint; nothing more is delivered to it. */
export function deleteWebhookEndpoint(deps: WebhookRouteDeps): Pick<WebhookServiceImpl, "deleteWebhookEndpoint"> {
  return {
    async deleteWebhookEndpoint(req) {
      await deps.webhooks.delete(req.id);
      return {};
    },
  };
}
