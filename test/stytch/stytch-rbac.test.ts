import { ClientError } from "stytch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends } from "../support/backends.js";
import { adminClients, storedSessionsText } from "../users/helpers.js";
import { basic, expectStytchError, PROJECT_ID, type StytchTestApp, startStytchApp } from "./helpers.js";

/** A policy as Stytch's GET /v1/rbac/policy returns it; `stytch_user` is the profile's default role. */
const POLICY = {
  resources: [
    { resource_id: "documents", description: "Shared documents", actions: ["read", "write", "delete"] },
    { resource_id: "images", description: "Images", actions: ["read", "upload"] },
  ],
  roles: [
    {
      role_id: "stytch_user",
      description: "Every user",
      permissions: [{ resource_id: "images", actions: ["read"] }],
    },
    { role_id: "editor", description: "", permissions: [{ resource_id: "documents", actions: ["read", "write"] }] },
    { role_id: "admin", description: "", permissions: [{ resource_id: "documents", actions: ["*"] }] },
  ],
  scopes: [
    { scope: "read:documents", description: "", permissions: [{ resource_id: "documents", actions: ["read"] }] },
  ],
};

/** The policy as AdminService takes it. */
function policyMessage() {
  const permissions = (list: { resource_id: string; actions: string[] }[]) =>
    list.map((p) => ({ resourceId: p.resource_id, actions: p.actions }));
  return {
    resources: POLICY.resources.map((r) => ({
      resourceId: r.resource_id,
      description: r.description,
      actions: r.actions,
    })),
    roles: POLICY.roles.map((r) => ({
      roleId: r.role_id,
      description: r.description,
      permissions: permissions(r.permissions),
    })),
    scopes: POLICY.scopes.map((s) => ({
      scope: s.scope,
      description: s.description,
      permissions: permissions(s.permissions),
    })),
  };
}

/** Awaits a call that must fail with the SDK's own local denial. */
async function expectLocalDenial(call: Promise<unknown>): Promise<void> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ClientError);
  expect((err as ClientError).code).toBe("invalid_permissions");
  expect((err as ClientError).message).toBe(
    "invalid_permissions: User does not have permission to perform the requested action",
  );
}

