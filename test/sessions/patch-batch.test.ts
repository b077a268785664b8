import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/claims/index.js";
import { TesseraError } from "../../src/errors.js";
import type { IssuedSession } from "../../src/sessions/session.service.js";
import { jwtPayload, MINUTE, storedRow } from "../rpc/helpers.js";
import { type Backend, backends } from "../support/backends.js";
import { storedClaims } from "../support/stored-claims.js";
import { startTestApp, type TestApp } from "../support/test-app.js";
import { statementObserver } from "./statement-observer.js";

const SESSION_CLAIM = "https://tessera.dev/session";
const SERVICE_CLAIMS = new Set(["iss", "aud", "sub", "iat", "nbf", "exp", SESSION_CLAIM]);

/** The custom claims a JWT carries (without the service's claims) and its session claim's claims_version. */
function jwtState(jwt: string): { claims: JsonObject; version: unknown } {
  const payload = jwtPayload(jwt);
  const claims = Object.fromEntries(Object.entries(payload).filter(([key]) => !SERVICE_CLAIMS.has(key)));
  const session = payload[SESSION_CLAIM] as { claims_version?: unknown };
  return { claims: claims as JsonObject, version: session.claims_version };
}

function reasonOf(result: PromiseSettledResult<unknown>): string | undefined {
  return result.status === "rejected" && result.reason instanceof TesseraError ? result.reason.reason : undefined;
}

/** An app on `backend` (sweeper off, `env` added) whose statements `observer` sees. */
function startObservedApp(
  backend: Backend,
  observer: ReturnType<typeof statementObserver>,
  env: Record<string, string> = {},
): Promise<TestApp> {
  return startTestApp(backend, { SWEEP_INTERVAL_SECONDS: "0", ...env }, {}, (database) => ({
    ...database,
    db: database.db.withPlugin(observer.plugin),
  }));
}

/** Creates a session of `userId`; returns a call that authenticates it with the patch `{ k<i>: i }`. */
async function oneKeyPatcher(t: TestApp, userId: string): Promise<(i: number) => Promise<IssuedSession>> {
  const created = await t.app.sessions.create({
    userId,
    durationMinutes: 60,
    customClaims: {},
    attributes: { ipAddress: "", userAgent: "" },
    roles: [],
  });
  return (i) =>
    t.app.sessions.authenticate({
      credential: { kind: "token", token: created.sessionToken as string },
      patch: { [`k${i}`]: i },
      expectedClaimsVersion: undefined,
      durationMinutes: undefined,
    });
}

