import { Webhook } from "standardwebhooks";
import type { ChangeEvent, EventType } from "../events/event.js";
import { encodeCursor } from "../events/event-cursor.js";

/** The Standard Webhooks `type` of each event type: full-stop delimited, as the spec suggests. */
export const WEBHOOK_EVENT_TYPES: Readonly<Record<EventType, string>> = {
  session_created: "session.created",
  session_claims_changed: "session.claims_changed",
  session_revoked: "session.revoked",
  session_expired: "session.expired",
  user_updated: "user.updated",
  user_deleted: "user.deleted",
  claim_template_changed: "claim_template.changed",
  signing_key_rotated: "signing_key.rotated",
  rbac_policy_changed: "rbac_policy.changed",
};

/** One signed delivery: the body and the headers to POST it with. */
export interface WebhookMessage {
  readonly id: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * The JSON body of an event per Standard Webhooks: `{type, timestamp, data}`,
 * where data holds the event's cursor, ids and versions (int64 as strings, as
 * in the API's JSON) and never a claim value, token or key.
 */
export function webhookBody(event: ChangeEvent): string {
  const data: Record<string, string> = { cursor: encodeCursor(event.position) };
  if (event.sessionId !== undefined) data.session_id = event.sessionId;
  if (event.userId !== undefined) data.user_id = event.userId;
  if (event.claimsVersion !== undefined) data.claims_version = event.claimsVersion.toString();
  if (event.denyUntil !== undefined) data.deny_until = event.denyUntil.toISOString();
  if (event.keyId !== undefined) data.key_id = event.keyId;
  if (event.templateVersion !== undefined) data.template_version = event.templateVersion.toString();
  return JSON.stringify({ type: WEBHOOK_EVENT_TYPES[event.type], timestamp: event.time.toISOString(), data });
}

/**
 * The event signed with `secret` at `now`: webhook-id is the event's cursor,
 * so every redelivery of the event carries the same id; webhook-timestamp is
 * the attempt's time, so a late retry still passes the receiver's tolerance check.
 */
export function signWebhook(event: ChangeEvent, secret: string, now: Date): WebhookMessage {
  const id = `msg_${encodeCursor(event.position)}`;
  const body = webhookBody(event);
  const signature = new Webhook(secret).sign(id, now, body);
  return {
    id,
    body,
    headers: {
      "content-type": "application/json",
      "user-agent": "Tessera-Webhooks/1",
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(now.getTime() / 1_000)),
      "webhook-signature": signature,
    },
  };
}
