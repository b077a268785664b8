import { request } from "node:http";
import { createServer } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ConfigError, parseConfig } from "../../src/config.js";
import { createTestDatabase, type TestDatabase } from "../support/backends.js";
import { TEST_API_KEY } from "../support/test-app.js";
import { type Child, spawnTessera } from "./child.js";
import { parseMetrics } from "./metrics-text.js";

const CREATE = "/tessera.sessions.v1.SessionService/CreateSession";

/** A free TCP port on 127.0.0.1 (workers share one port, so the test picks it). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** One HTTP/1.1 request on a connection of its own (so the cluster may hand it to any worker). */
function call(port: number, method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        agent: false,
        headers: {
          connection: "close",
          ...(body === undefined
            ? {}
            : { "content-type": "application/json", authorization: `Bearer ${TEST_API_KEY}` }),
        },
      },
      (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => {
          text += chunk.toString("utf8");
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe.runIf(process.env.DATABASE_URL !== undefined)("WORKERS on postgres", () => {
  let child: Child | undefined;
  let database: TestDatabase | undefined;
  afterEach(async () => {
    if (child !== undefined && child.process.exitCode === null) child.process.kill("SIGKILL");
    await child?.exited;
    await database?.drop();
  });

  it("serves one port from several processes, sums /metrics over them, restarts a dead worker and stops on SIGTERM", async () => {
    database = await createTestDatabase("postgres");
    const port = await freePort();
    child = spawnTessera("src/main.ts", {
      ...database.env,
      HOST: "127.0.0.1",
      PORT: String(port),
      API_KEYS: TEST_API_KEY,
      LOG_LEVEL: "info",
      WORKERS: "2",
    });
    const started = child;
    const listening = () => started.lines.filter((l) => l.msg === "listening");
    await vi.waitFor(() => expect(listening()).toHaveLength(2), { timeout: 20_000, interval: 100 });
    const workerPids = listening().map((l) => l.pid as number);
    expect(new Set(workerPids).size).toBe(2);

    const calls = 24;
    for (let i = 0; i < calls; i++) {
      const res = await call(port, "POST", CREATE, JSON.stringify({ user_id: `worker-user-${i}` }));
      expect(res.status).toBe(200);
    }
    // Both workers served calls, and every scrape counts all of them, whichever worker answers it.
    const served = new Set(started.lines.filter((l) => l.msg === "rpc").map((l) => l.pid));
    expect(served).toEqual(new Set(workerPids));
    for (let scrape = 0; scrape < 4; scrape++) {
      const metrics = await call(port, "GET", "/metrics");
      expect(metrics.status).toBe(200);
      const samples = parseMetrics(metrics.body).filter(
        (s) => s.name === "tessera_rpc_requests_total" && s.labels.method === CREATE.slice(1),
      );
      expect(samples.reduce((sum, s) => sum + s.value, 0)).toBe(calls);
    }

    // A worker that dies is replaced; the port keeps serving.
    process.kill(workerPids[0] as number, "SIGKILL");
    await vi.waitFor(() => expect(listening()).toHaveLength(3), { timeout: 20_000, interval: 100 });
    const replacement = listening()[2]?.pid as number;
    expect(workerPids).not.toContain(replacement);
    expect((await call(port, "POST", CREATE, JSON.stringify({ user_id: "after-restart" }))).status).toBe(200);

    started.process.kill("SIGTERM");
    expect(await started.exited).toBe(0);
    for (const pid of [workerPids[1] as number, replacement]) expect(() => process.kill(pid, 0)).toThrow();
  });
});

describe("WORKERS", () => {
  it("defaults to 1 and above 1 is refused without DATABASE_URL", () => {
    expect(parseConfig({}).workers).toBe(1);
    expect(() => parseConfig({ WORKERS: "2" })).toThrow(ConfigError);
    expect(parseConfig({ WORKERS: "2", DATABASE_URL: "postgres://u:p@h/d", API_KEYS: TEST_API_KEY }).workers).toBe(2);
  });
});
