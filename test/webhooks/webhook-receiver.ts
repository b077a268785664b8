import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

/**
 * How the receiver answers: 204, a 503, a 302 to another path, never (until the
 * sender gives up), or not at all (closed: connection refused).
 */
export type ReceiverMode = "up" | "503" | "302" | "hang" | "down";

/** One POST the receiver got. */
export interface Received {
  readonly id: string;
  readonly path: string;
  readonly body: { type: string; timestamp: string; data: Record<string, string> };
  /** Whether `new Webhook(secret).verify(body, headers)` accepts it (checked when read: the secret comes later). */
  readonly verified: boolean;
  /** Whether the POST verifies with `secret`. */
  verifiesWith(secret: string): boolean;
  /** What the receiver answered with (0: it never answered). */
  readonly answered: number;
  /** When its request arrived (Date.now()), for ordering against database timestamps of this host. */
  readonly arrivedAt: number;
}

/** A local HTTP receiver that verifies every POST with the standardwebhooks library. */
export interface WebhookReceiver {
  readonly url: string;
  /** Every POST, in arrival order (including those answered with a failure). */
  readonly received: Received[];
  /** POSTs answered 2xx: what the sender may count as delivered. */
  delivered(): Received[];
  /** The secret to verify with (set once the endpoint is created). */
  secret: string;
  /** Switches the answer; "down" closes the port, leaving it "up"/"503"/"hang" reopens it on the same port. */
  setMode(mode: ReceiverMode): Promise<void>;
  close(): Promise<void>;
}

const ANSWERS: Readonly<Record<ReceiverMode, number>> = { up: 204, "503": 503, "302": 302, hang: 0, down: 0 };

/** Starts a receiver on 127.0.0.1 (a fresh port). */
export async function startReceiver(mode: ReceiverMode = "up"): Promise<WebhookReceiver> {
  const received: Received[] = [];
  const hanging = new Set<ServerResponse>();
  let current: ReceiverMode = mode;
  let server: Server | undefined;
  let port = 0;

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const arrivedAt = Date.now();
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const headers = req.headers as Record<string, string>;
      const answered = ANSWERS[current];
      received.push({
        id: String(req.headers["webhook-id"]),
        path: req.url ?? "",
        body: JSON.parse(body),
        get verified() {
          return this.verifiesWith(receiver.secret);
        },
        verifiesWith(secret: string) {
          try {
            new Webhook(secret).verify(body, headers);
            return true;
          } catch {
            return false;
          }
        },
        answered,
        arrivedAt,
      });
      if (answered === 0) {
        hanging.add(res);
        res.on("close", () => hanging.delete(res));
        return;
      }
      res.writeHead(answered, {
        "content-type": "text/plain",
        ...(answered === 302 ? { location: "/elsewhere" } : {}),
      });
      res.end(answered === 503 ? "the receiver's own error text, never to be stored" : undefined);
    });
  };

  const open = () =>
    new Promise<void>((resolve, reject) => {
      const next = createServer(handle);
      next.once("error", reject);
      next.listen(port, "127.0.0.1", () => {
        port = (next.address() as AddressInfo).port;
        server = next;
        resolve();
      });
    });
  const shut = async () => {
    const closing = server;
    server = undefined;
    if (closing === undefined) return;
    for (const res of hanging) res.destroy();
    closing.closeAllConnections();
    await new Promise<void>((resolve) => closing.close(() => resolve()));
  };

  if (mode !== "down") await open();
  else {
    await open();
    await shut();
  }
  const receiver: WebhookReceiver = {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    delivered: () => received.filter((r) => r.answered >= 200 && r.answered < 300),
    secret: "",
    async setMode(next) {
      current = next;
      if (next === "down") await shut();
      else if (server === undefined) await open();
    },
    close: shut,
  };
  return receiver;
}

/** Polls `check` until it returns true (or fails after `timeoutMs`, with `what` in the message). */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
