import { createClient } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { EventService } from "../../../gen/tessera/events/v1/event_service_pb.js";
import { testClock } from "../../../test/rpc/helpers.js";
import { backends } from "../../../test/support/backends.js";
import { startSiblingApp } from "../../../test/support/sibling-app.js";
import { TEST_API_KEY, useTestApp } from "../../../test/support/test-app.js";
import { createEventFeed, FOLLOWED_TYPES, isCursorExpired } from "../src/event-feed.js";
import { createVerifier } from "../src/index.js";
import { FAST_FEED_ENV, pollUntil } from "./helpers.js";

describe.each(backends())("the verifier's feed across a server restart on %s", (backend) => {
  const t = useTestApp(backend, FAST_FEED_ENV);

  /** Every followed event's cursor, read with ListEvents from the start. */
  async function allCursors(): Promise<string[]> {
    const events = createClient(EventService, t.transport());
    const cursors: string[] = [];
    let after = "";
    for (;;) {
      const page = await events.listEvents({ afterCursor: after, types: [...FOLLOWED_TYPES] });
      if (page.events.length === 0) return cursors;
      cursors.push(...page.events.map((e) => e.cursor));
      after = page.cursor;
    }
  }

  it("reconnects with backoff from its last cursor: every event once, none missed, none twice", async () => {
    const first = await startSiblingApp(t);
    const port = Number(new URL(first.baseUrl).port);
    const seen: string[] = [];
    let breaks = 0;
    const feed = createEventFeed({
      url: first.baseUrl,
      apiKey: TEST_API_KEY,
      protocol: "grpc",
      minBackoffMs: 20,
      maxBackoffMs: 200,
      onEvents: (events) => seen.push(...events.map((e) => e.cursor)),
      onAlive: () => {},
      // A server shutting down ends the watch cleanly or with an error; either way the follower reconnects.
      onReconnect: () => {
        breaks++;
      },
    });
    const verifier = createVerifier({
      url: first.baseUrl,
      apiKey: TEST_API_KEY,
      issuer: "tessera",
      audience: "tessera",
      minBackoffMs: 20,
      maxBackoffMs: 200,
    });
    let second: Awaited<ReturnType<typeof startSiblingApp>> | undefined;
    try {
      const client = t.client();
      const before = await client.createSession({ userId: "re-1", sessionDurationMinutes: 60 });
      await client.revokeSession({ target: { case: "sessionId", value: before.session?.sessionId ?? "" } });
      await feed.start();
      await verifier.start();
      const during = await client.createSession({ userId: "re-2", sessionDurationMinutes: 60 });
      const patched = await client.createSession({ userId: "re-4", sessionDurationMinutes: 60 });
      expect(await verifier.verify(during.sessionJwt)).toMatchObject({ ok: true });

      await first.close();
      await client.revokeSession({ target: { case: "sessionId", value: during.session?.sessionId ?? "" } });
      await client.updateSessionClaims({ sessionId: patched.session?.sessionId ?? "", sessionCustomClaims: { n: 1 } });
      second = await startSiblingApp(t, { port });
      const after = await client.createSession({ userId: "re-3", sessionDurationMinutes: 60 });
      await client.revokeSession({ target: { case: "sessionId", value: after.session?.sessionId ?? "" } });

      const expected = await allCursors();
      const final = await pollUntil(
        async () => [...seen],
        (s) => s.length >= expected.length,
      );
      expect(final).toEqual(expected);
      expect(breaks).toBeGreaterThan(0);
      const rejected = await pollUntil(
        () => verifier.verify(during.sessionJwt),
        (r) => !r.ok,
      );
      expect(rejected).toMatchObject({ ok: false, reason: "revoked" });
      const stale = await pollUntil(
        () => verifier.verify(patched.sessionJwt),
        (r) => r.ok && r.stale,
      );
      expect(stale).toMatchObject({ ok: true, stale: true });
    } finally {
      await feed.close();
      await verifier.close();
      await second?.close();
    }
  });
});

describe.each(backends())("the verifier's feed after its cursor was swept on %s", (backend) => {
  const clock = testClock(new Date());
  const t = useTestApp(
    backend,
    { ...FAST_FEED_ENV, JWT_TTL_SECONDS: "300", EVENT_RETENTION_SECONDS: "3900", SWEEP_INTERVAL_SECONDS: "0" },
    { clock },
  );

  it("starts again from the oldest event kept when Tessera refuses its cursor as expired", async () => {
    const first = await startSiblingApp(t);
    const port = Number(new URL(first.baseUrl).port);
    const errors: unknown[] = [];
    const verifier = createVerifier({
      url: first.baseUrl,
      apiKey: TEST_API_KEY,
      issuer: "tessera",
      audience: "tessera",
      minBackoffMs: 20,
      maxBackoffMs: 200,
      now: () => clock().getTime(),
      onFeedError: (err) => errors.push(err),
    });
    let second: Awaited<ReturnType<typeof startSiblingApp>> | undefined;
    try {
      const client = t.client();
      const seen = await client.createSession({ userId: "seen" });
      await client.revokeSession({ target: { case: "sessionId", value: seen.session?.sessionId ?? "" } });
      await verifier.start();
      await first.close();
      // While the verifier is away: a revocation it has not read, then swept with everything before it.
      const swept = await client.createSession({ userId: "swept" });
      await client.revokeSession({ target: { case: "sessionId", value: swept.session?.sessionId ?? "" } });
      clock.advance(4_000 * 1_000);
      expect((await t.app.sweeper.sweepOnce()).eventsDeleted).toBeGreaterThan(0);
      const revoked = await client.createSession({ userId: "kept", sessionDurationMinutes: 60 * 24 * 7 });
      await client.revokeSession({ target: { case: "sessionId", value: revoked.session?.sessionId ?? "" } });
      second = await startSiblingApp(t, { port });

      await pollUntil(
        async () => errors.filter(isCursorExpired).length,
        (n) => n > 0,
      );
      const rejected = await pollUntil(
        () => verifier.verify(revoked.sessionJwt),
        (r) => !r.ok && r.reason === "revoked",
      );
      expect(rejected).toMatchObject({ ok: false, reason: "revoked" });
    } finally {
      await verifier.close();
      await second?.close();
    }
  });
});
