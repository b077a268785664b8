import { createHmac, createPublicKey } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { decodeJwt, generateKeyPair, SignJWT } from "jose";
import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/database.js";
import { backends, createTestDatabase, type TestDatabase } from "../support/backends.js";
import { PROTOCOLS, startTestApp, type TestApp } from "../support/test-app.js";
import { outcomeOf, storedSnapshot } from "./hostile-support.js";

const b64 = (value: unknown) =>
  Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

/** Counts every statement the app sends to its database. */
class QueryCounter implements KyselyPlugin {
  count = 0;
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.count++;
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

describe.each(backends())("JWT attacks and API keys on %s", (backend) => {
  let t: TestApp;
  let extraDb: TestDatabase;
  const counter = new QueryCounter();
  let victim: { token: string; jwt: string; sessionId: string };

  beforeAll(async () => {
    // The app runs on a database handle that counts statements, so "never reaches the database" can fail.
    extraDb = await createTestDatabase(backend);
    const opened = await openDatabase({
      databaseUrl: extraDb.env.DATABASE_URL,
      dataDir: extraDb.env.DATA_DIR as string,
      poolSize: 5,
    });
    // Background work polls the database too: the webhook dispatcher's lease ticks are put a minute apart.
    const quiet = { WEBHOOK_POLL_INTERVAL_MS: "60000", WEBHOOK_LEASE_MS: "600000" };
    t = await startTestApp(backend, quiet, { database: { ...opened, db: opened.db.withPlugin(counter) } });
    const created = await t.client("grpc").createSession({ userId: "victim", sessionCustomClaims: { role: "user" } });
    victim = { token: created.sessionToken, jwt: created.sessionJwt, sessionId: created.session?.sessionId ?? "" };
  });
  afterAll(async () => {
    await t?.close();
    await extraDb?.drop();
  });

  /** Presents `jwt` to AuthenticateSession and RevokeSession; both must refuse it with `code`/`reason`, changing nothing. */
  async function expectRefused(jwt: string, code: Code, reason: string) {
    const client = t.client("grpc");
    const before = await storedSnapshot(t);
    const auth = await outcomeOf(
      client.authenticateSession({
        credential: { case: "sessionJwt", value: jwt },
        sessionCustomClaims: { role: "admin" },
      }),
    );
    const revoke = await outcomeOf(client.revokeSession({ target: { case: "sessionJwt", value: jwt } }));
    expect(auth).toMatchObject({ code, reason });
    expect(revoke).toMatchObject({ code, reason });
    expect(await storedSnapshot(t)).toBe(before);
    // The victim's session is untouched and still works.
    await client.authenticateSession({ credential: { case: "sessionToken", value: victim.token } });
  }

  it("refuses alg none", async () => {
    const [h] = victim.jwt.split(".");
    const kid = (JSON.parse(Buffer.from(h as string, "base64url").toString()) as { kid: string }).kid;
    const forged = `${b64({ alg: "none", typ: "JWT", kid })}.${b64(decodeJwt(victim.jwt))}.`;
    await expectRefused(forged, Code.Unauthenticated, "INVALID_SESSION_JWT");
  });

  it("refuses HS256 signed with the public key as the HMAC secret", async () => {
    const active = t.app.keys.published()[0];
    if (active === undefined) throw new Error("no published key");
    const pem = createPublicKey({ key: active.jwk as never, format: "jwk" }).export({ type: "spki", format: "pem" });
    for (const secret of [pem, JSON.stringify(active.jwk)]) {
      const signingInput = `${b64({ alg: "HS256", typ: "JWT", kid: active.kid })}.${b64(decodeJwt(victim.jwt))}`;
      const mac = createHmac("sha256", secret).update(signingInput).digest("base64url");
      await expectRefused(`${signingInput}.${mac}`, Code.Unauthenticated, "INVALID_SESSION_JWT");
    }
  });

  it("refuses a JWT signed by an unknown key id", async () => {
    const { privateKey } = await generateKeyPair("ES256");
    const forged = await new SignJWT(decodeJwt(victim.jwt))
      .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: "attacker-key" })
      .sign(privateKey);
    await expectRefused(forged, Code.Unauthenticated, "INVALID_SESSION_JWT");
  });

