import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { ErrorDetailSchema } from "../../gen/tessera/sessions/v1/error_detail_pb.js";
import { type ServerProcess, spawnServer } from "../concurrency/server-process.js";
import { createScratchDatabase, type ScratchDatabase } from "../support/backends.js";
import { storedClaims } from "../support/stored-claims.js";
import { CALL_TIMEOUT_MS, type CallRecord, startPatchLoad } from "./patch-load.js";
import { canRunPrivatePostgres, createPrivatePostgres, type PrivatePostgres } from "./private-postgres.js";

interface StoredSession {
  session_id: string;
  token: string;
  claims_overlay: Record<string, unknown>;
  claims_version: string;
}

/**
 * Every stored session is whole: each committed patch added exactly one key
 * and bumped claims_version by one, so the two always agree; and every patch
 * the client saw succeed is there.
 */
async function expectConsistent(db: ScratchDatabase, tokens: readonly string[], records: readonly CallRecord[]) {
  const rows = await db.query<StoredSession>(
    "select session_id, claims_overlay, claims_version from sessions where user_id like 'fault-%' order by user_id",
  );
  expect(rows).toHaveLength(tokens.length);
  rows.forEach((row, worker) => {
    expect(Object.keys(storedClaims(row.claims_overlay)).length).toBe(Number(row.claims_version));
    for (const r of records)
      if (r.worker === worker && r.ok) expect(storedClaims(row.claims_overlay)).toHaveProperty(r.key);
  });
  expect(
    await db.query("select pid from pg_locks where locktype = 'tuple' or (locktype = 'transactionid' and not granted)"),
  ).toEqual([]);
}

/** Every server still runs; when one does not, the failure shows how it ended and what it last said. */
function expectAlive(servers: readonly ServerProcess[], except?: ServerProcess) {
  const dead = servers
    .filter((s) => s !== except && (s.child.exitCode !== null || s.child.signalCode !== null))
    .map((s) => ({
      port: s.port,
      exitCode: s.child.exitCode,
      signal: s.child.signalCode,
      stderr: s.stderr().slice(-4000),
      lastLogs: s.logs.slice(-10),
    }));
  expect(dead).toEqual([]);
}

