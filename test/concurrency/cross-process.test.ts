import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorDetailSchema } from "../../gen/tessera/sessions/v1/error_detail_pb.js";
import { createScratchDatabase, type ScratchDatabase } from "../support/backends.js";
import { storedClaims } from "../support/stored-claims.js";
import { type ServerProcess, spawnServer } from "./server-process.js";

const DATABASE_URL = process.env.DATABASE_URL;

/** The stored row of a session, as PostgreSQL prints it, for byte-for-byte comparison. */
async function storedRow(db: ScratchDatabase, sessionId: string): Promise<string> {
  const rows = await db.query<{ row: string }>("select s::text as row from sessions s where session_id = $1", [
    sessionId,
  ]);
  return rows[0]?.row ?? "";
}

function millis(ts: Timestamp | undefined): number {
  return ts === undefined ? Number.NaN : timestampDate(ts).getTime();
}

function reasonOf(err: unknown): string | undefined {
  return ConnectError.from(err).findDetails(ErrorDetailSchema)[0]?.reason;
}

describe.runIf(!!DATABASE_URL)("three server processes on one PostgreSQL", () => {
  let db: ScratchDatabase;
  let servers: ServerProcess[] = [];
  const clientOf = (i: number) => (servers[i % servers.length] as ServerProcess).client();

  beforeAll(async () => {
    db = await createScratchDatabase(DATABASE_URL as string);
    // All three start at once on the empty database: migrations and the first signing key race too.
    servers = await Promise.all([0, 1, 2].map(() => spawnServer(db.url)));
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await db?.drop();
  });

  it("keeps every one of 300 concurrent patches of distinct keys, and each JWT holds its own key", async () => {
    const created = await clientOf(0).createSession({ userId: "u-300", sessionCustomClaims: { base: true } });
    const results = await Promise.allSettled(
      Array.from({ length: 300 }, (_, i) =>
        clientOf(i).authenticateSession({
          credential: { case: "sessionToken", value: created.sessionToken },
          sessionCustomClaims: { [`k${i}`]: i },
        }),
      ),
    );
    const failures = results.filter((r) => r.status === "rejected");
    expect(failures.map((f) => String((f as PromiseRejectedResult).reason))).toEqual([]);
    results.forEach((result, i) => {
      if (result.status !== "fulfilled") return;
      expect(decodeJwt(result.value.sessionJwt)[`k${i}`]).toBe(i);
    });
    const [row] = await db.query<{ claims_overlay: Record<string, unknown>; claims_version: string }>(
      "select claims_overlay, claims_version from sessions where session_id = $1",
      [created.session?.sessionId],
    );
    const claims = storedClaims(row?.claims_overlay);
    for (let i = 0; i < 300; i++) expect(claims[`k${i}`]).toBe(i);
    expect(claims.base).toBe(true);
    expect(row?.claims_version).toBe("300");
  });

  it("answers each of 128 concurrent patches over two processes with exactly the claims after its own patch", async () => {
    const created = await clientOf(0).createSession({ userId: "u-two-batches" });
    const sessionId = created.session?.sessionId ?? "";
    // Two processes, 64 calls each in flight together: each process groups its calls, the two race by CAS.
    const results = await Promise.all(
      Array.from({ length: 128 }, (_, i) =>
        clientOf(i % 2).authenticateSession({
          credential: { case: "sessionToken", value: created.sessionToken },
          sessionCustomClaims: { [`p${i}`]: i },
        }),
      ),
    );
    const answered = results.map((r, i) => ({
      i,
      version: Number(r.session?.claimsVersion),
      jwt: decodeJwt(r.sessionJwt),
    }));
    answered.sort((a, b) => a.version - b.version);
    expect(answered.map((a) => a.version)).toEqual(Array.from({ length: 128 }, (_, v) => v + 1));
    // In version order, each JWT holds the keys of exactly the patches at or before its own version.
    const landed: Record<string, number> = {};
    for (const { i, version, jwt } of answered) {
      landed[`p${i}`] = i;
      const keys = Object.keys(jwt).filter((key) => key.startsWith("p"));
      expect(keys.sort()).toEqual(Object.keys(landed).sort());
      expect((jwt["https://tessera.dev/session"] as { claims_version: number }).claims_version).toBe(version);
    }
    const [row] = await db.query<{ claims_overlay: Record<string, unknown>; claims_version: string }>(
      "select claims_overlay, claims_version from sessions where session_id = $1",
      [sessionId],
    );
    expect(row?.claims_version).toBe("128");
    expect(storedClaims(row?.claims_overlay)).toEqual(landed);
    const events = await db.query<{ claims_version: string }>(
      "select claims_version from session_events where session_id = $1 and type = 'session_claims_changed' order by id",
      [sessionId],
    );
    expect(events.map((e) => Number(e.claims_version))).toEqual(Array.from({ length: 128 }, (_, v) => v + 1));
  });

  it("gives no new JWT to any call started after RevokeSession returned", async () => {
    const created = await clientOf(0).createSession({ userId: "u-revoke" });
    let revokedAt: number | undefined;
    const lateSuccesses: string[] = [];
    let lateCalls = 0;
    let earlyCalls = 0;
    const patcher = async (worker: number) => {
      for (let n = 0; n < 400; n++) {
        const startedAt = performance.now();
        const startedAfterRevoke = revokedAt !== undefined && startedAt > revokedAt;
        try {
          const res = await clientOf(worker).authenticateSession({
            credential: { case: "sessionToken", value: created.sessionToken },
            sessionCustomClaims: { [`w${worker}`]: n },
          });
          if (startedAfterRevoke) lateSuccesses.push(res.sessionJwt);
          else earlyCalls++;
        } catch (err) {
          expect(reasonOf(err)).toBe("SESSION_NOT_FOUND");
          if (startedAfterRevoke) lateCalls++;
        }
        if (startedAfterRevoke && lateCalls >= 5) return;
      }
    };
    const patchers = Array.from({ length: 12 }, (_, w) => patcher(w));
    // Let the patches get going on all three processes, then revoke through one of them.
    while (earlyCalls < 30) await new Promise((r) => setTimeout(r, 5));
    await clientOf(1).revokeSession({ target: { case: "sessionToken", value: created.sessionToken } });
    revokedAt = performance.now();
    await Promise.all(patchers);
    expect(lateSuccesses).toEqual([]);
    expect(lateCalls).toBeGreaterThanOrEqual(5);
  });

  it("stores the expires_at of the last call to commit when patches race duration extensions", async () => {
    const created = await clientOf(0).createSession({ userId: "u-extend", sessionDurationMinutes: 30 });
    const results = await Promise.all(
      Array.from({ length: 90 }, (_, i) =>
        clientOf(i).authenticateSession({
          credential: { case: "sessionToken", value: created.sessionToken },
          // Distinct durations, so each call's expires_at is its own.
          sessionDurationMinutes: 10 + i * 7,
          sessionCustomClaims: { [`e${i}`]: i },
        }),
      ),
    );
    // Every patch bumps claims_version under the row lock, so claims_version orders the calls by commit.
    const byCommit = results
      .map((r) => ({
        version: r.session?.claimsVersion ?? 0n,
        lastAccessedAt: millis(r.session?.lastAccessedAt),
        expiresAt: millis(r.session?.expiresAt),
      }))
      .sort((a, b) => (a.version < b.version ? -1 : 1));
    expect(byCommit.map((c) => c.version)).toEqual(Array.from({ length: 90 }, (_, i) => BigInt(i + 1)));
    // Commit order is also last_accessed_at order: the call with the greatest last_accessed_at is the last.
    for (let i = 1; i < byCommit.length; i++) {
      expect(byCommit[i]?.lastAccessedAt).toBeGreaterThanOrEqual(byCommit[i - 1]?.lastAccessedAt ?? 0);
    }
    const last = byCommit[byCommit.length - 1];
    const [row] = await db.query<{ expires_at: Date; last_accessed_at: Date }>(
      "select expires_at, last_accessed_at from sessions where session_id = $1",
      [created.session?.sessionId],
    );
    expect(row?.expires_at.getTime()).toBe(last?.expiresAt);
    expect(row?.last_accessed_at.getTime()).toBe(last?.lastAccessedAt);
  });

  it("lets exactly one of racing compare-and-set calls win; a stale version is ABORTED and changes nothing", async () => {
    const created = await clientOf(0).createSession({ userId: "u-cas", sessionCustomClaims: { n: 0 } });
    const sessionId = created.session?.sessionId ?? "";
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) =>
        clientOf(i).authenticateSession({
          credential: { case: "sessionToken", value: created.sessionToken },
          sessionCustomClaims: { n: i + 1 },
          expectedClaimsVersion: 0n,
        }),
      ),
    );
    const won = results.filter((r) => r.status === "fulfilled");
    expect(won).toHaveLength(1);
    for (const r of results) {
      if (r.status === "rejected") {
        expect(ConnectError.from(r.reason).code).toBe(Code.Aborted);
        expect(reasonOf(r.reason)).toBe("CLAIMS_VERSION_MISMATCH");
      }
    }
    const before = await storedRow(db, sessionId);
    const stale = await clientOf(2)
      .authenticateSession({
        credential: { case: "sessionToken", value: created.sessionToken },
        sessionCustomClaims: { n: -1 },
        sessionDurationMinutes: 600,
        expectedClaimsVersion: 0n,
      })
      .catch((err: unknown) => ConnectError.from(err));
    expect(stale).toBeInstanceOf(ConnectError);
    expect((stale as ConnectError).code).toBe(Code.Aborted);
    expect(reasonOf(stale)).toBe("CLAIMS_VERSION_MISMATCH");
    expect(await storedRow(db, sessionId)).toBe(before);
    const ok = await clientOf(1).authenticateSession({
      credential: { case: "sessionToken", value: created.sessionToken },
      sessionCustomClaims: { n: 100 },
      expectedClaimsVersion: 1n,
    });
    expect(ok.session?.claimsVersion).toBe(2n);
    expect(ok.session?.customClaims).toEqual({ n: 100 });
  });
});