  it.each([
    ["another issuer", { iss: "evil" }],
    ["another audience", { aud: "someone-else" }],
  ])("refuses a correctly signed JWT of %s", async (_name, override) => {
    const key = t.app.keys.active();
    const forged = await new SignJWT({ ...decodeJwt(victim.jwt), ...override })
      .setProtectedHeader({ alg: key.alg, typ: "JWT", kid: key.kid })
      .sign(key.privateKey);
    await expectRefused(forged, Code.Unauthenticated, "INVALID_SESSION_JWT");
  });

  it("refuses a tampered payload that names another session", async () => {
    const other = await t.client("grpc").createSession({ userId: "other" });
    const [h, , s] = victim.jwt.split(".");
    const claims = decodeJwt(victim.jwt);
    const sessionClaim = Object.keys(claims).find((k) => k.endsWith("session")) as string;
    const tampered = {
      ...claims,
      [sessionClaim]: { ...(claims[sessionClaim] as object), id: other.session?.sessionId },
    };
    await expectRefused(`${h}.${b64(tampered)}.${s}`, Code.Unauthenticated, "INVALID_SESSION_JWT");
    // The other session was neither patched nor revoked.
    const again = await t
      .client("grpc")
      .authenticateSession({ credential: { case: "sessionToken", value: other.sessionToken } });
    expect(again.session?.customClaims).toEqual({});
  });

  it.each([
    "",
    "garbage",
    "a.b.c",
    "....",
    "eyJhbGciOiJFUzI1NiJ9.%%%.###",
    "x".repeat(8192),
  ])("refuses garbage that is not a JWT (%#)", async (garbage) => {
    const client = t.client("grpc");
    const before = await storedSnapshot(t);
    for (const outcome of [
      await outcomeOf(client.authenticateSession({ credential: { case: "sessionJwt", value: garbage } })),
      await outcomeOf(client.revokeSession({ target: { case: "sessionJwt", value: garbage } })),
    ]) {
      expect([Code.Unauthenticated, Code.InvalidArgument]).toContain(outcome.code);
      expect(["INVALID_SESSION_JWT", "MISSING_SESSION_CREDENTIAL"]).toContain(outcome.reason);
    }
    expect(await storedSnapshot(t)).toBe(before);
  });

  it("gives no new JWT for a revoked session's JWT; revoking it again succeeds and keeps the first revocation time", async () => {
    const client = t.client("grpc");
    const s = await client.createSession({ userId: "revoked" });
    await client.revokeSession({ target: { case: "sessionJwt", value: s.sessionJwt } });
    const before = await storedSnapshot(t);
    const auth = await outcomeOf(
      client.authenticateSession({
        credential: { case: "sessionJwt", value: s.sessionJwt },
        sessionCustomClaims: { x: 1 },
      }),
    );
    expect(auth).toMatchObject({ code: Code.NotFound, reason: "SESSION_NOT_FOUND" });
    await client.revokeSession({ target: { case: "sessionJwt", value: s.sessionJwt } });
    expect(await storedSnapshot(t)).toBe(before);
  });

  it.each(
    PROTOCOLS,
  )("never reaches the database for a call over %s without an API key or with a wrong one", async (protocol) => {
    const good = t.client(protocol);
    const start = counter.count;
    await good.authenticateSession({ credential: { case: "sessionToken", value: victim.token } });
    // The counter does see a call that passes the API key check.
    expect(counter.count).toBeGreaterThan(start);
    for (const apiKey of [null, "wrong-api-key-0123456789abcdef", "", "Bearer"]) {
      const client = t.client(protocol, apiKey);
      const before = counter.count;
      const outcomes = [
        await outcomeOf(client.createSession({ userId: "intruder" })),
        await outcomeOf(
          client.authenticateSession({
            credential: { case: "sessionToken", value: victim.token },
            sessionCustomClaims: { x: 1 },
          }),
        ),
        await outcomeOf(client.authenticateSession({ credential: { case: "sessionJwt", value: victim.jwt } })),
        await outcomeOf(client.listSessions({ userId: "victim" })),
        await outcomeOf(client.revokeSession({ target: { case: "sessionId", value: victim.sessionId } })),
      ];
      for (const outcome of outcomes)
        expect(outcome).toMatchObject({ code: Code.Unauthenticated, reason: "INVALID_API_KEY" });
      expect(counter.count).toBe(before);
    }
  });
});