// Runs as root (CI does) with PostgreSQL 15's binaries installed; the cluster is private to this file.
describe.runIf(canRunPrivatePostgres())("faults on a private PostgreSQL cluster", () => {
  let cluster: PrivatePostgres;
  let db: ScratchDatabase;
  let servers: ServerProcess[] = [];
  let tokens: string[] = [];
  const clientFor = (worker: number) => (servers[worker % servers.length] as ServerProcess).client();

  beforeAll(async () => {
    cluster = await createPrivatePostgres();
    db = await createScratchDatabase(cluster.adminUrl);
    servers = [await spawnServer(db.url)];
    servers.push(...(await Promise.all([spawnServer(db.url), spawnServer(db.url)])));
    tokens = [];
    for (let i = 0; i < 6; i++) {
      const created = await clientFor(i).createSession({ userId: `fault-${i}` });
      tokens.push(created.sessionToken);
    }
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    cluster?.destroy();
  });

  it("fails fast with UNAVAILABLE and reports not ready while PostgreSQL is down, and serves again once it is back, without a restart", async () => {
    const load = startPatchLoad(tokens, clientFor, "outage", 2);
    await vi.waitFor(() => expect(load.successes()).toBeGreaterThan(30), { timeout: 20_000, interval: 20 });
    cluster.stop();
    try {
      // While down, every call ends in UNAVAILABLE well before the client's own 60 s timeout would fire.
      for (const [i, server] of servers.entries()) {
        const err = await server
          .client()
          .authenticateSession(
            { credential: { case: "sessionToken", value: tokens[i] as string }, sessionCustomClaims: { down: true } },
            { timeoutMs: CALL_TIMEOUT_MS },
          )
          .then(
            () => undefined,
            (e: unknown) => ConnectError.from(e),
          );
        expect(err?.code).toBe(Code.Unavailable);
        expect(err?.findDetails(ErrorDetailSchema)[0]?.reason).toBe("DATABASE_UNAVAILABLE");
        const created = await server
          .client()
          .createSession({ userId: "fault-while-down" }, { timeoutMs: CALL_TIMEOUT_MS })
          .then(
            () => undefined,
            (e: unknown) => ConnectError.from(e),
          );
        expect(created?.code).toBe(Code.Unavailable);
        // Readiness follows the database: /readyz answers 503 and the gRPC health service NOT_SERVING
        // (within HEALTH_CACHE_MS: probes are shared and their result reused that long).
        await vi.waitFor(async () => expect((await fetch(`${server.baseUrl}/readyz`)).status).toBe(503), {
          timeout: 15_000,
          interval: 100,
        });
        const health = createClient(Health, createGrpcTransport({ baseUrl: server.baseUrl }));
        await vi.waitFor(
          async () =>
            expect((await health.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.NOT_SERVING),
          { timeout: 15_000, interval: 100 },
        );
      }
    } finally {
      cluster.start();
    }
    const failedWhileDown = load.records.filter((r) => !r.ok);
    const afterRestart = load.successes();
    // Every process serves again on its existing pool, without being restarted.
    await vi.waitFor(
      async () => {
        for (const [i, server] of servers.entries()) {
          await server
            .client()
            .authenticateSession({ credential: { case: "sessionToken", value: tokens[i] as string } });
        }
      },
      { timeout: 30_000, interval: 200 },
    );
    await vi.waitFor(() => expect(load.successes()).toBeGreaterThan(afterRestart + 30), {
      timeout: 30_000,
      interval: 20,
    });
    for (const server of servers) {
      await vi.waitFor(async () => expect((await fetch(`${server.baseUrl}/readyz`)).status).toBe(200), {
        timeout: 15_000,
        interval: 100,
      });
      const health = createClient(Health, createGrpcTransport({ baseUrl: server.baseUrl }));
      await vi.waitFor(
        async () =>
          expect((await health.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING),
        { timeout: 15_000, interval: 100 },
      );
    }
    const records = await load.stop();
    expectAlive(servers);
    for (const r of records.filter((r) => !r.ok)) {
      expect({ code: r.code, reason: r.reason }).toEqual({
        code: String(Code.Unavailable),
        reason: "DATABASE_UNAVAILABLE",
      });
    }
    expect(failedWhileDown.length).toBeGreaterThan(0);
    await expectConsistent(db, tokens, records);
  });

  it("keeps serving on the other processes when one is killed with SIGKILL mid-load, and nothing is corrupt", async () => {
    expectAlive(servers);
    const victim = servers[2] as ServerProcess;
    // Workers 0,1,3,4 use the survivors; 2 and 5 use the victim.
    const load = startPatchLoad(tokens, clientFor, "kill");
    await vi.waitFor(() => expect(load.records.filter((r) => r.ok && r.worker % 3 === 2).length).toBeGreaterThan(20), {
      timeout: 20_000,
      interval: 10,
    });
    victim.child.kill("SIGKILL");
    await victim.exited;
    const survivorsBefore = load.records.filter((r) => r.ok && r.worker % 3 !== 2).length;
    await vi.waitFor(
      () =>
        expect(load.records.filter((r) => r.ok && r.worker % 3 !== 2).length).toBeGreaterThan(survivorsBefore + 100),
      { timeout: 30_000, interval: 20 },
    );
    const records = await load.stop();
    expectAlive(servers, victim);
    // The survivors never failed a call.
    expect(records.filter((r) => !r.ok && r.worker % 3 !== 2)).toEqual([]);
    // The victim's sessions are not left locked: the survivors can patch them at once.
    const survivor = servers[0] as ServerProcess;
    for (const w of [2, 5]) {
      await survivor
        .client()
        .authenticateSession(
          { credential: { case: "sessionToken", value: tokens[w] as string }, sessionCustomClaims: { after: w } },
          { timeoutMs: CALL_TIMEOUT_MS },
        );
    }
    const withAfter = [...records, { worker: 2, key: "after", ok: true }, { worker: 5, key: "after", ok: true }];
    await expectConsistent(db, tokens, withAfter);
  });
});
