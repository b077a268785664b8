import type { ServiceImpl } from "@connectrpc/connect";
import type { WebhookService } from "../../../gen/tessera/webhooks/v1/webhooks_pb.js";
import type { WebhookEndpoints } from "../../webhooks/webhook-endpoints.js";

/** What the WebhookService handlers need from the app. */
export interface WebhookRouteDeps {
  readonly webhooks: WebhookEndpoints;
}

/** The full WebhookService implementation; each RPC file returns its slice. */
export type WebhookServiceImpl = ServiceImpl<typeof WebhookService>;
