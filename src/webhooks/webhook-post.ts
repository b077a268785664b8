import type { WebhookMessage } from "./webhook-message.js";

/** How a POST ended: delivered (2xx), failed with a short category, or cut off by shutdown. */
export type PostResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly error: string }
  | { readonly aborted: true };

/**
 * POSTs one message to `url` and discards the answer's body unread. A 2xx is
 * success; anything else (a redirect too: none is followed) or no answer
 * within `timeoutMs` is a failure named by a short category ("http_503",
 * "timeout", "connect_refused", ...), never by anything the receiver sent.
 * When `signal` (shutdown) aborts first the result is `aborted`.
 */
export async function postWebhook(
  url: string,
  message: WebhookMessage,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<PostResult> {
  // One controller per POST, tied to `signal` by a listener removed afterwards: AbortSignal.any on the
  // process-long shutdown signal would keep a reference per POST in it (nodejs/node#55351).
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const onShutdown = () => controller.abort();
  signal.addEventListener("abort", onShutdown, { once: true });
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: message.headers,
      body: message.body,
      redirect: "manual",
      signal: controller.signal,
    });
    // Nothing of the body is read: the receiver's answer carries no meaning here.
    await response.body?.cancel().catch(() => {});
    return response.status >= 200 && response.status < 300
      ? { ok: true }
      : { ok: false, error: `http_${response.status}` };
  } catch (err) {
    if (signal.aborted) return { aborted: true };
    if (timedOut) return { ok: false, error: "timeout" };
    return { ok: false, error: failureCategory(err) };
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onShutdown);
  }
}

/** Network error codes (of the error or its cause) and the category each is reported as. */
const CATEGORIES: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connect_refused",
  ECONNRESET: "connection_reset",
  EPIPE: "connection_reset",
  UND_ERR_SOCKET: "connection_reset",
  ENOTFOUND: "dns_error",
  EAI_AGAIN: "dns_error",
  EHOSTUNREACH: "host_unreachable",
  ENETUNREACH: "host_unreachable",
  ETIMEDOUT: "timeout",
  UND_ERR_CONNECT_TIMEOUT: "timeout",
  UND_ERR_HEADERS_TIMEOUT: "timeout",
  UND_ERR_BODY_TIMEOUT: "timeout",
};

/** A short, fixed category for a failed fetch, from its error code (never its message). */
function failureCategory(err: unknown): string {
  for (let current: unknown = err, depth = 0; current instanceof Error && depth < 4; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") {
      const category = CATEGORIES[code];
      if (category !== undefined) return category;
      if (/^(ERR_TLS|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_)/.test(code) || code.includes("SSL")) return "tls_error";
    }
    current = current.cause;
  }
  return "network_error";
}
