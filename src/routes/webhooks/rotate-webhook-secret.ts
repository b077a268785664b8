import type { WebhookRouteDeps, WebhookServiceImpl } from "./deps.js";
import { toWebhookEndpointMessage } from "./webhook-endpoint-message.js";

/** WebhookService.RotateWebhookSecret: a new signing secret for later attempts, returned this once. */
export function rotateWebhookSecret(deps: WebhookRouteDeps): Pick<WebhookServiceImpl, "rotateWebhookSecret"> {
  return {
    async rotateWebhookSecret(req) {
      const rotated = await deps.webhooks.rotateSecret(req.id);
      return { endpoint: toWebhookEndpointMessage(rotated.endpoint), secret: rotated.secret };
    },
  };
}
