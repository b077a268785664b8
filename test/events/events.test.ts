import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import type { KyselyPlugin } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { AdminService } from "../../gen/tessera/admin/v1/admin_service_pb.js";
import { type Event, EventService, EventType } from "../../gen/tessera/events/v1/event_service_pb.js";
import { ErrorDetailSchema } from "../../gen/tessera/sessions/v1/error_detail_pb.js";
import { UserService } from "../../gen/tessera/users/v1/user_service_pb.js";
import { ConfigError, parseConfig } from "../../src/config.js";
import { expectFailure, jwtPayload, MINUTE, testClock } from "../rpc/helpers.js";
import { backends } from "../support/backends.js";
import { type Protocol, startTestApp, type TestApp, useTestApp } from "../support/test-app.js";

const T0 = new Date("2030-05-06T07:08:09.000Z");
const TTL_SECONDS = 300;

/** The part of an event a test compares (cursor and time checked apart). */
function brief(e: Event) {
  return {
    type: EventType[e.type],
    sessionId: e.sessionId,
    userId: e.userId,
    claimsVersion: e.claimsVersion,
  };
}

function eventClient(t: TestApp, protocol: Protocol = "connect") {
  return createClient(EventService, t.transport(protocol));
}

/** Every event after `cursor`, paging by `limit`. */
async function allAfter(t: TestApp, cursor: string, limit = 5): Promise<{ events: Event[]; cursor: string }> {
  const events: Event[] = [];
  for (;;) {
    const page = await eventClient(t).listEvents({ afterCursor: cursor, limit });
    events.push(...page.events);
    if (page.events.length === 0) return { events, cursor };
    expect(page.cursor).toBe(page.events.at(-1)?.cursor);
    cursor = page.cursor;
  }
}

