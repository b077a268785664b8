import type { Kysely } from "kysely";
import type { Clock } from "../clock.js";
import type { DatabaseSchema } from "../db/schema.js";
import { InvalidArgumentError, WebhookEndpointLimitReachedError, WebhookEndpointNotFoundError } from "../errors.js";
import type { EventPosition, EventType } from "../events/event.js";
import type { Logger } from "../logger.js";
import { isStorableText } from "../storable-text.js";
import type { WebhookEndpoint } from "./webhook-endpoint.js";
import {
  deleteEndpoint,
  type EndpointChange,
  insertEndpoint,
  selectEndpoint,
  selectEndpoints,
  updateEndpoint,
  updateSecret,
} from "./webhook-endpoint.repository.js";
import { newWebhookEndpointId, newWebhookSecret } from "./webhook-secret.js";
import { validWebhookUrl } from "./webhook-url.js";

/** Longest endpoint description, in characters. */
export const MAX_WEBHOOK_DESCRIPTION_LENGTH = 256;

/** Options of createWebhookEndpoints. */
export interface WebhookEndpointsOptions {
  readonly db: Kysely<DatabaseSchema>;
  readonly clock: Clock;
  /** Gets one line per change, naming the endpoint id (never its URL, which may hold a token, or its secret). */
  readonly logger: Logger;
  /** WEBHOOK_MAX_ENDPOINTS. */
  readonly maxEndpoints: number;
  /** The position of the newest event swept (readEventHorizon): a new endpoint starts no earlier. */
  readonly readHorizon: (db: Kysely<DatabaseSchema>) => Promise<EventPosition | undefined>;
  /** Told after every change, so delivery picks it up at once (WebhookDispatcher.poke). */
  readonly onChange: () => void;
}

/** An endpoint and its new secret, shown this once. */
export interface CreatedEndpoint {
  readonly endpoint: WebhookEndpoint;
  readonly secret: string;
}

/** An endpoint to register, as the caller asked. */
export interface EndpointRequest {
  readonly url: string;
  readonly eventTypes: readonly EventType[];
  readonly description: string;
}

/** The webhook endpoint registry behind WebhookService. */
export interface WebhookEndpoints {
  create(request: EndpointRequest): Promise<CreatedEndpoint>;
  get(id: string): Promise<WebhookEndpoint>;
  list(): Promise<WebhookEndpoint[]>;
  update(id: string, change: EndpointChange): Promise<WebhookEndpoint>;
  delete(id: string): Promise<void>;
  /** Gives the endpoint a new secret, returned this once. */
  rotateSecret(id: string): Promise<CreatedEndpoint>;
}

/** Creates the registry; every method validates its input and throws typed errors. */
export function createWebhookEndpoints(options: WebhookEndpointsOptions): WebhookEndpoints {
  const { db } = options;
  const found = (endpoint: WebhookEndpoint | undefined): WebhookEndpoint => {
    if (endpoint === undefined) throw new WebhookEndpointNotFoundError();
    return endpoint;
  };
  return {
    async create(request) {
      const url = validWebhookUrl(request.url);
      const description = validDescription(request.description);
      const id = newWebhookEndpointId();
      const secret = newWebhookSecret();
      const floor = await options.readHorizon(db);
      const endpoint = { id, url, eventTypes: request.eventTypes, description, secret, createdAt: options.clock() };
      if (!(await insertEndpoint(db, endpoint, options.maxEndpoints, floor))) {
        throw new WebhookEndpointLimitReachedError(options.maxEndpoints);
      }
      options.onChange();
      options.logger.info({ endpoint: id }, "webhook endpoint created");
      return { endpoint: found(await selectEndpoint(db, id)), secret };
    },
    async get(id) {
      return found(await selectEndpoint(db, id));
    },
    list: () => selectEndpoints(db, options.maxEndpoints),
    async update(id, change) {
      const valid: EndpointChange = {
        ...change,
        ...(change.url === undefined ? {} : { url: validWebhookUrl(change.url) }),
        ...(change.description === undefined ? {} : { description: validDescription(change.description) }),
      };
      const endpoint = found(await updateEndpoint(db, id, valid));
      options.onChange();
      options.logger.info({ endpoint: id, enabled: endpoint.enabled }, "webhook endpoint updated");
      return endpoint;
    },
    async delete(id) {
      if (!(await deleteEndpoint(db, id))) throw new WebhookEndpointNotFoundError();
      options.onChange();
      options.logger.info({ endpoint: id }, "webhook endpoint deleted");
    },
    async rotateSecret(id) {
      const secret = newWebhookSecret();
      const endpoint = found(await updateSecret(db, id, secret));
      options.logger.info({ endpoint: id }, "webhook secret rotated");
      return { endpoint, secret };
    },
  };
}

/** The description, or InvalidArgumentError (INVALID_REQUEST_FIELD) when too long or not storable text. */
function validDescription(description: string): string {
  const problem =
    description.length > MAX_WEBHOOK_DESCRIPTION_LENGTH
      ? `is longer than ${MAX_WEBHOOK_DESCRIPTION_LENGTH} characters`
      : isStorableText(description)
        ? undefined
        : "holds U+0000 or a lone surrogate";
  if (problem !== undefined) {
    throw new InvalidArgumentError("INVALID_REQUEST_FIELD", `description ${problem}`, { field: "description" });
  }
  return description;
}
