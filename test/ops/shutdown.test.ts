import { existsSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { backends, createTestDatabase, type TestDatabase } from "../support/backends.js";
import { TEST_API_KEY } from "../support/test-app.js";
import { type Child, spawnTessera } from "./child.js";

const CREATE = "/tessera.sessions.v1.SessionService/CreateSession";

/** A Connect JSON CreateSession whose headers are sent and acknowledged (100 Continue) but whose body is held back. */
async function startHeldCall(port: number, body: string) {
  const req = http.request({
    host: "127.0.0.1",
    port,
    method: "POST",
    path: CREATE,
    headers: {
      authorization: `Bearer ${TEST_API_KEY}`,
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(body)),
      expect: "100-continue",
    },
  });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on("response", (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => {
        text += chunk.toString("utf8");
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
  // Seen by the test's own await; this keeps an early failure elsewhere from leaving it unhandled.
  response.catch(() => {});
  // The server answers 100 Continue once it has the headers: the call is now in flight on the server.
  await new Promise<void>((resolve) => req.once("continue", () => resolve()));
  return { req, response };
}

/** Whether a new TCP connection to the port is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

describe.each(backends())("graceful shutdown of the real process on %s", (backend) => {
  let database: TestDatabase | undefined;
  let child: Child | undefined;
  afterEach(async () => {
    if (child !== undefined && child.process.exitCode === null) child.process.kill("SIGKILL");
    await child?.exited;
    await database?.drop();
    child = undefined;
    database = undefined;
  });

  const start = async (env: Record<string, string> = {}) => {
    database = await createTestDatabase(backend);
    child = spawnTessera("src/main.ts", {
      ...database.env,
      HOST: "127.0.0.1",
      PORT: "0",
      API_KEYS: TEST_API_KEY,
      LOG_LEVEL: "info",
      ...env,
    });
    const listening = await child.line((l) => l.msg === "listening");
    return { child, port: Number(listening.port), dataDir: database.env.DATA_DIR! };
  };

  it("on SIGTERM stops accepting, lets the in-flight call finish, closes the database and exits 0", async () => {
    const { child, port, dataDir } = await start();
    const body = JSON.stringify({ user_id: "in-flight-user", session_custom_claims: { plan: "pro" } });
    const call = await startHeldCall(port, body);

    child.process.kill("SIGTERM");
    await child.line((l) => l.msg === "shutting down");
    expect(await refused(port)).toBe(true);

    call.req.end(body);
    const response = await call.response;
    expect(response.status).toBe(200);
    const created = JSON.parse(response.body) as { session: { userId: string; customClaims: unknown } };
    expect(created.session.userId).toBe("in-flight-user");
    expect(created.session.customClaims).toEqual({ plan: "pro" });

    expect(await child.exited).toBe(0);
    expect(child.lines.some((l) => l.msg === "rpc" && l.method === CREATE.slice(1) && l.code === "ok")).toBe(true);
    // The embedded database's lock is released only when the database is closed.
    if (backend === "pglite") expect(existsSync(join(dataDir, "tessera.lock"))).toBe(false);
  });

  it("cuts a call still unfinished at SHUTDOWN_TIMEOUT_SECONDS and still exits 0", async () => {
    const { child, port } = await start({ SHUTDOWN_TIMEOUT_SECONDS: "1" });
    const call = await startHeldCall(port, JSON.stringify({ user_id: "never-finished" }));
    child.process.kill("SIGTERM");
    // The body never comes; the deadline destroys the connection and the process exits cleanly.
    await expect(call.response).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(await child.exited).toBe(0);
  });
});