describe.each(backends())("change events on %s", (backend) => {
  const clock = testClock(T0);
  const t = useTestApp(
    backend,
    {
      JWT_TTL_SECONDS: String(TTL_SECONDS),
      KEY_ROTATION_MIN_INTERVAL_SECONDS: "0",
      SWEEP_INTERVAL_SECONDS: "0",
      SWEEP_BATCH_SIZE: "2",
      EVENT_RETENTION_SECONDS: "7200",
      EVENTS_POLL_INTERVAL_MS: "50",
      EVENTS_HEARTBEAT_MS: "300",
      EVENTS_MAX_WATCHES: "3",
      EVENTS_DEFAULT_PAGE_SIZE: "2",
      EVENTS_MAX_PAGE_SIZE: "5",
    },
    { clock },
  );

  it("writes one event for each change a verifier cares about, none for a plain authenticate", async () => {
    const sessions = t.client();
    const users = createClient(UserService, t.transport());
    const admin = createClient(AdminService, t.transport());
    const start = (await allAfter(t, "")).cursor;

    const created = await sessions.createSession({ userId: "ev-user", sessionDurationMinutes: 60 });
    const id = created.session?.sessionId ?? "";
    const token = created.sessionToken;
    await sessions.authenticateSession({ credential: { case: "sessionToken", value: token } });
    const patched = await sessions.authenticateSession({
      credential: { case: "sessionToken", value: token },
      sessionCustomClaims: { plan: "plan-secret-7f3" },
    });
    expect(jwtPayload(patched.sessionJwt)["https://tessera.dev/session"]).toMatchObject({ claims_version: 1 });
    await sessions.updateSessionClaims({ sessionId: id, sessionCustomClaims: { seats: 3 } });
    await sessions.updateUserSessionsClaims({ userId: "ev-user", sessionCustomClaims: { tier: 2 } });
    await users.updateUser({ userId: "ev-user", trustedMetadata: { org: "org-secret-9c1" } });
    await admin.setClaimTemplate({ template: '{"org": {{ user.trusted_metadata.org }}}' });
    const rotated = await admin.rotateSigningKey({});
    const revokedAt = clock();
    await sessions.revokeSession({ target: { case: "sessionId", value: id } });
    // A second revoke changes nothing, so it writes nothing.
    await sessions.revokeSession({ target: { case: "sessionId", value: id } });
    const other = await sessions.createSession({ userId: "ev-user", sessionDurationMinutes: 5 });
    const otherId = other.session?.sessionId ?? "";
    await users.deleteUser({ userId: "ev-user" });
    const short = await sessions.createSession({ userId: "ev-short", sessionDurationMinutes: 5 });
    const shortId = short.session?.sessionId ?? "";
    clock.advance(6 * MINUTE);
    await t.app.sweeper.sweepOnce();

    const { events } = await allAfter(t, start);
    expect(events.map(brief)).toEqual([
      { type: "SESSION_CREATED", sessionId: id, userId: "ev-user", claimsVersion: 0n },
      { type: "SESSION_CLAIMS_CHANGED", sessionId: id, userId: "ev-user", claimsVersion: 1n },
      { type: "SESSION_CLAIMS_CHANGED", sessionId: id, userId: "ev-user", claimsVersion: 2n },
      { type: "SESSION_CLAIMS_CHANGED", sessionId: id, userId: "ev-user", claimsVersion: 3n },
      { type: "SESSION_CLAIMS_CHANGED", sessionId: id, userId: "ev-user", claimsVersion: 4n },
      { type: "USER_UPDATED", sessionId: "", userId: "ev-user", claimsVersion: 0n },
      { type: "CLAIM_TEMPLATE_CHANGED", sessionId: "", userId: "", claimsVersion: 0n },
      { type: "SIGNING_KEY_ROTATED", sessionId: "", userId: "", claimsVersion: 0n },
      { type: "SESSION_REVOKED", sessionId: id, userId: "ev-user", claimsVersion: 4n },
      { type: "SESSION_CREATED", sessionId: otherId, userId: "ev-user", claimsVersion: 0n },
      { type: "SESSION_REVOKED", sessionId: otherId, userId: "ev-user", claimsVersion: 0n },
      { type: "USER_DELETED", sessionId: "", userId: "ev-user", claimsVersion: 0n },
      { type: "SESSION_CREATED", sessionId: shortId, userId: "ev-short", claimsVersion: 0n },
      { type: "SESSION_EXPIRED", sessionId: shortId, userId: "ev-short", claimsVersion: 0n },
    ]);
    expect(events[6]?.templateVersion).toBe(1n);
    expect(events[7]?.keyId).toBe(rotated.kid);
    // deny_until: the revocation time plus JWT_TTL_SECONDS and a minute of grace, capped by the session's expiry.
    expect(timestampDate(events[8]?.denyUntil as never)).toEqual(
      new Date(revokedAt.getTime() + (TTL_SECONDS + 60) * 1000),
    );
    expect(timestampDate(events[10]?.denyUntil as never)).toEqual(new Date(revokedAt.getTime() + 5 * MINUTE));
    expect(events[8]?.time && timestampDate(events[8].time)).toEqual(revokedAt);
    // Cursors are distinct and ordered as returned: listing after any one gives exactly the rest.
    expect(new Set(events.map((e) => e.cursor)).size).toBe(events.length);
    const rest = await allAfter(t, events[4]?.cursor ?? "");
    expect(rest.events.map((e) => e.cursor)).toEqual(events.slice(5).map((e) => e.cursor));
    // No claim value, token or key in any event.
    const text = JSON.stringify(events, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
    for (const secret of ["plan-secret-7f3", "org-secret-9c1", token, created.sessionJwt])
      expect(text).not.toContain(secret);
  });

  it("writes RBAC_POLICY_CHANGED when the RBAC policy is set, and nothing when a policy is refused", async () => {
    const admin = createClient(AdminService, t.transport());
    const start = (await allAfter(t, "")).cursor;
    const resources = [{ resourceId: "docs", description: "", actions: ["read"] }];
    await admin.setRbacPolicy({
      policy: {
        resources,
        roles: [{ roleId: "reader", description: "", permissions: [{ resourceId: "docs", actions: ["read"] }] }],
      },
    });
    await admin
      .setRbacPolicy({
        policy: {
          resources,
          roles: [{ roleId: "bad", description: "", permissions: [{ resourceId: "nope", actions: ["read"] }] }],
        },
      })
      .catch(() => undefined);
    const { events } = await allAfter(t, start);
    expect(events.map((e) => EventType[e.type])).toEqual(["RBAC_POLICY_CHANGED"]);
  });

  it("writes no event for a refused change", async () => {
    const sessions = t.client();
    const users = createClient(UserService, t.transport());
    const created = await sessions.createSession({ userId: "refused", sessionDurationMinutes: 60 });
    const { cursor } = await allAfter(t, "");
    await expectFailure(
      sessions.authenticateSession({
        credential: { case: "sessionToken", value: created.sessionToken },
        sessionCustomClaims: { a: 1 },
        expectedClaimsVersion: 7n,
      }),
      Code.Aborted,
      "CLAIMS_VERSION_MISMATCH",
    );
    await expectFailure(
      sessions.createSession({ userId: "refused", sessionCustomClaims: { sub: "x" } }),
      Code.InvalidArgument,
      "RESERVED_CLAIM",
    );
    await expectFailure(
      sessions.updateSessionClaims({ sessionId: "session-missing", sessionCustomClaims: { a: 1 } }),
      Code.NotFound,
      "SESSION_NOT_FOUND",
    );
    await expectFailure(
      users.updateUser({ userId: "refused", trustedMetadata: { a: 1 }, expectedVersion: 5n }),
      Code.Aborted,
      "USER_VERSION_MISMATCH",
    );
    await expectFailure(users.deleteUser({ userId: "nobody" }), Code.NotFound, "USER_NOT_FOUND");
    expect((await allAfter(t, cursor)).events).toEqual([]);
  });

  it("pages with the default and maximum limits and refuses a cursor it did not make", async () => {
    for (let i = 0; i < 7; i++) await t.client().createSession({ userId: `page-${i}` });
    const events = eventClient(t);
    expect((await events.listEvents({})).events).toHaveLength(2);
    expect((await events.listEvents({ limit: 50 })).events).toHaveLength(5);
    const only = await events.listEvents({ limit: 5, types: [EventType.SESSION_EXPIRED] });
    expect(only.events.every((e) => e.type === EventType.SESSION_EXPIRED)).toBe(true);
    await expectFailure(events.listEvents({ afterCursor: "nope" }), Code.InvalidArgument, "INVALID_EVENT_CURSOR");
    await expectFailure(events.listEvents({ limit: -1 }), Code.InvalidArgument, "INVALID_PAGE_SIZE");
    await expectFailure(
      events.listEvents({ types: [EventType.UNSPECIFIED] }),
      Code.InvalidArgument,
      "INVALID_REQUEST_FIELD",
    );
  });

  describe.each(["connect", "grpc", "grpc-web"] as const)("WatchEvents over %s", (protocol) => {
    it("streams new events, sends heartbeats when quiet, and resumes after a disconnect with no gap or duplicate", async () => {
      const { cursor: start } = await allAfter(t, "");
      const stop = new AbortController();
      const stream = eventClient(t, protocol).watchEvents({ afterCursor: start }, { signal: stop.signal });
      const seen: Event[] = [];
      let heartbeat = false;
      const first = await t.client().createSession({ userId: `watch-${protocol}` });
      let lastCursor = start;
      for await (const message of stream) {
        seen.push(...message.events);
        lastCursor = message.cursor;
        if (message.events.length === 0) {
          heartbeat = true;
          expect(message.cursor).toBe(seen.at(-1)?.cursor ?? start);
        }
        if (heartbeat && seen.length > 0) break;
      }
      stop.abort();
      expect(seen.map((e) => e.sessionId)).toEqual([first.session?.sessionId]);
      // Written while no one watched: the next watch from the last cursor gets exactly these.
      const later = [
        await t.client().createSession({ userId: `watch-${protocol}` }),
        await t.client().createSession({ userId: `watch-${protocol}` }),
      ];
      const again: Event[] = [];
      const stop2 = new AbortController();
      for await (const message of eventClient(t, protocol).watchEvents(
        { afterCursor: lastCursor },
        { signal: stop2.signal },
      )) {
        again.push(...message.events);
        if (again.length >= 2) break;
      }
      stop2.abort();
      expect(again.map((e) => e.sessionId)).toEqual(later.map((s) => s.session?.sessionId));
    });
  });

  it("refuses a watch over EVENTS_MAX_WATCHES with RESOURCE_EXHAUSTED", async () => {
    const stops = [0, 1, 2].map(() => new AbortController());
    const open = stops.map((stop) => eventClient(t).watchEvents({}, { signal: stop.signal })[Symbol.asyncIterator]());
    // The first message of each proves the stream runs (holds its slot).
    await Promise.all(open.map((it) => it.next()));
    expect(t.app.events.watching()).toBe(3);
    const extra = eventClient(t).watchEvents({});
    await expectFailure(extra[Symbol.asyncIterator]().next(), Code.ResourceExhausted, "TOO_MANY_WATCHES");
    for (const stop of stops) stop.abort();
  });

  it("sweeps events older than EVENT_RETENTION_SECONDS in batches", async () => {
    const before = (await eventClient(t).listEvents({ limit: 5 })).events.length;
    expect(before).toBeGreaterThan(0);
    clock.advance(7_300 * 1_000);
    await t.client().createSession({ userId: "kept-event" });
    const cutoff = new Date(clock().getTime() - 7_200 * 1_000);
    const result = await t.app.sweeper.sweepOnce();
    // Batches of SWEEP_BATCH_SIZE (2) until one is not full.
    expect(result.eventsDeleted).toBeGreaterThanOrEqual(before);
    const left = await allAfter(t, "");
    expect(left.events.every((e) => timestampDate(e.time as never) >= cutoff)).toBe(true);
    expect(left.events.map(brief)).toContainEqual({
      type: "SESSION_CREATED",
      sessionId: expect.any(String),
      userId: "kept-event",
      claimsVersion: 0n,
    });
  });
});

describe("EVENT_RETENTION_SECONDS", () => {
  it("is refused when shorter than JWT_TTL_SECONDS + 3600", () => {
    expect(() => parseConfig({ JWT_TTL_SECONDS: "600", EVENT_RETENTION_SECONDS: "4199" })).toThrow(ConfigError);
    expect(parseConfig({ JWT_TTL_SECONDS: "600", EVENT_RETENTION_SECONDS: "4200" }).eventRetentionSeconds).toBe(4200);
    expect(parseConfig({}).eventRetentionSeconds).toBe(86_400);
  });
});

describe.each(backends())("WatchEvents woken by NOTIFY on %s", (backend) => {
  // Polling (a minute) and heartbeats (ten minutes) are out of reach of the test: only a NOTIFY can wake the watch.
  const t = useTestApp(backend, { EVENTS_POLL_INTERVAL_MS: "60000", EVENTS_HEARTBEAT_MS: "600000" });

  it("delivers an event committed after the watch went quiet", async () => {
    const { cursor } = await eventClient(t).listEvents({ limit: 5 });
    const stop = new AbortController();
    const stream = eventClient(t).watchEvents({ afterCursor: cursor }, { signal: stop.signal });
    const iterator = stream[Symbol.asyncIterator]();
    const first = iterator.next();
    // Give the watch time to read the (empty) outbox and start waiting before the write.
    await new Promise((r) => setTimeout(r, 300));
    const created = await t.client().createSession({ userId: "notified" });
    const message = await first;
    stop.abort();
    expect(message.value?.events.map((e: Event) => e.sessionId)).toEqual([created.session?.sessionId]);
  });
});

describe.each(backends())("round trips of the hot path with events on %s", (backend) => {
  let statements: string[] = [];
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(backend, {}, {}, (database) => {
      const counting: KyselyPlugin = {
        // Called once per statement executed (transformQuery also sees builders embedded in a raw statement).
        transformQuery: (args) => args.node,
        transformResult: async (args) => {
          statements.push(args.queryId.queryId);
          return args.result;
        },
      };
      return { ...database, db: database.db.withPlugin(counting) };
    });
  });
  afterAll(() => t?.close());

  it("a plain authenticate is one statement and a claims patch two, its event written by the compare-and-set", async () => {
    const created = await t.client().createSession({ userId: "round-trips" });
    const credential = { case: "sessionToken" as const, value: created.sessionToken };
    statements = [];
    await t.client().authenticateSession({ credential });
    expect(statements).toHaveLength(1);
    const { cursor } = await allAfter(t, "");
    statements = [];
    await t.client().authenticateSession({ credential, sessionCustomClaims: { a: 1 } });
    expect(statements).toHaveLength(2);
    const { events } = await allAfter(t, cursor);
    expect(events.map(brief)).toEqual([
      {
        type: "SESSION_CLAIMS_CHANGED",
        sessionId: created.session?.sessionId,
        userId: "round-trips",
        claimsVersion: 1n,
      },
    ]);
  });
});

