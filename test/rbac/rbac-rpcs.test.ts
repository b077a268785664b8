import { Code } from "@connectrpc/connect";
import { sql } from "kysely";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { expectFailure, jwtPayload, MINUTE, testClock } from "../rpc/helpers.js";
import { backends } from "../support/backends.js";
import { PROTOCOLS, type TestApp, useTestApp } from "../support/test-app.js";
import { adminClients, storedSessionsText, storedTemplateText, storedUserText } from "../users/helpers.js";

const T0 = new Date("2030-05-06T07:08:09.250Z");
const SESSION_CLAIM = "https://tessera.dev/session";

/** The policy of these tests, as a policy file would hold it (Stytch's shape). */
const POLICY_DOCUMENT = {
  resources: [
    { resource_id: "documents", description: "Shared documents", actions: ["read", "write", "delete"] },
    { resource_id: "images", description: "", actions: ["read", "upload"] },
  ],
  roles: [
    { role_id: "member", description: "every session", permissions: [{ resource_id: "images", actions: ["read"] }] },
    { role_id: "reader", description: "", permissions: [{ resource_id: "documents", actions: ["read"] }] },
    { role_id: "editor", description: "", permissions: [{ resource_id: "documents", actions: ["read", "write"] }] },
    { role_id: "admin", description: "", permissions: [{ resource_id: "documents", actions: ["*"] }] },
  ],
  scopes: [
    { scope: "read:documents", description: "", permissions: [{ resource_id: "documents", actions: ["read"] }] },
  ],
};

/** The same policy as AdminService takes it. */
function policyMessage(document: typeof POLICY_DOCUMENT = POLICY_DOCUMENT) {
  const permissions = (list: { resource_id: string; actions: string[] }[]) =>
    list.map((p) => ({ resourceId: p.resource_id, actions: p.actions }));
  return {
    resources: document.resources.map((r) => ({
      resourceId: r.resource_id,
      description: r.description,
      actions: r.actions,
    })),
    roles: document.roles.map((r) => ({
      roleId: r.role_id,
      description: r.description,
      permissions: permissions(r.permissions),
    })),
    scopes: document.scopes.map((s) => ({
      scope: s.scope,
      description: s.description,
      permissions: permissions(s.permissions),
    })),
  };
}

/** The policy row as PostgreSQL prints it. */
async function storedPolicyText(t: TestApp): Promise<string> {
  const result = await sql<{ row: string }>`select p::text as row from rbac_policy p`.execute(t.app.database.db);
  return result.rows[0]?.row ?? "";
}

/** Roles in a session JWT's session claim. */
function jwtRoles(jwt: string): unknown {
  return (jwtPayload(jwt)[SESSION_CLAIM] as { roles?: unknown }).roles;
}

