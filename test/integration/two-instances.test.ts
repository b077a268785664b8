import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SiblingApp, startSiblingApp } from "../support/sibling-app.js";
import { storedClaims } from "../support/stored-claims.js";
import { PROTOCOLS, startTestApp, type TestApp } from "../support/test-app.js";

const PATCHES = 50;

// Two replicas need a shared PostgreSQL; PGlite is one process per directory.
describe.runIf(!!process.env.DATABASE_URL)("two instances on one PostgreSQL database", () => {
  let first: TestApp;
  let second: SiblingApp;
  beforeAll(async () => {
    first = await startTestApp("postgres");
    // Its own createApp and pg pool on the first one's DATABASE_URL: a second replica.
    second = await startSiblingApp(first);
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  it(`${PATCHES} concurrent patches of distinct keys on one session, split between the two, all land`, async () => {
    expect(second.app.database.kind).toBe("postgres");
    expect(second.app.database).not.toBe(first.app.database);
    expect(second.app.config.databaseUrl).toBe(first.app.config.databaseUrl);
    expect(second.baseUrl).not.toBe(first.baseUrl);

    const created = await first.client("grpc").createSession({ userId: "replicas" });
    const credential = { case: "sessionToken", value: created.sessionToken } as const;
    const results = await Promise.all(
      Array.from({ length: PATCHES }, (_, i) => {
        const protocol = PROTOCOLS[i % PROTOCOLS.length];
        const client = i % 2 === 0 ? first.client(protocol) : second.client(protocol);
        return client.authenticateSession({ credential, sessionCustomClaims: { [`key_${i}`]: i } });
      }),
    );
    // Every call saw its own version: the row lock serialized them, none overwrote another.
    const versions = results.map((res) => res.session?.claimsVersion).sort((a, b) => Number((a ?? 0n) - (b ?? 0n)));
    expect(versions).toEqual(Array.from({ length: PATCHES }, (_, i) => BigInt(i + 1)));

    const expected = Object.fromEntries(Array.from({ length: PATCHES }, (_, i) => [`key_${i}`, i]));
    for (const client of [first.client("connect"), second.client("connect")]) {
      const { sessions } = await client.listSessions({ userId: "replicas" });
      expect(sessions).toHaveLength(1);
      expect(sessions[0]?.customClaims).toEqual(expected);
      expect(sessions[0]?.claimsVersion).toBe(BigInt(PATCHES));
    }
    const row = await first.app.database.db
      .selectFrom("sessions")
      .select(["claims_overlay", "claims_version"])
      .where("session_id", "=", created.session?.sessionId ?? "")
      .executeTakeFirstOrThrow();
    expect(Object.keys(storedClaims(row.claims_overlay))).toHaveLength(PATCHES);
    expect(String(row.claims_version)).toBe(String(PATCHES));
  });
});