describe.each(backends())("the retention horizon on %s", (backend) => {
  const clock = testClock(T0);
  const t = useTestApp(
    backend,
    {
      JWT_TTL_SECONDS: String(TTL_SECONDS),
      SWEEP_INTERVAL_SECONDS: "0",
      SWEEP_BATCH_SIZE: "2",
      EVENT_RETENTION_SECONDS: "7200",
      EVENTS_POLL_INTERVAL_MS: "50",
      EVENTS_HEARTBEAT_MS: "300",
    },
    { clock },
  );

  it("refuses a cursor events were swept after, in ListEvents and WatchEvents, and takes the empty cursor and the horizon", async () => {
    for (const n of [1, 2, 3]) await t.client().createSession({ userId: `old-${n}` });
    const old = await allAfter(t, "");
    const firstCursor = old.events[0]?.cursor ?? "";
    const lastOld = old.cursor;
    clock.advance(7_300 * 1_000);
    const kept = await t.client().createSession({ userId: "kept" });
    expect((await t.app.sweeper.sweepOnce()).eventsDeleted).toBe(3);

    await expectFailure(
      eventClient(t).listEvents({ afterCursor: firstCursor }),
      Code.FailedPrecondition,
      "EVENT_CURSOR_EXPIRED",
    );
    for (const protocol of ["connect", "grpc", "grpc-web"] as const) {
      const watch = eventClient(t, protocol).watchEvents({ afterCursor: firstCursor });
      await expectFailure(watch[Symbol.asyncIterator]().next(), Code.FailedPrecondition, "EVENT_CURSOR_EXPIRED");
    }
    // The newest swept event's cursor missed nothing, and the empty cursor starts at the oldest event kept.
    const afterHorizon = await allAfter(t, lastOld);
    const fromStart = await allAfter(t, "");
    expect(afterHorizon.events.map(brief)).toEqual(fromStart.events.map(brief));
    // What is left: the kept session's creation, then the sweeper's expiry of the three old sessions.
    expect(fromStart.events.map((e) => [EventType[e.type], e.userId])).toEqual([
      ["SESSION_CREATED", "kept"],
      ...[1, 2, 3].map(() => ["SESSION_EXPIRED", expect.stringMatching(/^old-/)]),
    ]);
    expect(fromStart.events[0]?.sessionId).toBe(kept.session?.sessionId);
  });
});

