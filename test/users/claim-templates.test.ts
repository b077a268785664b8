import { Code } from "@connectrpc/connect";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { expectFailure, storedRow } from "../rpc/helpers.js";
import { backends } from "../support/backends.js";
import { PROTOCOLS, useTestApp } from "../support/test-app.js";
import { adminClients, storedSessionsText, storedTemplateText, storedUserText } from "./helpers.js";

const TEMPLATE = `{
  "plan": {{ user.trusted_metadata.plan }},
  "org": {"id": {{ user.trusted_metadata.org_id }}, "tier": {{ user.trusted_metadata.tier }}}
}`;

/** Custom claims of a JWT: the payload without registered claims and the session claim. */
function customClaimsOf(jwt: string): Record<string, unknown> {
  const { iss: _i, sub: _s, aud: _a, exp: _e, nbf: _n, iat: _t, ...rest } = decodeJwt(jwt);
  return Object.fromEntries(Object.entries(rest).filter(([key]) => !key.startsWith("https://tessera.dev/")));
}

describe.each(backends())("custom claim templates and claim updates on %s", (backend) => {
  // One app per backend: the template is project-wide, so these tests run in order and each sets what it needs.
  const t = useTestApp(backend, { CLAIMS_MAX_BYTES: "200" });

  it("GetClaimTemplate is empty at version 0 before any is set; SetClaimTemplate stores and versions it", async () => {
    const { admin } = adminClients(t);
    const first = await admin.getClaimTemplate({});
    expect(first.claimTemplate).toMatchObject({ template: "", version: 0n });
    const set = await admin.setClaimTemplate({ template: TEMPLATE });
    expect(set.claimTemplate).toMatchObject({ template: TEMPLATE, version: 1n });
    expect((await admin.getClaimTemplate({})).claimTemplate?.template).toBe(TEMPLATE);
    const cleared = await admin.setClaimTemplate({ template: "" });
    expect(cleared.claimTemplate).toMatchObject({ template: "", version: 2n });
  });

  it.each([
    ['{\n  "a": 1,\n  "b": {{ user.nope }}\n}', "unknown_variable", "3", "8"],
    ['{\n  "a": 1,,\n}', "syntax", "2", "10"],
    ['{\n  "sub": {{ user.user_id }}\n}', "reserved_claim", "2", "3"],
    ["{\n  {{ user.user_id }}: 1\n}", "variable_as_key", "2", "3"],
  ])("refuses an invalid template with INVALID_CLAIM_TEMPLATE naming line and column (%#), changing nothing", async (text, problem, line, column) => {
    const { admin } = adminClients(t);
    const before = await storedTemplateText(t);
    const got = await expectFailure(
      admin.setClaimTemplate({ template: text }),
      Code.InvalidArgument,
      "INVALID_CLAIM_TEMPLATE",
    );
    expect(got.metadata).toMatchObject({ problem, line, column });
    expect(await storedTemplateText(t)).toBe(before);
  });

  it("the named example: template, session patch, then a metadata change; the next JWT carries the composition", async () => {
    const { admin, users } = adminClients(t);
    const client = t.client();
    await admin.setClaimTemplate({ template: TEMPLATE });
    const userId = "billing-user";
    await users.updateUser({ userId, trustedMetadata: { plan: "pro", org_id: 1, tier: "gold" } });
    const created = await client.createSession({ userId });
    expect(created.session?.customClaims).toEqual({ plan: "pro", org: { id: 1, tier: "gold" } });
    const credential = { case: "sessionToken", value: created.sessionToken } as const;
    const patched = await client.authenticateSession({
      credential,
      sessionCustomClaims: { org: { tier: null }, x: 1 },
    });
    expect(patched.session?.customClaims).toEqual({ plan: "pro", org: { id: 1 }, x: 1 });
    const updated = await users.updateUser({ userId, trustedMetadata: { plan: "team", tier: "silver" } });
    expect(updated.sessionsUpdated).toBe(1);
    const next = await client.authenticateSession({ credential });
    expect(customClaimsOf(next.sessionJwt)).toEqual({ plan: "team", org: { id: 1 }, x: 1 });
    expect(next.session?.customClaims).toEqual({ plan: "team", org: { id: 1 }, x: 1 });
    // A JWT once minted never changes; the user change raised claims_version so it reads as stale.
    expect(customClaimsOf(patched.sessionJwt)).toEqual({ plan: "pro", org: { id: 1 }, x: 1 });
    expect(next.session?.claimsVersion).toBe((patched.session?.claimsVersion ?? 0n) + 1n);
  });

  it("a template change reaches every live session at its next JWT, and a missing variable leaves its claim out", async () => {
    const { admin } = adminClients(t);
    const client = t.client();
    await admin.setClaimTemplate({ template: "" });
    const created = await client.createSession({ userId: "template-change", sessionCustomClaims: { own: 1 } });
    expect(created.session?.customClaims).toEqual({ own: 1 });
    await admin.setClaimTemplate({ template: '{"uid": {{ user.user_id }}, "plan": {{ user.trusted_metadata.plan }}}' });
    const next = await client.authenticateSession({
      credential: { case: "sessionToken", value: created.sessionToken },
    });
    expect(customClaimsOf(next.sessionJwt)).toEqual({ uid: "template-change", own: 1 });
    expect(customClaimsOf(created.sessionJwt)).toEqual({ own: 1 });
  });

  it("refuses a user change that would push a live session over the claims limit, naming it and changing nothing", async () => {
    const { admin, users } = adminClients(t);
    await admin.setClaimTemplate({ template: '{"bio": {{ user.trusted_metadata.bio }}}' });
    const userId = "too-large-user";
    await users.updateUser({ userId, trustedMetadata: { bio: "short" } });
    const created = await t.client().createSession({ userId, sessionCustomClaims: { pad: "p".repeat(100) } });
    const userBefore = await storedUserText(t, userId);
    const sessionsBefore = await storedSessionsText(t, userId);
    const got = await expectFailure(
      users.updateUser({ userId, trustedMetadata: { bio: "b".repeat(150) } }),
      Code.InvalidArgument,
      "CLAIMS_TOO_LARGE",
    );
    expect(got.metadata.session_ids).toBe(created.session?.sessionId);
    expect(got.message).not.toContain("bbbb");
    expect(await storedUserText(t, userId)).toBe(userBefore);
    expect(await storedSessionsText(t, userId)).toEqual(sessionsBefore);
  });

  it("refuses a template that would push a live session over the limit, naming the first offenders", async () => {
    const { admin } = adminClients(t);
    await admin.setClaimTemplate({ template: "" });
    const created = await t
      .client()
      .createSession({ userId: "template-offender", sessionCustomClaims: { pad: "p".repeat(150) } });
    const before = await storedTemplateText(t);
    const got = await expectFailure(
      admin.setClaimTemplate({ template: `{"extra": "${"e".repeat(60)}"}` }),
      Code.InvalidArgument,
      "CLAIMS_TOO_LARGE",
    );
    expect(got.metadata.session_ids?.split(",")).toContain(created.session?.sessionId);
    expect(await storedTemplateText(t)).toBe(before);
    await t.client().revokeSession({ target: { case: "sessionId", value: created.session?.sessionId ?? "" } });
  });

  it("a patch whose effective claims (template output included) would pass the limit is refused, row unchanged", async () => {
    const { admin, users } = adminClients(t);
    await admin.setClaimTemplate({ template: '{"bio": {{ user.trusted_metadata.bio }}}' });
    const userId = "patch-over-template";
    await users.updateUser({ userId, trustedMetadata: { bio: "b".repeat(120) } });
    const created = await t.client().createSession({ userId });
    const before = await storedRow(t, created.session?.sessionId ?? "");
    await expectFailure(
      t.client().authenticateSession({
        credential: { case: "sessionToken", value: created.sessionToken },
        sessionCustomClaims: { pad: "p".repeat(90) },
      }),
      Code.InvalidArgument,
      "CLAIMS_TOO_LARGE",
    );
    expect(await storedRow(t, created.session?.sessionId ?? "")).toStrictEqual(before);
  });

  describe.each(PROTOCOLS)("claim updates without the session's credential over %s", (protocol) => {
    it("UpdateSessionClaims patches by session id, raises claims_version and leaves last_accessed_at and expiry", async () => {
      const { admin } = adminClients(t, protocol);
      await admin.setClaimTemplate({ template: "" });
      const client = t.client(protocol);
      const created = await client.createSession({
        userId: `admin-${protocol}`,
        sessionCustomClaims: { a: 1, n: { x: 1 } },
      });
      const id = created.session?.sessionId ?? "";
      const res = await client.updateSessionClaims({ sessionId: id, sessionCustomClaims: { a: null, n: { y: 2 } } });
      expect(res.session?.customClaims).toEqual({ n: { x: 1, y: 2 } });
      expect(res.session?.claimsVersion).toBe(1n);
      expect(res.session?.lastAccessedAt).toEqual(created.session?.lastAccessedAt);
      expect(res.session?.expiresAt).toEqual(created.session?.expiresAt);
      const next = await client.authenticateSession({
        credential: { case: "sessionToken", value: created.sessionToken },
      });
      expect(customClaimsOf(next.sessionJwt)).toEqual({ n: { x: 1, y: 2 } });
    });

    it("UpdateSessionClaims refuses a stale expected_claims_version, a reserved claim and an unknown session, changing nothing", async () => {
      const client = t.client(protocol);
      const created = await client.createSession({ userId: `admin-bad-${protocol}`, sessionCustomClaims: { a: 1 } });
      const id = created.session?.sessionId ?? "";
      const before = await storedRow(t, id);
      await expectFailure(
        client.updateSessionClaims({ sessionId: id, sessionCustomClaims: { b: 1 }, expectedClaimsVersion: 5n }),
        Code.Aborted,
        "CLAIMS_VERSION_MISMATCH",
      );
      await expectFailure(
        client.updateSessionClaims({ sessionId: id, sessionCustomClaims: { sub: "x" } }),
        Code.InvalidArgument,
        "RESERVED_CLAIM",
      );
      await expectFailure(
        client.updateSessionClaims({ sessionId: "session-nope", sessionCustomClaims: { b: 1 } }),
        Code.NotFound,
        "SESSION_NOT_FOUND",
      );
      expect(await storedRow(t, id)).toStrictEqual(before);
    });

    it("UpdateUserSessionsClaims patches every active session of the user, all or nothing", async () => {
      const client = t.client(protocol);
      const userId = `fanout-${protocol}`;
      const small = await Promise.all([1, 2].map((i) => client.createSession({ userId, sessionCustomClaims: { i } })));
      const res = await client.updateUserSessionsClaims({ userId, sessionCustomClaims: { locked: true } });
      expect(res.sessions.map((s) => s.customClaims).sort((a, b) => Number(a?.i) - Number(b?.i))).toEqual([
        { i: 1, locked: true },
        { i: 2, locked: true },
      ]);
      expect(res.sessions.every((s) => s.claimsVersion === 1n)).toBe(true);
      // One session that cannot take the patch: nothing changes for any of them.
      await client.createSession({ userId, sessionCustomClaims: { pad: "p".repeat(150) } });
      const before = await storedSessionsText(t, userId);
      await expectFailure(
        client.updateUserSessionsClaims({ userId, sessionCustomClaims: { more: "m".repeat(40) } }),
        Code.InvalidArgument,
        "CLAIMS_TOO_LARGE",
      );
      expect(await storedSessionsText(t, userId)).toEqual(before);
      expect(small).toHaveLength(2);
    });
  });
});
