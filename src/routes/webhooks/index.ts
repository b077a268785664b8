import type { ConnectRouter } from "@connectrpc/connect";
import { WebhookService } from "../../../gen/tessera/webhooks/v1/webhooks_pb.js";
import { registerMethods } from "../index.js";
import { createWebhookEndpoint } from "./create-webhook-endpoint.js";
import { deleteWebhookEndpoint } from "./delete-webhook-endpoint.js";
import type { WebhookRouteDeps } from "./deps.js";
import { getWebhookEndpoint } from "./get-webhook-endpoint.js";
import { listWebhookEndpoints } from "./list-webhook-endpoints.js";
import { rotateWebhookSecret } from "./rotate-webhook-secret.js";
import { updateWebhookEndpoint } from "./update-webhook-endpoint.js";

/** Registers every WebhookService RPC on the router (all need an API key). */
export function registerWebhookService(router: ConnectRouter, deps: WebhookRouteDeps): void {
  registerMethods(router, WebhookService, {
    ...createWebhookEndpoint(deps),
    ...getWebhookEndpoint(deps),
    ...listWebhookEndpoints(deps),
    ...updateWebhookEndpoint(deps),
    ...deleteWebhookEndpoint(deps),
    ...rotateWebhookSecret(deps),
  });
}
