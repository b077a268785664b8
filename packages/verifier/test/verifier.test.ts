import { afterEach, describe, expect, it } from "vitest";
import { jwtHeader } from "../../../test/rpc/helpers.js";
import { backends } from "../../../test/support/backends.js";
import { startTestApp, useTestApp } from "../../../test/support/test-app.js";
import type { Verifier } from "../src/index.js";
import { adminClient, FAST_FEED_ENV, pollUntil, startVerifier } from "./helpers.js";

describe.each(backends())("the local verifier on %s", (backend) => {
  const t = useTestApp(backend, FAST_FEED_ENV);
  const open: Verifier[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((v) => v.close()));
  });
  const verifierOf = async (options: Parameters<typeof startVerifier>[1] = {}) => {
    const v = await startVerifier(t, options);
    open.push(v);
    return v;
  };
  const newSession = (userId: string) => t.client().createSession({ userId, sessionDurationMinutes: 60 });

  it("accepts a fresh session JWT, with its session id and claims, while the feed is live", async () => {
    const v = await verifierOf();
    const created = await newSession("v-ok");
    const result = await v.verify(created.sessionJwt);
    expect(result).toMatchObject({ ok: true, sessionId: created.session?.sessionId, stale: false, feed: "live" });
    expect(result.ok && result.claims.sub).toBe("v-ok");
  });

  it("refuses a JWT that is not a valid Tessera JWT, with a reason", async () => {
    const v = await verifierOf();
    const created = await newSession("v-bad");
    const [h, p, s] = created.sessionJwt.split(".");
    const tampered = `${h}.${p}.${(s ?? "").slice(0, -4)}AAAA`;
    expect(await v.verify(tampered)).toMatchObject({ ok: false, reason: "invalid_token" });
    expect(await v.verify("not-a-jwt")).toMatchObject({ ok: false, reason: "invalid_token" });
    const other = await verifierOf({ audience: "someone-else" });
    expect(await other.verify(created.sessionJwt)).toMatchObject({ ok: false, reason: "wrong_issuer_or_audience" });
  });

  it("rejects a JWT once its session is revoked (polled, bounded)", async () => {
    const v = await verifierOf();
    const created = await newSession("v-revoke");
    expect(await v.verify(created.sessionJwt)).toMatchObject({ ok: true });
    await t.client().revokeSession({ target: { case: "sessionId", value: created.session?.sessionId ?? "" } });
    const result = await pollUntil(
      () => v.verify(created.sessionJwt),
      (r) => !r.ok,
    );
    expect(result).toEqual({ ok: false, reason: "revoked", sessionId: created.session?.sessionId, feed: "live" });
  });

  it("builds its deny list from the retained history when it starts", async () => {
    const created = await newSession("v-history");
    await t.client().revokeSession({ target: { case: "sessionId", value: created.session?.sessionId ?? "" } });
    const v = await verifierOf();
    expect(await v.verify(created.sessionJwt)).toMatchObject({ ok: false, reason: "revoked" });
  });

  it("applies the stale-claims policy to a JWT older than a claims patch: reject, flag, ignore", async () => {
    const reject = await verifierOf({ staleClaims: "reject" });
    const flag = await verifierOf({ staleClaims: "flag" });
    const ignore = await verifierOf({ staleClaims: "ignore" });
    const created = await newSession("v-stale");
    const old = created.sessionJwt;
    for (const v of [reject, flag, ignore]) expect(await v.verify(old)).toMatchObject({ ok: true, stale: false });
    await t.client().updateSessionClaims({
      sessionId: created.session?.sessionId ?? "",
      sessionCustomClaims: { plan: "pro" },
    });
    expect(
      await pollUntil(
        () => reject.verify(old),
        (r) => !r.ok,
      ),
    ).toMatchObject({ ok: false, reason: "stale_claims" });
    expect(
      await pollUntil(
        () => flag.verify(old),
        (r) => r.ok && r.stale,
      ),
    ).toMatchObject({ ok: true, stale: true });
    expect(await ignore.verify(old)).toMatchObject({ ok: true, stale: false });

    const fresh = await t.client().authenticateSession({
      credential: { case: "sessionToken", value: created.sessionToken },
    });
    for (const v of [reject, flag, ignore])
      expect(await v.verify(fresh.sessionJwt)).toMatchObject({ ok: true, stale: false });
  });

  it("verifies a JWT signed by a key rotated in after it started (unknown kid refreshes the JWKS)", async () => {
    const v = await verifierOf({ jwksMinRefreshMs: 0 });
    const before = await newSession("v-rotate");
    expect(await v.verify(before.sessionJwt)).toMatchObject({ ok: true });
    const rotated = await adminClient(t).rotateSigningKey({});
    const after = await newSession("v-rotate");
    expect(jwtHeader(after.sessionJwt).kid).not.toBe(jwtHeader(before.sessionJwt).kid);
    expect(jwtHeader(after.sessionJwt).kid).toBe(rotated.kid);
    expect(await v.verify(after.sessionJwt)).toMatchObject({ ok: true, sessionId: after.session?.sessionId });
  });
});

