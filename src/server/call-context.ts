import { createContextKey } from "@connectrpc/connect";

/**
 * The connection a call arrived on (the HTTP/1.1 socket or the HTTP/2
 * session), in each handler's context values: an identity to count per-connection things by.
 */
export const kConnection = createContextKey<object | undefined>(undefined, { description: "connection" });

/**
 * True in a call's context values once `refusedByHeaders` has accepted its
 * headers, so an interceptor applying the same rule need not apply it again.
 */
export const kHeadersAccepted = createContextKey<boolean>(false, { description: "headers accepted" });
