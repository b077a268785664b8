import { randomBytes } from "node:crypto";

/** Random bytes in a new signing secret (Standard Webhooks asks for 24 to 64). */
const SECRET_BYTES = 32;

/** A new Standard Webhooks signing secret: `whsec_` and the base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(SECRET_BYTES).toString("base64")}`;
}

/** A new endpoint id: `whe_` and 16 random bytes in hex (also its metric label). */
export function newWebhookEndpointId(): string {
  return `whe_${randomBytes(16).toString("hex")}`;
}
