import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { AdminService } from "../../gen/tessera/admin/v1/admin_service_pb.js";
import { ErrorDetailSchema } from "../../gen/tessera/sessions/v1/error_detail_pb.js";
import { retiredKeyLifetimeMs } from "../../src/keys/key-store.js";
import { backends } from "../support/backends.js";
import { startTestApp, type TestApp } from "../support/test-app.js";
import { createReplica } from "./replica.js";

/** A clock the test moves by hand. */
function manualClock(start: Date) {
  let now = start.getTime();
  return {
    clock: () => new Date(now),
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe.each(backends())("signing key rotation on %s", (backend) => {
  let t: TestApp;
  const time = manualClock(new Date());
  beforeAll(async () => {
    // These tests rotate several times in a row; the interval limit has its own tests (test/abuse/).
    t = await startTestApp(backend, { KEY_ROTATION_MIN_INTERVAL_SECONDS: "0" }, { clock: time.clock });
  });
  afterAll(() => t?.close());

  const jwks = async (baseUrl = t.baseUrl): Promise<JSONWebKeySet> => {
    const res = await fetch(`${baseUrl}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    return (await res.json()) as JSONWebKeySet;
  };
  const kidsOf = async (baseUrl?: string) => (await jwks(baseUrl)).keys.map((k) => k.kid);
  const admin = () => createClient(AdminService, t.transport("grpc"));
  const verifyOptions = () => ({ issuer: "tessera", audience: "tessera", currentDate: time.clock() });

  it("a JWT minted before a rotation still verifies after it, through the JWKS and AuthenticateSession; new JWTs carry the new kid", async () => {
    const client = t.client("grpc");
    const created = await client.createSession({ userId: "rotating-user", sessionCustomClaims: { plan: "pro" } });
    const oldKid = decodeProtectedHeader(created.sessionJwt).kid;
    expect(await kidsOf()).toEqual([oldKid]);

    const rotated = await admin().rotateSigningKey({});
    expect(rotated.kid).not.toBe(oldKid);
    expect(rotated.publishedKids).toEqual([rotated.kid, oldKid]);
    expect(await kidsOf()).toEqual([rotated.kid, oldKid]);

    const before = await jwtVerify(created.sessionJwt, createLocalJWKSet(await jwks()), verifyOptions());
    expect(before.payload.plan).toBe("pro");
    expect(before.protectedHeader.kid).toBe(oldKid);
    const refreshed = await client.authenticateSession({
      credential: { case: "sessionJwt", value: created.sessionJwt },
    });
    expect(refreshed.session?.sessionId).toBe(created.session?.sessionId);
    expect(decodeProtectedHeader(refreshed.sessionJwt).kid).toBe(rotated.kid);
    const after = await jwtVerify(refreshed.sessionJwt, createLocalJWKSet(await jwks()), verifyOptions());
    expect(after.payload.sub).toBe("rotating-user");
  });

  it("RotateSigningKey needs a valid API key and changes nothing without one", async () => {
    const kids = await kidsOf();
    for (const apiKey of [null, "not-the-right-key-0123456789"]) {
      const err = await createClient(AdminService, t.transport("connect", apiKey))
        .rotateSigningKey({})
        .then(
          () => undefined,
          (e: unknown) => ConnectError.from(e),
        );
      expect(err?.code).toBe(Code.Unauthenticated);
      expect(err?.findDetails(ErrorDetailSchema)[0]?.reason).toBe("INVALID_API_KEY");
    }
    expect(await kidsOf()).toEqual(kids);
  });

  it("a retired key leaves the JWKS after one JWT lifetime plus the grace period and is deleted at the next rotation", async () => {
    const first = await admin().rotateSigningKey({});
    const retired = first.publishedKids.slice(1);
    expect(retired.length).toBeGreaterThan(0);
    time.advance(retiredKeyLifetimeMs(t.app.config.jwtTtlSeconds) - 1_000);
    await t.app.keys.reload();
    expect(await kidsOf()).toEqual(first.publishedKids);

    time.advance(2_000);
    const second = await admin().rotateSigningKey({});
    expect(second.deletedKeys).toBe(retired.length);
    expect(second.publishedKids).toEqual([second.kid, first.kid]);
    expect(await kidsOf()).toEqual([second.kid, first.kid]);
    const stored = await t.app.database.db.selectFrom("signing_keys").select("kid").execute();
    expect(stored.map((row) => row.kid).sort()).toEqual([second.kid, first.kid].sort());
  });

  it("another replica picks up a rotation by its periodic reload, then signs with the new key", async () => {
    const replica = await createReplica(t, { keyReloadSeconds: 1 });
    try {
      const server = await replica.listen();
      const replicaUrl = `http://127.0.0.1:${server.port}`;
      const before = await kidsOf(replicaUrl);
      const rotated = await admin().rotateSigningKey({});
      await vi.waitFor(async () => expect((await kidsOf(replicaUrl))[0]).toBe(rotated.kid), {
        timeout: 10_000,
        interval: 100,
      });
      expect(await kidsOf(replicaUrl)).toEqual([rotated.kid, ...before]);
      const issued = await replica.sessions.create({
        userId: "replica-user",
        durationMinutes: 60,
        customClaims: {},
        attributes: { ipAddress: "", userAgent: "" },
        roles: [],
      });
      expect(decodeProtectedHeader(issued.sessionJwt).kid).toBe(rotated.kid);
    } finally {
      await replica.close();
    }
  });
});
