import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { date, expectFailure, MINUTE, storedRow, testClock } from "../rpc/helpers.js";
import { backends } from "../support/backends.js";
import { startTestApp, type TestApp } from "../support/test-app.js";
import { statementObserver } from "./statement-observer.js";

const SECOND = 1_000;

/** A test app with SESSION_TOUCH_INTERVAL_SECONDS=`interval`, a hand-moved clock and its statements observed. */
function useTouchApp(backend: Parameters<typeof startTestApp>[0], interval: string) {
  const clock = testClock(new Date("2026-11-26T12:00:00.000Z"));
  const observer = statementObserver();
  const state: { t?: TestApp } = {};
  beforeAll(async () => {
    state.t = await startTestApp(
      backend,
      { SWEEP_INTERVAL_SECONDS: "0", SESSION_TOUCH_INTERVAL_SECONDS: interval },
      { clock },
      (database) => ({ ...database, db: database.db.withPlugin(observer.plugin) }),
    );
  });
  afterAll(() => state.t?.close());
  const app = () => state.t as TestApp;
  const session = async (sessionDurationMinutes = 60) => {
    const created = await app()
      .client()
      .createSession({ userId: `touch-${interval}`, sessionDurationMinutes });
    const token = created.sessionToken;
    const id = created.session?.sessionId ?? "";
    return {
      id,
      token,
      started: date(created.session?.startedAt),
      /** Authenticates by token (no patch); returns the answered last_accessed_at and the statements sent. */
      async authenticate(more: { sessionDurationMinutes?: number } = {}) {
        const mark = observer.log.length;
        const res = await app()
          .client()
          .authenticateSession({ credential: { case: "sessionToken", value: token }, ...more });
        return { res, lastAccessedAt: date(res.session?.lastAccessedAt), statements: observer.log.slice(mark) };
      },
      stored: async () => storedTimes(await storedRow(app(), id)),
    };
  };
  return { clock, app, session };
}

function storedTimes(row: { last_accessed_at: Date; expires_at: Date }) {
  return { lastAccessedAt: new Date(row.last_accessed_at), expiresAt: new Date(row.expires_at) };
}

describe.each(backends())("last_accessed_at on %s", (backend) => {
  describe("with SESSION_TOUCH_INTERVAL_SECONDS=60", () => {
    const { clock, app, session } = useTouchApp(backend, "60");

    it("writes an access at most once per 60 seconds, in one statement either way", async () => {
      const s = await session();
      clock.advance(10 * SECOND);
      const early = await s.authenticate();
      expect(early.statements).toEqual(["touch-coalesced"]);
      // Not due: answered (and stored) as last written.
      expect(early.lastAccessedAt).toEqual(s.started);
      expect((await s.stored()).lastAccessedAt).toEqual(s.started);
      clock.advance(50 * SECOND);
      const due = await s.authenticate();
      expect(due.statements).toEqual(["touch-coalesced"]);
      expect(due.lastAccessedAt).toEqual(clock());
      expect((await s.stored()).lastAccessedAt).toEqual(clock());
      const writtenAt = clock();
      clock.advance(59 * SECOND);
      expect((await s.authenticate()).lastAccessedAt).toEqual(writtenAt);
      expect((await s.stored()).lastAccessedAt).toEqual(writtenAt);
    });

    it("always writes an extension (session_duration_minutes) and a patch", async () => {
      const s = await session();
      clock.advance(5 * SECOND);
      const extended = await s.authenticate({ sessionDurationMinutes: 30 });
      expect(extended.statements).toEqual(["touch"]);
      expect(extended.lastAccessedAt).toEqual(clock());
      expect(date(extended.res.session?.expiresAt).getTime()).toBe(clock().getTime() + 30 * MINUTE);
      expect(await s.stored()).toEqual({
        lastAccessedAt: clock(),
        expiresAt: new Date(clock().getTime() + 30 * MINUTE),
      });
      clock.advance(5 * SECOND);
      const patched = await app()
        .client()
        .authenticateSession({ credential: { case: "sessionToken", value: s.token }, sessionCustomClaims: { a: 1 } });
      expect(date(patched.session?.lastAccessedAt)).toEqual(clock());
      expect((await s.stored()).lastAccessedAt).toEqual(clock());
    });

    it("refuses a revoked session within the interval, and an expired one, as before", async () => {
      const revoked = await session();
      await app()
        .client()
        .revokeSession({ target: { case: "sessionToken", value: revoked.token } });
      clock.advance(SECOND);
      await expectFailure(revoked.authenticate(), Code.NotFound, "SESSION_NOT_FOUND");
      const expiring = await session();
      clock.advance(60 * MINUTE);
      await expectFailure(expiring.authenticate(), Code.NotFound, "SESSION_NOT_FOUND");
    });
  });

  describe("with SESSION_TOUCH_INTERVAL_SECONDS=3600", () => {
    const { clock, session } = useTouchApp(backend, "3600");

    it("refuses a session that expired while its last touch is still within the interval", async () => {
      const s = await session(5);
      clock.advance(4 * MINUTE);
      const live = await s.authenticate();
      expect(live.statements).toEqual(["touch-coalesced"]);
      expect(live.lastAccessedAt).toEqual(s.started);
      // 6 minutes after creation: expired, yet well within the interval since last_accessed_at was written.
      clock.advance(2 * MINUTE);
      await expectFailure(s.authenticate(), Code.NotFound, "SESSION_NOT_FOUND");
      expect((await s.stored()).lastAccessedAt).toEqual(s.started);
    });
  });

  describe("with SESSION_TOUCH_INTERVAL_SECONDS=0 (the default)", () => {
    const { clock, session } = useTouchApp(backend, "0");

    it("writes last_accessed_at on every authenticate", async () => {
      const s = await session();
      for (const step of [1, 1, 10]) {
        clock.advance(step * SECOND);
        const { lastAccessedAt, statements } = await s.authenticate();
        expect(statements).toEqual(["touch"]);
        expect(lastAccessedAt).toEqual(clock());
        expect((await s.stored()).lastAccessedAt).toEqual(clock());
      }
    });
  });
});