describe.each(backends())("claims writes of one busy session, in one process, on %s", (backend) => {
  const observer = statementObserver();
  let t: TestApp;
  beforeAll(async () => {
    t = await startObservedApp(backend, observer);
  });
  afterAll(() => t?.close());

  const create = (userId: string) =>
    t.app.sessions.create({
      userId,
      durationMinutes: 60,
      customClaims: {},
      attributes: { ipAddress: "", userAgent: "" },
      roles: [],
    });
  const patchOf = (
    created: IssuedSession,
    patch: JsonObject | undefined,
    more: { expectedClaimsVersion?: bigint; durationMinutes?: number } = {},
  ) =>
    t.app.sessions.authenticate({
      credential: { kind: "token", token: created.sessionToken as string },
      patch,
      expectedClaimsVersion: more.expectedClaimsVersion,
      durationMinutes: more.durationMinutes,
    });

  it("writes the calls queued behind a write with one compare-and-set statement, each answered as its own call left the session", async () => {
    const created = await create("batch-user");
    const held = observer.holdNext("cas");
    const first = patchOf(created, { k0: 0 });
    await held.reached;
    const mark = observer.log.length;
    // Arrival order; all queue while the first write is in flight.
    const queued = [
      patchOf(created, { a: 1 }),
      patchOf(created, { iss: "refused" }),
      patchOf(created, { b: 2 }, { expectedClaimsVersion: 2n }),
      patchOf(created, { c: 3 }, { expectedClaimsVersion: 2n }),
      patchOf(created, { d: 4 }, { durationMinutes: 120 }),
      patchOf(created, { e: 5 }),
      patchOf(created, undefined, { expectedClaimsVersion: 5n }),
    ];
    await new Promise((resolve) => setImmediate(resolve));
    held.release();
    const [one, ...rest] = await Promise.allSettled([first, ...queued]);
    expect(one?.status).toBe("fulfilled");
    // The queued batch: one read of the session and one compare-and-set write, no lock, no retry.
    expect(observer.log.slice(mark)).toEqual(["read", "cas"]);

    expect(rest.map((r) => r.status)).toEqual([
      "fulfilled",
      "rejected",
      "fulfilled",
      "rejected",
      "fulfilled",
      "fulfilled",
      "fulfilled",
    ]);
    expect(reasonOf(rest[1] as PromiseSettledResult<unknown>)).toBe("RESERVED_CLAIM");
    expect(reasonOf(rest[3] as PromiseSettledResult<unknown>)).toBe("CLAIMS_VERSION_MISMATCH");
    const ok = [one, ...rest].flatMap((r) => (r?.status === "fulfilled" ? [r.value] : []));
    const expected: Array<[bigint, JsonObject]> = [
      [1n, { k0: 0 }],
      [2n, { k0: 0, a: 1 }],
      [3n, { k0: 0, a: 1, b: 2 }],
      [4n, { k0: 0, a: 1, b: 2, d: 4 }],
      [5n, { k0: 0, a: 1, b: 2, d: 4, e: 5 }],
      [5n, { k0: 0, a: 1, b: 2, d: 4, e: 5 }],
    ];
    ok.forEach((issued, i) => {
      const [version, claims] = expected[i] as [bigint, JsonObject];
      expect(issued.session.claimsVersion).toBe(version);
      expect(issued.session.customClaims).toEqual(claims);
      // The JWT of each call holds the claims after exactly its own patch, at its own version.
      expect(jwtState(issued.sessionJwt)).toEqual({ claims, version: Number(version) });
    });
    // Calls before the extension keep the expiry as read; from the extending call on, 120 minutes from the access.
    const [, beforeExtension, , extending, after] = ok;
    expect(beforeExtension?.session.expiresAt).toEqual(created.session.expiresAt);
    const accessed = extending?.session.lastAccessedAt.getTime() ?? 0;
    expect(extending?.session.expiresAt.getTime()).toBe(accessed + 120 * MINUTE);
    expect(after?.session.expiresAt.getTime()).toBe(accessed + 120 * MINUTE);

    const row = await storedRow(t, created.session.id);
    expect(String(row.claims_version)).toBe("5");
    expect(storedClaims(row.claims_overlay)).toEqual({ k0: 0, a: 1, b: 2, d: 4, e: 5 });
    expect(new Date(row.expires_at).getTime()).toBe(accessed + 120 * MINUTE);
    expect(new Date(row.last_accessed_at).getTime()).toBe(accessed);
    const events = await t.app.database.db
      .selectFrom("session_events")
      .select(["type", "claims_version"])
      .where("session_id", "=", created.session.id)
      .orderBy("id")
      .execute();
    expect(events.map((e) => ({ type: e.type, claims_version: String(e.claims_version) }))).toEqual([
      { type: "session_created", claims_version: "0" },
      ...["1", "2", "3", "4", "5"].map((v) => ({ type: "session_claims_changed", claims_version: v })),
    ]);
  });

  it("changes nothing when every queued call is refused", async () => {
    const created = await create("batch-refused");
    const held = observer.holdNext("cas");
    const first = patchOf(created, { k: 1 });
    await held.reached;
    const queued = [patchOf(created, { iss: 1 }), patchOf(created, { k: 2 }, { expectedClaimsVersion: 0n })];
    await new Promise((resolve) => setImmediate(resolve));
    const mark = observer.log.length;
    held.release();
    await first;
    const results = await Promise.allSettled(queued);
    expect(results.map(reasonOf)).toEqual(["RESERVED_CLAIM", "CLAIMS_VERSION_MISMATCH"]);
    expect(observer.log.slice(mark).filter((kind) => kind === "cas")).toEqual([]);
    expect(String((await storedRow(t, created.session.id)).claims_version)).toBe("1");
  });

  // Defined for PostgreSQL only: PGlite's one connection stays taken while a statement's result is held, so
  // no other writer can get in between there (test/concurrency covers other processes on PostgreSQL too).
  const onPostgres = backend === "postgres" ? it : () => {};
  onPostgres(
    "redoes the whole batch with the row locked when another writer got in between its read and its write",
    async () => {
      const created = await create("batch-redo");
      const held = observer.holdNext("cas");
      const first = patchOf(created, { k0: 0 });
      await held.reached;
      // On the state as read (version 1) the second call would be refused and the third accepted; after the
      // interloper's write (version 2) it is the other way round.
      const queued = [
        patchOf(created, { a: 1 }),
        patchOf(created, { b: 2 }, { expectedClaimsVersion: 3n }),
        patchOf(created, { c: 3 }, { expectedClaimsVersion: 2n }),
      ];
      await new Promise((resolve) => setImmediate(resolve));
      const read = observer.holdNext("read");
      held.release();
      await first;
      await read.reached;
      const mark = observer.log.length;
      // An admin update of the same session (another lane, as another replica would be) writes first.
      await t.app.sessions.updateClaims({ sessionId: created.session.id, patch: { x: 1 }, expectedClaimsVersion: 1n });
      read.release();
      const results = await Promise.allSettled(queued);
      expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "rejected"]);
      expect(reasonOf(results[2] as PromiseSettledResult<unknown>)).toBe("CLAIMS_VERSION_MISMATCH");
      const [a, b] = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
      expect(a?.session.claimsVersion).toBe(3n);
      expect(jwtState(a?.sessionJwt ?? "")).toEqual({ claims: { k0: 0, x: 1, a: 1 }, version: 3 });
      expect(b?.session.claimsVersion).toBe(4n);
      expect(jwtState(b?.sessionJwt ?? "")).toEqual({ claims: { k0: 0, x: 1, a: 1, b: 2 }, version: 4 });
      // The batch's compare-and-set failed, and its redo took the row lock.
      const after = observer.log.slice(mark);
      expect(after.filter((kind) => kind === "cas")).toHaveLength(2);
      expect(after).toContain("locked");
      const row = await storedRow(t, created.session.id);
      expect(String(row.claims_version)).toBe("4");
      expect(storedClaims(row.claims_overlay)).toEqual({ k0: 0, x: 1, a: 1, b: 2 });
      const events = await t.app.database.db
        .selectFrom("session_events")
        .select("claims_version")
        .where("session_id", "=", created.session.id)
        .where("type", "=", "session_claims_changed")
        .orderBy("id")
        .execute();
      expect(events.map((e) => Number(e.claims_version))).toEqual([1, 2, 3, 4]);
    },
  );

  it("lands every one of 64 concurrent patches over RPC: claims_version counts them, each JWT holds its own state", async () => {
    const client = t.client("grpc");
    const created = await client.createSession({ userId: "rpc-batch" });
    const results = await Promise.all(
      Array.from({ length: 64 }, (_, i) =>
        client.authenticateSession({
          credential: { case: "sessionToken", value: created.sessionToken },
          sessionCustomClaims: { [`k${i}`]: i },
        }),
      ),
    );
    const versions = results.map((r) => Number(r.session?.claimsVersion));
    expect([...versions].sort((a, b) => a - b)).toEqual(Array.from({ length: 64 }, (_, i) => i + 1));
    // Ordered by version, each JWT holds exactly the keys of the patches at or before its own version.
    const byVersion = results.map((r, i) => ({ i, version: versions[i] ?? 0, jwt: jwtState(r.sessionJwt) }));
    byVersion.sort((a, b) => a.version - b.version);
    const landed: JsonObject = {};
    for (const { i, version, jwt } of byVersion) {
      landed[`k${i}`] = i;
      expect(jwt).toEqual({ claims: landed, version });
    }
    const row = await storedRow(t, created.session?.sessionId ?? "");
    expect(String(row.claims_version)).toBe("64");
    expect(storedClaims(row.claims_overlay)).toEqual(landed);
    const events = await t.app.database.db
      .selectFrom("session_events")
      .select("claims_version")
      .where("session_id", "=", created.session?.sessionId ?? "")
      .where("type", "=", "session_claims_changed")
      .orderBy("id")
      .execute();
    expect(events.map((e) => Number(e.claims_version))).toEqual(Array.from({ length: 64 }, (_, i) => i + 1));
  });
});