describe.each(backends())("RBAC through a real server on %s", (backend) => {
  const clock = testClock(T0);
  // One app: the policy is project-wide, so these tests run in order and each sets what it needs.
  const t = useTestApp(
    backend,
    { RBAC_DEFAULT_ROLE: "member", RBAC_POLICY_MAX_BYTES: "4096", CLAIMS_MAX_BYTES: "1024" },
    { clock },
  );

  it("GetRbacPolicy is empty at version 0; SetRbacPolicy stores, versions and returns it as set", async () => {
    const { admin } = adminClients(t);
    const first = await admin.getRbacPolicy({});
    expect(first.version).toBe(0n);
    expect(first.policy).toMatchObject({ resources: [], roles: [], scopes: [] });
    expect(first.updatedAt).toBeUndefined();
    const set = await admin.setRbacPolicy({ policy: policyMessage() });
    expect(set.version).toBe(1n);
    expect(set.updatedAt).toBeDefined();
    const got = await admin.getRbacPolicy({});
    expect(got.version).toBe(1n);
    expect(got.policy?.roles.map((r) => r.roleId)).toEqual(["member", "reader", "editor", "admin"]);
    expect(got.policy?.roles[3]?.permissions[0]).toMatchObject({ resourceId: "documents", actions: ["*"] });
    expect(got.policy?.resources[0]).toMatchObject({ resourceId: "documents", description: "Shared documents" });
    expect(got.policy?.scopes[0]).toMatchObject({ scope: "read:documents" });
  });

  describe.each(PROTOCOLS)("SetRbacPolicy validation over %s", (protocol) => {
    it.each<[string, (p: ReturnType<typeof policyMessage>) => void, string]>([
      [
        "an unknown resource in a permission",
        (p) => {
          p.roles[1]!.permissions[0]!.resourceId = "secrets";
        },
        "roles[1].permissions[0].resource_id",
      ],
      [
        "an action the resource does not declare",
        (p) => {
          p.roles[2]!.permissions[0]!.actions.push("publish");
        },
        "roles[2].permissions[0].actions[2]",
      ],
      [
        "a duplicate role id",
        (p) => {
          p.roles[2]!.roleId = "reader";
        },
        "roles[2]",
      ],
      [
        "a malformed resource id",
        (p) => {
          p.resources[1]!.resourceId = "my images";
        },
        "resources[1].resource_id",
      ],
      [
        "a duplicate resource",
        (p) => {
          p.resources[1]!.resourceId = "documents";
        },
        "resources[1]",
      ],
      [
        "an empty role id",
        (p) => {
          p.roles[0]!.roleId = "";
        },
        "roles[0].role_id",
      ],
    ])("refuses %s with INVALID_RBAC_POLICY naming the entry, changing nothing", async (_label, spoil, entry) => {
      const { admin } = adminClients(t, protocol);
      const before = await storedPolicyText(t);
      const policy = structuredClone(policyMessage());
      spoil(policy);
      const got = await expectFailure(admin.setRbacPolicy({ policy }), Code.InvalidArgument, "INVALID_RBAC_POLICY");
      expect(got.metadata).toMatchObject({ entry });
      expect(got.message).toContain(entry);
      expect(await storedPolicyText(t)).toBe(before);
    });

    it("refuses a policy over RBAC_POLICY_MAX_BYTES with RBAC_POLICY_TOO_LARGE, changing nothing", async () => {
      const { admin } = adminClients(t, protocol);
      const before = await storedPolicyText(t);
      const policy = policyMessage();
      policy.resources[0]!.description = "d".repeat(1024);
      for (const role of policy.roles) role.description = "d".repeat(1024);
      const got = await expectFailure(admin.setRbacPolicy({ policy }), Code.InvalidArgument, "RBAC_POLICY_TOO_LARGE");
      expect(got.metadata).toMatchObject({ limit: "4096" });
      expect(await storedPolicyText(t)).toBe(before);
    });
  });

  describe.each(PROTOCOLS)("authorization checks over %s", (protocol) => {
    it("allowed: the call proceeds and carries the verdict with every granting role", async () => {
      await adminClients(t).admin.setRbacPolicy({ policy: policyMessage() });
      const client = t.client(protocol);
      const userId = `allowed-${protocol}`;
      await adminClients(t).users.updateUser({ userId, roles: { roles: ["admin"] } });
      const created = await client.createSession({ userId, roles: ["editor"] });
      clock.advance(MINUTE);
      const res = await client.authenticateSession({
        credential: { case: "sessionToken", value: created.sessionToken },
        authorizationCheck: { resourceId: "documents", action: "write" },
        sessionCustomClaims: { checked: true },
      });
      expect(res.verdict).toMatchObject({ authorized: true, grantingRoles: ["editor", "admin"] });
      expect(res.session?.customClaims).toEqual({ checked: true });
      expect(res.session?.lastAccessedAt?.seconds).toBe(BigInt(Math.floor(clock().getTime() / 1000)));
      // By JWT too, and the default role's own permission.
      const byJwt = await client.authenticateSession({
        credential: { case: "sessionJwt", value: res.sessionJwt },
        authorizationCheck: { resourceId: "images", action: "read" },
      });
      expect(byJwt.verdict).toMatchObject({ authorized: true, grantingRoles: ["member"] });
      // Without a check there is no verdict.
      const plain = await client.authenticateSession({
        credential: { case: "sessionToken", value: created.sessionToken },
      });
      expect(plain.verdict).toBeUndefined();
    });

    it.each<[string, string, string]>([
      ["an action no role grants", "documents", "delete"],
      ["an unknown resource", "secrets", "read"],
      ["an unknown action", "documents", "archive"],
    ])("denied (%s): PERMISSION_DENIED, and the session row stays byte for byte, patch and duration included", async (_label, resourceId, action) => {
      await adminClients(t).admin.setRbacPolicy({ policy: policyMessage() });
      const client = t.client(protocol);
      const userId = `denied-${protocol}-${resourceId}-${action}`;
      const created = await client.createSession({ userId, roles: ["editor"], sessionCustomClaims: { k: 1 } });
      const before = await storedSessionsText(t, userId);
      clock.advance(MINUTE);
      for (const credential of [
        { case: "sessionToken", value: created.sessionToken } as const,
        { case: "sessionJwt", value: created.sessionJwt } as const,
      ]) {
        const got = await expectFailure(
          client.authenticateSession({
            credential,
            authorizationCheck: { resourceId, action },
            sessionCustomClaims: { k: 2 },
            sessionDurationMinutes: 600,
          }),
          Code.PermissionDenied,
          "PERMISSION_DENIED",
        );
        expect(got.metadata).toMatchObject({ resource_id: resourceId, action });
        expect(await storedSessionsText(t, userId)).toEqual(before);
      }
      // Also when there is nothing but the access to write.
      await expectFailure(
        client.authenticateSession({
          credential: { case: "sessionToken", value: created.sessionToken },
          authorizationCheck: { resourceId, action },
        }),
        Code.PermissionDenied,
        "PERMISSION_DENIED",
      );
      expect(await storedSessionsText(t, userId)).toEqual(before);
    });

    it("a malformed check is INVALID_AUTHORIZATION_CHECK and changes nothing", async () => {
      const client = t.client(protocol);
      const userId = `malformed-${protocol}`;
      const created = await client.createSession({ userId });
      const before = await storedSessionsText(t, userId);
      for (const check of [
        { resourceId: "", action: "read" },
        { resourceId: "documents", action: "" },
        { resourceId: "d".repeat(129), action: "read" },
      ]) {
        await expectFailure(
          client.authenticateSession({
            credential: { case: "sessionToken", value: created.sessionToken },
            authorizationCheck: check,
          }),
          Code.InvalidArgument,
          "INVALID_AUTHORIZATION_CHECK",
        );
      }
      expect(await storedSessionsText(t, userId)).toEqual(before);
    });
  });

  it("effective roles (default, session's, user's) are in every response and JWT; a role change reaches the next JWT", async () => {
    const { admin, users } = adminClients(t);
    await admin.setRbacPolicy({ policy: policyMessage() });
    const client = t.client();
    const userId = "role-change";
    const created = await client.createSession({ userId, roles: ["reader"] });
    expect(created.session?.roles).toEqual(["member", "reader"]);
    expect(jwtRoles(created.sessionJwt)).toEqual(["member", "reader"]);
    const credential = { case: "sessionToken", value: created.sessionToken } as const;
    const write = { resourceId: "documents", action: "write" };
    await expectFailure(
      client.authenticateSession({ credential, authorizationCheck: write }),
      Code.PermissionDenied,
      "PERMISSION_DENIED",
    );

    const updated = await users.updateUser({ userId, roles: { roles: ["editor"] } });
    expect(updated.sessionsUpdated).toBe(1);
    const next = await client.authenticateSession({ credential, authorizationCheck: write });
    expect(next.session?.roles).toEqual(["member", "reader", "editor"]);
    expect(jwtRoles(next.sessionJwt)).toEqual(["member", "reader", "editor"]);
    expect(next.verdict?.grantingRoles).toEqual(["editor"]);
    expect((await client.listSessions({ userId })).sessions[0]?.roles).toEqual(["member", "reader", "editor"]);

    await users.updateUser({ userId, roles: { roles: [] } });
    const after = await client.authenticateSession({ credential });
    expect(jwtRoles(after.sessionJwt)).toEqual(["member", "reader"]);
    await expectFailure(
      client.authenticateSession({ credential, authorizationCheck: write }),
      Code.PermissionDenied,
      "PERMISSION_DENIED",
    );
  });

  it("the JWT length check measures effective roles: a user's roles that would overflow a live session's JWT are refused", async () => {
    const { users } = adminClients(t);
    const client = t.client();
    const userId = "many-roles";
    const created = await client.createSession({ userId });
    const roles = Array.from({ length: 100 }, (_, i) => `${String(i).padStart(3, "0")}${"r".repeat(125)}`);
    const userBefore = await storedUserText(t, userId);
    const sessionsBefore = await storedSessionsText(t, userId);
    const got = await expectFailure(
      users.updateUser({ userId, roles: { roles } }),
      Code.InvalidArgument,
      "CLAIMS_TOO_LARGE",
    );
    expect(got.metadata["session_ids"]).toBe(created.session?.sessionId);
    expect(await storedUserText(t, userId)).toBe(userBefore);
    expect(await storedSessionsText(t, userId)).toEqual(sessionsBefore);
    // Without live sessions the user may hold them, but no session of theirs can start.
    await client.revokeSession({ target: { case: "sessionId", value: created.session?.sessionId ?? "" } });
    await users.updateUser({ userId, roles: { roles } });
    await expectFailure(client.createSession({ userId }), Code.InvalidArgument, "SESSION_JWT_TOO_LARGE");
  });

  it("template variables user.rbac.roles and user.rbac.<resource_id>.actions follow roles and the policy", async () => {
    const { admin, users } = adminClients(t);
    await admin.setRbacPolicy({ policy: policyMessage() });
    await admin.setClaimTemplate({
      template:
        '{"roles": {{ user.rbac.roles }}, "docs": {{ user.rbac.documents.actions }}, "x": {{ user.rbac.nope.actions }}}',
    });
    const client = t.client();
    const userId = "template-rbac";
    await users.updateUser({ userId, roles: { roles: ["reader"] } });
    const created = await client.createSession({ userId });
    // The user's roles with the default one; the session's own roles are not the user's.
    expect(created.session?.customClaims).toEqual({ roles: ["member", "reader"], docs: ["read"] });
    const templateVersion = (await admin.getClaimTemplate({})).claimTemplate?.version ?? 0n;

    // A policy change reaches the next JWT, and raises the template's version (so writes in flight redo their work).
    const widened = structuredClone(POLICY_DOCUMENT);
    widened.roles[1]!.permissions[0]!.actions = ["*"];
    await admin.setRbacPolicy({ policy: policyMessage(widened) });
    expect((await admin.getClaimTemplate({})).claimTemplate?.version).toBe(templateVersion + 1n);
    const next = await client.authenticateSession({
      credential: { case: "sessionToken", value: created.sessionToken },
    });
    expect(next.session?.customClaims).toEqual({ roles: ["member", "reader"], docs: ["read", "write", "delete"] });
    expect(jwtPayload(next.sessionJwt)).toMatchObject({ docs: ["read", "write", "delete"] });

    // A policy that would push a live session's claims over CLAIMS_MAX_BYTES is refused, and nothing changes.
    const huge = structuredClone(POLICY_DOCUMENT);
    huge.resources[0]!.actions = Array.from({ length: 100 }, (_, i) => `action-${i}`);
    const policyBefore = await storedPolicyText(t);
    const templateBefore = await storedTemplateText(t);
    const got = await expectFailure(
      admin.setRbacPolicy({
        policy: policyMessage({ ...huge, roles: [widened.roles[0]!, widened.roles[1]!], scopes: [] }),
      }),
      Code.InvalidArgument,
      "CLAIMS_TOO_LARGE",
    );
    expect(got.metadata).toMatchObject({ session_ids: created.session?.sessionId, limit: "1024" });
    expect(await storedPolicyText(t)).toBe(policyBefore);
    expect(await storedTemplateText(t)).toBe(templateBefore);
    await admin.setClaimTemplate({ template: "" });
  });

  if (backend === "postgres") {
    it("a role change that commits between the decision and the write turns it into a denial, with nothing written", async () => {
      const { admin, users } = adminClients(t);
      await admin.setRbacPolicy({ policy: policyMessage() });
      const client = t.client();
      const userId = "race-user";
      await users.updateUser({ userId, roles: { roles: ["editor"] } });
      const created = await client.createSession({ userId });
      const other = new pg.Client({ connectionString: t.app.config.databaseUrl });
      await other.connect();
      try {
        // Hold the policy row: the authenticate decides (allowed), then its compare-and-set waits on this lock.
        await other.query("begin");
        await other.query("select 1 from rbac_policy where id = 1 for update");
        clock.advance(MINUTE);
        const call = client
          .authenticateSession({
            credential: { case: "sessionToken", value: created.sessionToken },
            authorizationCheck: { resourceId: "documents", action: "write" },
            sessionCustomClaims: { written: true },
          })
          .then(
            () => "allowed",
            (err: unknown) => err,
          );
        await waitForLockWait(other);
        // The role is taken away and committed while the authenticate waits.
        await users.updateUser({ userId, roles: { roles: [] } });
        const before = await storedSessionsText(t, userId);
        await other.query("rollback");
        const outcome = await call;
        expect(outcome).not.toBe("allowed");
        await expectFailure(Promise.reject(outcome), Code.PermissionDenied, "PERMISSION_DENIED");
        expect(await storedSessionsText(t, userId)).toEqual(before);
      } finally {
        await other.end();
      }
    });
  }
});

/** Waits (bounded) until some backend of this database waits for a lock. */
async function waitForLockWait(client: pg.Client): Promise<void> {
  for (let attempt = 0; attempt < 500; attempt += 1) {
    const { rows } = await client.query<{ waiting: string }>(
      "select count(*) as waiting from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
    );
    if (Number(rows[0]?.waiting) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("no statement started waiting for the policy lock");
}
