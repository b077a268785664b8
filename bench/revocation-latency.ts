/**
 * `npx tsx bench/revocation-latency.ts`: the time from a RevokeSession's response
 * to the first rejection by a local verifier (packages/verifier) following the
 * feed over gRPC. Needs DATABASE_URL (a role with CREATEDB); makes and drops its
 * own database. Tessera runs in this process with its default feed settings
 * (NOTIFY-woken, EVENTS_POLL_INTERVAL_MS=1000), the verifier too; revocations go
 * one at a time, and after each the verifier is asked every millisecond.
 * Options: --sessions=N (200). Prints p50, p99 and max; the target is p99 ≤ 1 s.
 */
import { Writable } from "node:stream";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { SessionService } from "../gen/tessera/sessions/v1/session_service_pb.js";
import { createVerifier } from "../packages/verifier/src/index.js";
import { createApp } from "../src/app.js";
import { parseConfig } from "../src/config.js";
import { createLogger } from "../src/logger.js";
import { createScratchDatabase } from "../test/support/backends.js";

const SESSIONS = Number(process.argv.find((a) => a.startsWith("--sessions="))?.split("=")[1] ?? 200);
const API_KEY = "bench-api-key-0123456789abcdef";
const adminUrl = process.env.DATABASE_URL;
if (adminUrl === undefined) throw new Error("set DATABASE_URL (a role with CREATEDB)");

const scratch = await createScratchDatabase(adminUrl);
const quiet = new Writable({ write: (_chunk, _enc, done) => done() });
const config = parseConfig({ HOST: "127.0.0.1", PORT: "0", API_KEYS: API_KEY, DATABASE_URL: scratch.url });
const app = await createApp(config, { logger: createLogger("warn", quiet) });
try {
  const server = await app.listen();
  const url = `http://127.0.0.1:${server.port}`;
  const auth: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${API_KEY}`);
    return next(req);
  };
  const sessions = createClient(SessionService, createGrpcTransport({ baseUrl: url, interceptors: [auth] }));
  const verifier = createVerifier({ url, apiKey: API_KEY, issuer: config.jwtIssuer, audience: config.jwtAudience });
  await verifier.start();
  try {
    const latencies: number[] = [];
    for (let i = 0; i < SESSIONS; i++) {
      const created = await sessions.createSession({ userId: `bench-${i}`, sessionDurationMinutes: 60 });
      if (!(await verifier.verify(created.sessionJwt)).ok) throw new Error("a fresh JWT was refused");
      await sessions.revokeSession({ target: { case: "sessionId", value: created.session?.sessionId ?? "" } });
      const revokedAt = performance.now();
      for (;;) {
        const result = await verifier.verify(created.sessionJwt);
        if (!result.ok) {
          if (result.reason !== "revoked") throw new Error(`refused for ${result.reason}`);
          break;
        }
        if (performance.now() - revokedAt > 30_000) throw new Error("no rejection within 30 s");
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      latencies.push(performance.now() - revokedAt);
    }
    latencies.sort((a, b) => a - b);
    const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)] ?? NaN;
    console.log(
      `revocation → first rejection, ${SESSIONS} sessions: p50 ${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms, max ${at(1).toFixed(1)} ms (target p99 ≤ 1000 ms)`,
    );
  } finally {
    await verifier.close();
  }
} finally {
  await app.close();
  await scratch.drop();
}