// The official `stytch` SDK, unmodified, against a running Tessera with JWT_PROFILE=stytch.
describe.each(backends())("stytch SDK RBAC against Tessera on %s", (backend) => {
  let s: StytchTestApp;
  let userCount = 0;
  const newUser = () => `rbac-user-${++userCount}`;
  beforeAll(async () => {
    s = await startStytchApp(backend);
    await adminClients(s.t).admin.setRbacPolicy({ policy: policyMessage() });
  });
  afterAll(() => s?.close());

  it("rbac.policy() returns the policy in Stytch's shape", async () => {
    const res = await s.client.rbac.policy();
    expect(res).toStrictEqual({ status_code: 200, request_id: expect.stringMatching(/^request-id-/), policy: POLICY });
  });

  it("GET /v1/rbac/policy needs the project's Basic credentials", async () => {
    const anonymous = await s.fetch("/v1/rbac/policy", { auth: null });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error_type: "unauthorized_credentials" });
    const wrong = await s.fetch("/v1/rbac/policy", { auth: basic(PROJECT_ID, "not-the-api-key-0000") });
    expect(wrong.status).toBe(401);
    await expectStytchError(
      s.clientWith(PROJECT_ID, "not-the-api-key-0000").rbac.policy(),
      401,
      "unauthorized_credentials",
    );
  });

  describe("sessions.authenticate with authorization_check", () => {
    it("allowed: the response carries the verdict with every granting role", async () => {
      const created = await s.create({ user_id: newUser(), roles: ["editor", "admin"] });
      const res = await s.client.sessions.authenticate({
        session_token: created.session_token,
        authorization_check: { resource_id: "documents", action: "write" },
      });
      expect(res.status_code).toBe(200);
      expect(res.verdict).toStrictEqual({ authorized: true, granting_roles: ["editor", "admin"] });
      expect(res.session.roles).toStrictEqual(["stytch_user", "editor", "admin"]);
      // The default role grants on its own.
      const viaDefault = await s.client.sessions.authenticate({
        session_jwt: res.session_jwt,
        authorization_check: { resource_id: "images", action: "read" },
      });
      expect(viaDefault.verdict).toStrictEqual({ authorized: true, granting_roles: ["stytch_user"] });
    });

    it("denied: 403 consumer_session_authorization_error, and nothing stored changes", async () => {
      const userId = newUser();
      const created = await s.create({ user_id: userId, roles: ["editor"], session_custom_claims: { k: 1 } });
      const before = await storedSessionsText(s.t, userId);
      for (const credential of [{ session_token: created.session_token }, { session_jwt: created.session_jwt }]) {
        const err = await expectStytchError(
          s.client.sessions.authenticate({
            ...credential,
            session_duration_minutes: 600,
            session_custom_claims: { k: 2 },
            authorization_check: { resource_id: "documents", action: "delete" },
          }),
          403,
          "consumer_session_authorization_error",
        );
        expect(err.error_message).toBe("The User is not authorized to perform the requested action on that resource.");
        expect(await storedSessionsText(s.t, userId)).toEqual(before);
      }
    });

    it.each([
      ["not an object", "documents:read"],
      ["without an action", { resource_id: "documents" }],
      ["with an organization_id (B2B only)", { resource_id: "documents", action: "read", organization_id: "o" }],
    ])("a malformed check (%s) is 400 invalid_authorization_check", async (_label, check) => {
      const created = await s.create({ user_id: newUser() });
      const res = await s.fetch("/v1/sessions/authenticate", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ session_token: created.session_token, authorization_check: check }),
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ status_code: 400, error_type: "invalid_authorization_check" });
    });
  });

  describe("sessions.authenticateJwtLocal with authorization_check (policy fetched from /v1/rbac/policy)", () => {
    it("allowed: the session comes back, decided locally by the SDK", async () => {
      const userId = newUser();
      const created = await s.create({ user_id: userId, roles: ["editor"] });
      const local = await s.client.sessions.authenticateJwtLocal({
        session_jwt: created.session_jwt,
        authorization_check: { resource_id: "documents", action: "write" },
      });
      expect(local.session_id).toBe(created.session.session_id);
      expect(local.roles).toStrictEqual(["stytch_user", "editor"]);
      // The SDK fetched the policy from Tessera (and caches it for five minutes).
      expect(s.t.logs.some((line) => line.method === "GET /v1/rbac/policy" && line.code === "ok")).toBe(true);
    });

    it("denied: the SDK's own ClientError invalid_permissions", async () => {
      const created = await s.create({ user_id: newUser(), roles: ["editor"] });
      await expectLocalDenial(
        s.client.sessions.authenticateJwtLocal({
          session_jwt: created.session_jwt,
          authorization_check: { resource_id: "documents", action: "delete" },
        }),
      );
      await expectLocalDenial(
        s.client.sessions.authenticateJwtLocal({
          session_jwt: created.session_jwt,
          authorization_check: { resource_id: "billing", action: "read" },
        }),
      );
    });

    it("a user's roles reach the JWT and so the local check; authenticateJwt falls back to the server's 403", async () => {
      const userId = newUser();
      const created = await s.create({ user_id: userId });
      const check = { resource_id: "documents", action: "delete" };
      await expectLocalDenial(
        s.client.sessions.authenticateJwtLocal({ session_jwt: created.session_jwt, authorization_check: check }),
      );
      // authenticateJwt catches the local denial and asks the server, which denies with Stytch's 403.
      await expectStytchError(
        s.client.sessions.authenticateJwt({ session_jwt: created.session_jwt, authorization_check: check }),
        403,
        "consumer_session_authorization_error",
      );
      await s.client.users.update({ user_id: userId, roles: ["admin"] });
      const refreshed = await s.client.sessions.authenticate({ session_token: created.session_token });
      expect(refreshed.session.roles).toStrictEqual(["stytch_user", "admin"]);
      const local = await s.client.sessions.authenticateJwtLocal({
        session_jwt: refreshed.session_jwt,
        authorization_check: check,
      });
      expect(local.roles).toStrictEqual(["stytch_user", "admin"]);
    });
  });
});
