import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { backends } from "../support/backends.js";
import { startTestApp, type TestApp, useTestApp } from "../support/test-app.js";

const MINUTE = 60_000;

/** A clock the test moves by hand. */
function manualClock(start: number) {
  let now = start;
  return {
    clock: () => new Date(now),
    advance: (ms: number) => {
      now += ms;
    },
  };
}

async function sessionCount(t: TestApp): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*)::text as n from sessions`.execute(t.app.database.db);
  return Number(rows[0]?.n);
}

describe.each(backends())("session sweeper on %s", (backend) => {
  const time = manualClock(Date.parse("2030-01-01T00:00:00Z"));
  let t: TestApp;
  beforeAll(async () => {
    // The timer is off here: each test runs sweeps itself, so counts are exact.
    t = await startTestApp(
      backend,
      { SWEEP_INTERVAL_SECONDS: "0", SWEEP_BATCH_SIZE: "2", SWEEP_RETENTION_SECONDS: "3600" },
      { clock: time.clock },
    );
  });
  afterAll(() => t?.close());

  it("deletes expired sessions and sessions revoked longer ago than the retention, in batches of SWEEP_BATCH_SIZE", async () => {
    const client = t.client("connect");
    await t.app.sweeper.sweepOnce();
    await Promise.all(
      [0, 1, 2, 3, 4].map((i) => client.createSession({ userId: `short-${i}`, sessionDurationMinutes: 5 })),
    );
    const revoked = await Promise.all(
      [0, 1, 2].map((i) => client.createSession({ userId: `revoked-${i}`, sessionDurationMinutes: 600 })),
    );
    const kept = await client.createSession({ userId: "kept", sessionDurationMinutes: 600 });
    for (const r of revoked) await client.revokeSession({ target: { case: "sessionToken", value: r.sessionToken } });
    expect(await sessionCount(t)).toBe(9);

    // Nothing is stale yet: the short sessions run for 5 minutes, revocations are younger than the retention.
    expect(await t.app.sweeper.sweepOnce()).toMatchObject({ deleted: 0, batches: 1 });

    time.advance(6 * MINUTE);
    // 5 expired sessions in batches of 2: 2 + 2 + 1.
    expect(await t.app.sweeper.sweepOnce()).toMatchObject({ deleted: 5, batches: 3 });
    expect(await sessionCount(t)).toBe(4);

    time.advance(60 * MINUTE);
    // Revoked 66 minutes ago, over the 60-minute retention: 2 + 1.
    expect(await t.app.sweeper.sweepOnce()).toMatchObject({ deleted: 3, batches: 2 });
    const left = await sql<{ session_id: string }>`select session_id from sessions`.execute(t.app.database.db);
    expect(left.rows.map((r) => r.session_id)).toEqual([kept.session?.sessionId]);
    // The active session still authenticates.
    await client.authenticateSession({ credential: { case: "sessionToken", value: kept.sessionToken } });
  });

  it("keeps a session that was extended before it expired", async () => {
    const client = t.client("connect");
    const s = await client.createSession({ userId: "extended", sessionDurationMinutes: 5 });
    time.advance(4 * MINUTE);
    await client.authenticateSession({
      credential: { case: "sessionToken", value: s.sessionToken },
      sessionDurationMinutes: 60,
    });
    time.advance(2 * MINUTE);
    await t.app.sweeper.sweepOnce();
    await client.authenticateSession({ credential: { case: "sessionToken", value: s.sessionToken } });
  });
});

describe.each(backends())("session sweeper timer on %s", (backend) => {
  const time = manualClock(Date.parse("2030-01-01T00:00:00Z"));
  const t = useTestApp(backend, { SWEEP_INTERVAL_SECONDS: "1", SWEEP_BATCH_SIZE: "1" }, { clock: time.clock });

  it("runs in the background once the app listens", async () => {
    const client = t.client("connect");
    await Promise.all([0, 1, 2].map((i) => client.createSession({ userId: `timer-${i}`, sessionDurationMinutes: 5 })));
    expect(await sessionCount(t)).toBe(3);
    time.advance(10 * MINUTE);
    await vi.waitFor(async () => expect(await sessionCount(t)).toBe(0), { timeout: 15_000, interval: 100 });
    expect(t.logs.some((l) => l.msg === "swept stale sessions")).toBe(true);
  });
});