describe.each(backends())("WatchEvents per connection on %s", (backend) => {
  const t = useTestApp(backend, {
    EVENTS_POLL_INTERVAL_MS: "50",
    EVENTS_HEARTBEAT_MS: "300",
    EVENTS_WATCHES_PER_CONNECTION: "2",
    EVENTS_MAX_WATCHES: "3",
  });

  it("caps open watches on one connection (EVENTS_WATCHES_PER_CONNECTION) and frees the slot when one ends", async () => {
    // One gRPC transport is one HTTP/2 connection; another transport is another connection.
    const first = eventClient(t, "grpc");
    const second = eventClient(t, "grpc");
    const stops = [new AbortController(), new AbortController()];
    const held = stops.map((stop) => first.watchEvents({}, { signal: stop.signal })[Symbol.asyncIterator]());
    await Promise.all(held.map((it) => it.next()));

    const refused = await first
      .watchEvents({})
      [Symbol.asyncIterator]()
      .next()
      .then(
        () => undefined,
        (err: unknown) => ConnectError.from(err),
      );
    expect(refused?.code).toBe(Code.ResourceExhausted);
    expect(refused?.findDetails(ErrorDetailSchema)[0]).toMatchObject({
      reason: "TOO_MANY_WATCHES",
      metadata: { scope: "connection", limit: "2" },
    });
    // Another connection still gets one.
    const other = new AbortController();
    await second.watchEvents({}, { signal: other.signal })[Symbol.asyncIterator]().next();
    expect(t.app.events.watching()).toBe(3);

    stops[0]?.abort();
    other.abort();
    await vi.waitFor(() => expect(t.app.events.watching()).toBe(1));
    const again = new AbortController();
    await first.watchEvents({}, { signal: again.signal })[Symbol.asyncIterator]().next();
    expect(t.app.events.watching()).toBe(2);
    again.abort();
    stops[1]?.abort();
  });
});

