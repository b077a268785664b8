import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import type { KyselyPlugin, RootOperationNode } from "kysely";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import { ErrorDetailSchema } from "../../gen/tessera/sessions/v1/error_detail_pb.js";
import type { Database } from "../../src/db/database.js";
import { backends } from "../support/backends.js";
import { startTestApp, type TestApp } from "../support/test-app.js";

const WAIT_MS = 5_000;

/** Counts the readiness probes (`select 1`) that reach the database. */
function probeCounter(): { readonly count: () => number; wrap(database: Database): Database } {
  let probes = 0;
  const isProbe = (node: RootOperationNode) =>
    node.kind === "RawNode" && node.sqlFragments.join("?").trim().toLowerCase() === "select 1";
  const plugin: KyselyPlugin = {
    transformQuery(args) {
      if (isProbe(args.node)) probes += 1;
      return args.node;
    },
    transformResult: async (args) => args.result,
  };
  return { count: () => probes, wrap: (database) => ({ ...database, db: database.db.withPlugin(plugin) }) };
}

/** A health Watch call held open, and how it failed if it did. */
async function openWatch(
  health: ReturnType<typeof createClient<typeof Health>>,
  service: string,
): Promise<{ controller: AbortController; error: ConnectError | undefined }> {
  const controller = new AbortController();
  const stream = health.watch({ service }, { signal: controller.signal })[Symbol.asyncIterator]();
  try {
    await stream.next();
    return { controller, error: undefined };
  } catch (err) {
    return { controller, error: ConnectError.from(err) };
  }
}

describe.each(backends())("health under abuse on %s", (backend) => {
  let cached: TestApp;
  let shortCache: TestApp;
  const probes = probeCounter();
  beforeAll(async () => {
    // A long cache makes the expected count exact: one probe, shared by every call.
    cached = await startTestApp(
      backend,
      { HEALTH_CACHE_MS: "60000", HEALTH_WATCHES_PER_CONNECTION: "2", HEALTH_MAX_WATCHES: "3" },
      {},
      probes.wrap,
    );
    shortCache = await startTestApp(backend, { HEALTH_CACHE_MS: "100" });
  });
  afterAll(async () => {
    await cached?.close();
    await shortCache?.close();
  });

  // First: the Watch calls of the next test start the poller, which probes once a second.
  it("answers 600 concurrent /readyz, Check and List calls with one database probe", async () => {
    const health = createClient(Health, createGrpcTransport({ baseUrl: cached.baseUrl }));
    expect(probes.count()).toBe(0);
    for (let wave = 0; wave < 3; wave++) {
      const calls = Array.from({ length: 100 }, () => [
        fetch(`${cached.baseUrl}/readyz`).then(async (res) => {
          expect(res.status).toBe(200);
          await res.arrayBuffer();
        }),
        health.check({ service: "" }).then((res) => expect(res.status).toBe(Status.SERVING)),
      ]).flat();
      calls.push(health.list({}).then((res) => expect(Object.keys(res.statuses).length).toBeGreaterThan(0)));
      await Promise.all(calls);
    }
    expect(probes.count()).toBe(1);
  });

  it("caps open Watch calls per connection and in total with RESOURCE_EXHAUSTED / TOO_MANY_WATCHES, and frees a slot when one ends", async () => {
    // One gRPC transport is one HTTP/2 connection; another transport is another connection.
    const first = createClient(Health, createGrpcTransport({ baseUrl: cached.baseUrl }));
    const second = createClient(Health, createGrpcTransport({ baseUrl: cached.baseUrl }));
    const overHttp1 = createClient(Health, createConnectTransport({ baseUrl: cached.baseUrl, httpVersion: "1.1" }));
    const held = [await openWatch(first, ""), await openWatch(first, "no.such.Service")];
    for (const watch of held) expect(watch.error).toBeUndefined();

    const perConnection = await openWatch(first, "");
    expect(perConnection.error?.code).toBe(Code.ResourceExhausted);
    expect(perConnection.error?.findDetails(ErrorDetailSchema)[0]).toMatchObject({
      reason: "TOO_MANY_WATCHES",
      metadata: { scope: "connection", limit: "2" },
    });

    const third = await openWatch(second, "");
    expect(third.error).toBeUndefined();
    for (const client of [second, overHttp1]) {
      const overTotal = await openWatch(client, "");
      expect(overTotal.error?.code).toBe(Code.ResourceExhausted);
      expect(overTotal.error?.findDetails(ErrorDetailSchema)[0]).toMatchObject({
        reason: "TOO_MANY_WATCHES",
        metadata: { scope: "server", limit: "3" },
      });
    }
    // Check is not a watch and is not limited.
    expect((await first.check({ service: "" })).status).toBe(Status.SERVING);

    held[0]?.controller.abort();
    await vi.waitFor(
      async () => {
        const again = await openWatch(overHttp1, "");
        expect(again.error).toBeUndefined();
        again.controller.abort();
      },
      { timeout: WAIT_MS, interval: 50 },
    );
    for (const watch of [...held, third]) watch.controller.abort();
  });

  it("still reports not ready once the database goes away", async () => {
    const health = createClient(Health, createGrpcTransport({ baseUrl: shortCache.baseUrl }));
    expect((await fetch(`${shortCache.baseUrl}/readyz`)).status).toBe(200);
    await shortCache.app.database.close();
    await vi.waitFor(
      async () => {
        expect((await fetch(`${shortCache.baseUrl}/readyz`)).status).toBe(503);
        expect((await health.check({ service: "" })).status).toBe(Status.NOT_SERVING);
      },
      { timeout: WAIT_MS, interval: 50 },
    );
  });
});