describe.each(backends())("the local verifier when the feed goes down, on %s", (backend) => {
  it("fails closed with reason feed_down, or open saying so, once no message came for feedDownAfterMs", async () => {
    const app = await startTestApp(backend, FAST_FEED_ENV);
    let closed: Verifier | undefined;
    let open: Verifier | undefined;
    let appOpen = true;
    try {
      closed = await startVerifier(app, { feedDownAfterMs: 1000, whenFeedDown: "fail-closed", maxBackoffMs: 200 });
      open = await startVerifier(app, { feedDownAfterMs: 1000, whenFeedDown: "fail-open", maxBackoffMs: 200 });
      const created = await app.client().createSession({ userId: "v-down", sessionDurationMinutes: 60 });
      expect(await closed.verify(created.sessionJwt)).toMatchObject({ ok: true, feed: "live" });
      expect(await open.verify(created.sessionJwt)).toMatchObject({ ok: true, feed: "live" });
      appOpen = false;
      await app.close();
      const c = closed;
      expect(
        await pollUntil(
          () => c.verify(created.sessionJwt),
          (r) => r.feed !== "live",
        ),
      ).toEqual({ ok: false, reason: "feed_down", sessionId: created.session?.sessionId, feed: "down-closed" });
      const o = open;
      expect(
        await pollUntil(
          () => o.verify(created.sessionJwt),
          (r) => r.feed !== "live",
        ),
      ).toMatchObject({
        ok: true,
        sessionId: created.session?.sessionId,
        feed: "down-open",
      });
    } finally {
      await closed?.close();
      await open?.close();
      if (appOpen) await app.close();
    }
  });
});

describe.each(backends())("the local verifier of a Stytch-profile Tessera on %s", (backend) => {
  const projectId = "project-test-00000000-0000-4000-8000-000000000000";
  const t = useTestApp(backend, { ...FAST_FEED_ENV, STYTCH_PROJECT_ID: projectId, JWT_PROFILE: "stytch" });

  it("reads the session claim under https://stytch.com/session and rejects after a revoke", async () => {
    const v = await startVerifier(t, {
      issuer: `stytch.com/${projectId}`,
      audience: projectId,
      namespace: "https://stytch.com/",
    });
    try {
      const created = await t.client().createSession({ userId: "v-stytch", sessionDurationMinutes: 60 });
      expect(await v.verify(created.sessionJwt)).toMatchObject({ ok: true, sessionId: created.session?.sessionId });
      await t.client().revokeSession({ target: { case: "sessionId", value: created.session?.sessionId ?? "" } });
      expect(
        await pollUntil(
          () => v.verify(created.sessionJwt),
          (r) => !r.ok,
        ),
      ).toMatchObject({ ok: false, reason: "revoked" });
    } finally {
      await v.close();
    }
  });
});