describe.runIf(backends().includes("postgres"))("the LISTEN connection on postgres", () => {
  // Polling (a minute) and heartbeats (ten minutes) are out of reach of the test: only a NOTIFY can wake the watch.
  const t = useTestApp("postgres", { EVENTS_POLL_INTERVAL_MS: "60000", EVENTS_HEARTBEAT_MS: "600000" });

  /** Backends of the test database LISTENing for events, other than the asking one. */
  async function listeners(): Promise<number[]> {
    const client = new pg.Client({ connectionString: t.app.config.databaseUrl });
    await client.connect();
    try {
      const rows = await client.query<{ pid: number }>(
        `select pid from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid() and query ilike 'listen %'`,
      );
      return rows.rows.map((row) => row.pid);
    } finally {
      await client.end();
    }
  }

  it("comes back after its backend is terminated, and watches are woken by NOTIFY again", async () => {
    await t.client().createSession({ userId: "before-kill" });
    const [lost] = await vi.waitFor(async () => {
      const pids = await listeners();
      expect(pids).toHaveLength(1);
      return pids;
    });
    const admin = new pg.Client({ connectionString: t.app.config.databaseUrl });
    await admin.connect();
    await admin.query("select pg_terminate_backend($1)", [lost]);
    await admin.end();
    const [back] = await vi.waitFor(
      async () => {
        const pids = await listeners();
        expect(pids).toHaveLength(1);
        expect(pids).not.toContain(lost);
        return pids;
      },
      { timeout: 15_000, interval: 100 },
    );
    expect(back).not.toBe(lost);

    const { cursor } = await allAfter(t, "");
    const stop = new AbortController();
    const first = eventClient(t)
      .watchEvents({ afterCursor: cursor }, { signal: stop.signal })
      [Symbol.asyncIterator]()
      .next();
    await new Promise((r) => setTimeout(r, 300));
    const created = await t.client().createSession({ userId: "after-kill" });
    const message = await first;
    stop.abort();
    expect(message.value?.events.map((e: Event) => e.sessionId)).toEqual([created.session?.sessionId]);
  });
});
