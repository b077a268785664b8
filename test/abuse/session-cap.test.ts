import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorDetailSchema } from "../../gen/tessera/sessions/v1/error_detail_pb.js";
import { expectFailure, MINUTE, testClock } from "../rpc/helpers.js";
import { basic, PROJECT_ID } from "../stytch/helpers.js";
import { backends } from "../support/backends.js";
import { startSiblingApp } from "../support/sibling-app.js";
import { PROTOCOLS, startTestApp, TEST_API_KEY, type TestApp, useTestApp } from "../support/test-app.js";

const CAP = 10;

/** Rows of a user's sessions that are not revoked, straight from the database. */
async function storedActive(t: TestApp, userId: string): Promise<number> {
  const rows = await t.app.database.db
    .selectFrom("sessions")
    .select("session_id")
    .where("user_id", "=", userId)
    .where("revoked_at", "is", null)
    .execute();
  return rows.length;
}

/** Undefined when the call succeeds, else "<Code> <reason>" of its error. */
async function refusalOf(call: Promise<unknown>): Promise<string | undefined> {
  try {
    await call;
    return undefined;
  } catch (err) {
    const connectError = ConnectError.from(err);
    return `${Code[connectError.code]} ${connectError.findDetails(ErrorDetailSchema)[0]?.reason}`;
  }
}

/** Settles every call and sorts the outcomes: how many succeeded, and the refusals. */
async function outcomes(calls: Promise<unknown>[]): Promise<{ created: number; refused: string[] }> {
  const refused = (await Promise.all(calls.map(refusalOf))).filter((r): r is string => r !== undefined);
  return { created: calls.length - refused.length, refused };
}

describe.each(backends())("at most MAX_SESSIONS_PER_USER active sessions per user on %s", (backend) => {
  const clock = testClock(new Date("2031-02-03T04:05:06.000Z"));
  const t = useTestApp(
    backend,
    { MAX_SESSIONS_PER_USER: String(CAP), STYTCH_PROJECT_ID: PROJECT_ID, SWEEP_INTERVAL_SECONDS: "0" },
    { clock },
  );

  it.each(
    PROTOCOLS,
  )("over %s, the session after the cap is RESOURCE_EXHAUSTED and writes nothing", async (protocol) => {
    const client = t.client(protocol);
    const userId = `capped-${protocol}`;
    for (let i = 0; i < CAP; i++) await client.createSession({ userId });
    const refused = await expectFailure(
      client.createSession({ userId, sessionCustomClaims: { extra: true } }),
      Code.ResourceExhausted,
      "SESSION_LIMIT_REACHED",
    );
    expect(refused.metadata).toEqual({ limit: String(CAP) });
    expect(refused.message).toContain(`${CAP} active sessions`);
    expect(await storedActive(t, userId)).toBe(CAP);
    // Other users are not affected.
    await client.createSession({ userId: `${userId}-other` });
  });

  it("revoked and expired sessions do not count", async () => {
    const client = t.client("grpc");
    const userId = "capped-revoke";
    const created = [];
    for (let i = 0; i < CAP; i++) created.push(await client.createSession({ userId, sessionDurationMinutes: 5 + i }));
    await expectFailure(client.createSession({ userId }), Code.ResourceExhausted, "SESSION_LIMIT_REACHED");
    await client.revokeSession({ target: { case: "sessionToken", value: created[CAP - 1]?.sessionToken ?? "" } });
    await client.createSession({ userId, sessionDurationMinutes: 60 });
    await expectFailure(client.createSession({ userId }), Code.ResourceExhausted, "SESSION_LIMIT_REACHED");
    // The 5- and 6-minute sessions expire; two places free up.
    clock.advance(6 * MINUTE);
    await client.createSession({ userId });
    await client.createSession({ userId });
    await expectFailure(client.createSession({ userId }), Code.ResourceExhausted, "SESSION_LIMIT_REACHED");
  });

  it(`with the cap at ${CAP}, ${CAP * 5} concurrent creates for one user leave exactly ${CAP}`, async () => {
    const userId = "capped-concurrent";
    const result = await outcomes(
      Array.from({ length: CAP * 5 }, (_, i) =>
        t.client(PROTOCOLS[i % PROTOCOLS.length]).createSession({ userId, roles: [`r${i}`] }),
      ),
    );
    expect(result.created).toBe(CAP);
    expect(result.refused).toEqual(Array(CAP * 4).fill("ResourceExhausted SESSION_LIMIT_REACHED"));
    expect(await storedActive(t, userId)).toBe(CAP);
  });

  it("two app instances creating for one user at once do not exceed the cap together", async () => {
    // On PostgreSQL the sibling has its own pool: a second replica. No in-process lock can span the two.
    const sibling = await startSiblingApp(t);
    try {
      const userId = "capped-replicas";
      const result = await outcomes(
        Array.from({ length: CAP * 6 }, (_, i) =>
          (i % 2 === 0 ? t.client("grpc") : sibling.client("grpc")).createSession({ userId }),
        ),
      );
      expect(result.created).toBe(CAP);
      expect(result.refused).toHaveLength(CAP * 5);
      expect(new Set(result.refused)).toEqual(new Set(["ResourceExhausted SESSION_LIMIT_REACHED"]));
      expect(await storedActive(t, userId)).toBe(CAP);
    } finally {
      await sibling.close();
    }
  });

  it("the Stytch dialect refuses with 429 session_limit_reached, and GET /v1/sessions returns all of the user's sessions", async () => {
    const auth = basic(PROJECT_ID, TEST_API_KEY);
    const userId = "capped-stytch";
    const create = () =>
      fetch(`${t.baseUrl}/v1/sessions/tessera/create`, {
        method: "POST",
        headers: { authorization: auth, "content-type": "application/json" },
        body: JSON.stringify({ user_id: userId }),
      });
    const ids: string[] = [];
    for (let i = 0; i < CAP; i++) {
      const res = await create();
      expect(res.status).toBe(200);
      ids.push(((await res.json()) as { session: { session_id: string } }).session.session_id);
      clock.advance(1_000);
    }
    const refused = await create();
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({
      status_code: 429,
      error_type: "session_limit_reached",
      error_url: "https://stytch.com/docs/api/errors/429#session_limit_reached",
    });
    const listed = await fetch(`${t.baseUrl}/v1/sessions?user_id=${userId}`, { headers: { authorization: auth } });
    const { sessions } = (await listed.json()) as { sessions: { session_id: string }[] };
    expect(sessions.map((s) => s.session_id)).toEqual([...ids].reverse());
  });
});

describe.each(backends())("the default cap on %s", (backend) => {
  it("is 100: a loop of creates for one user stops at the 101st", async () => {
    const t = await startTestApp(backend);
    try {
      const client = t.client("grpc");
      let created = 0;
      let refusedAt: number | undefined;
      for (let i = 0; i < 150 && refusedAt === undefined; i++) {
        const refusal = await refusalOf(client.createSession({ userId: "default-cap" }));
        if (refusal === undefined) created++;
        else {
          expect(refusal).toBe("ResourceExhausted SESSION_LIMIT_REACHED");
          refusedAt = i;
        }
      }
      expect({ created, refusedAt }).toEqual({ created: 100, refusedAt: 100 });
      expect(await storedActive(t, "default-cap")).toBe(100);
    } finally {
      await t.close();
    }
  });
});