describe.each(backends())("PATCH_BATCH_MAX on %s", (backend) => {
  const observer = statementObserver();
  let t: TestApp;
  beforeAll(async () => {
    t = await startObservedApp(backend, observer, { PATCH_BATCH_MAX: "2" });
  });
  afterAll(() => t?.close());

  it("writes at most PATCH_BATCH_MAX queued calls per statement, in arrival order", async () => {
    const patch = await oneKeyPatcher(t, "batch-max");
    const held = observer.holdNext("cas");
    const first = patch(0);
    await held.reached;
    const mark = observer.log.length;
    const queued = [1, 2, 3, 4, 5].map(patch);
    await new Promise((resolve) => setImmediate(resolve));
    held.release();
    await first;
    const results = await Promise.all(queued);
    // Five queued calls, at most two per write: three batches of one read and one write each.
    expect(observer.log.slice(mark)).toEqual(["read", "cas", "read", "cas", "read", "cas"]);
    expect(results.map((r) => r.session.claimsVersion)).toEqual([2n, 3n, 4n, 5n, 6n]);
  });
});

describe.each(backends())("PATCH_QUEUE_MAX on %s", (backend) => {
  const observer = statementObserver();
  let t: TestApp;
  beforeAll(async () => {
    t = await startObservedApp(backend, observer, { PATCH_QUEUE_MAX: "2" });
  });
  afterAll(() => t?.close());

  it("refuses a call that finds PATCH_QUEUE_MAX calls of its session waiting (RESOURCE_EXHAUSTED), writing nothing of it", async () => {
    const patch = await oneKeyPatcher(t, "queue-max");
    const held = observer.holdNext("cas");
    const first = patch(0);
    await held.reached;
    const queued = [patch(1), patch(2)];
    const refused = patch(3).then(
      () => undefined,
      (err: unknown) => err,
    );
    await new Promise((resolve) => setImmediate(resolve));
    held.release();
    await first;
    const results = await Promise.all(queued);
    expect(await refused).toMatchObject({
      kind: "resource_exhausted",
      reason: "TOO_MANY_PENDING_WRITES",
      metadata: { limit: "2" },
    });
    expect(results.map((r) => r.session.claimsVersion)).toEqual([2n, 3n]);
    expect(results.at(-1)?.session.customClaims).toEqual({ k0: 0, k1: 1, k2: 2 });
  });
});
