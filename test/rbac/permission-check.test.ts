import { describe, expect, it } from "vitest";
import { allowedActions, checkPermission, effectiveRoles } from "../../src/rbac/permission-check.js";
import type { RbacPolicy } from "../../src/rbac/rbac-policy.js";

/** The rule as the Stytch SDK writes it (dist/shared/rbac_local.js), to compare against case by case. */
function sdkRule(policy: RbacPolicy, subjectRoles: string[], check: { resource_id: string; action: string }): boolean {
  return policy.roles
    .filter((role) => subjectRoles.includes(role.role_id))
    .flatMap((role) => role.permissions)
    .some(
      (permission) =>
        (permission.actions.includes(check.action) || permission.actions.includes("*")) &&
        check.resource_id === permission.resource_id,
    );
}

const POLICY: RbacPolicy = {
  resources: [
    { resource_id: "documents", description: "Docs", actions: ["read", "write", "delete"] },
    { resource_id: "images", description: "", actions: ["read", "upload"] },
    { resource_id: "billing", description: "", actions: ["view"] },
  ],
  roles: [
    { role_id: "stytch_user", description: "everyone", permissions: [{ resource_id: "images", actions: ["read"] }] },
    { role_id: "reader", description: "", permissions: [{ resource_id: "documents", actions: ["read"] }] },
    {
      role_id: "editor",
      description: "",
      permissions: [
        { resource_id: "documents", actions: ["read", "write"] },
        { resource_id: "images", actions: ["upload"] },
      ],
    },
    { role_id: "admin", description: "", permissions: [{ resource_id: "documents", actions: ["*"] }] },
    { role_id: "empty", description: "a role without permissions", permissions: [] },
  ],
  scopes: [
    { scope: "read:documents", description: "", permissions: [{ resource_id: "documents", actions: ["read"] }] },
  ],
};

describe("checkPermission (the permission rule)", () => {
  it.each<[string, string[], string, string, string[]]>([
    ["an exact action", ["reader"], "documents", "read", ["reader"]],
    ["an action the role lacks", ["reader"], "documents", "write", []],
    ["the wildcard grants any action on its resource", ["admin"], "documents", "delete", ["admin"]],
    ["the wildcard grants an action the resource does not declare", ["admin"], "documents", "archive", ["admin"]],
    ["the wildcard is not a resource wildcard", ["admin"], "images", "read", []],
    ["an unknown resource", ["admin", "editor"], "secrets", "read", []],
    ["a resource id compared exactly (case)", ["reader"], "Documents", "read", []],
    ["an action compared exactly (case)", ["reader"], "documents", "READ", []],
    ["a literal '*' action is granted only by a wildcard", ["reader"], "documents", "*", []],
    ["a role without permissions", ["empty"], "documents", "read", []],
    ["a role the policy does not know", ["ghost"], "documents", "read", []],
    ["no roles at all", [], "documents", "read", []],
    [
      "several granting roles, in policy order",
      ["admin", "reader", "editor"],
      "documents",
      "read",
      ["reader", "editor", "admin"],
    ],
    ["one of several roles grants", ["reader", "editor"], "documents", "write", ["editor"]],
    ["the default role's own permission", ["stytch_user"], "images", "read", ["stytch_user"]],
    ["a role's second permission", ["editor"], "images", "upload", ["editor"]],
    ["a role held twice counts once", ["reader", "reader"], "documents", "read", ["reader"]],
    ["scopes are not roles", ["read:documents"], "documents", "read", []],
  ])("%s", (_label, roles, resourceId, action, granting) => {
    const verdict = checkPermission(POLICY, roles, { resourceId, action });
    expect(verdict).toStrictEqual({ authorized: granting.length > 0, grantingRoles: granting });
    expect(verdict.authorized).toBe(sdkRule(POLICY, roles, { resource_id: resourceId, action }));
  });

  it("an empty policy grants nothing", () => {
    const empty: RbacPolicy = { resources: [], roles: [], scopes: [] };
    expect(checkPermission(empty, ["admin"], { resourceId: "documents", action: "read" })).toStrictEqual({
      authorized: false,
      grantingRoles: [],
    });
  });

  it("a duplicated role id in a policy is reported once (policies are validated, this is belt and braces)", () => {
    const twice: RbacPolicy = { ...POLICY, roles: [...POLICY.roles, ...POLICY.roles] };
    expect(checkPermission(twice, ["reader"], { resourceId: "documents", action: "read" }).grantingRoles).toStrictEqual(
      ["reader"],
    );
  });
});

describe("allowedActions (user.rbac.<resource_id>.actions)", () => {
  it.each<[string, string[], string, string[] | undefined]>([
    ["one role", ["reader"], "documents", ["read"]],
    ["roles combined, in the resource's order", ["editor", "reader"], "documents", ["read", "write"]],
    ["a wildcard expands to every declared action", ["admin"], "documents", ["read", "write", "delete"]],
    ["no permission on a declared resource", ["reader"], "billing", []],
    ["an unknown resource is missing", ["admin"], "secrets", undefined],
    ["a role without permissions", ["empty"], "documents", []],
  ])("%s", (_label, roles, resourceId, expected) => {
    expect(allowedActions(POLICY, roles, resourceId)).toStrictEqual(expected);
  });
});

describe("effectiveRoles", () => {
  it.each<[string, string[], string[] | undefined, string | undefined, string[]]>([
    [
      "the default role first, then the session's, then the user's",
      ["s"],
      ["u"],
      "stytch_user",
      ["stytch_user", "s", "u"],
    ],
    ["each role once", ["a", "b"], ["b", "a", "c"], "a", ["a", "b", "c"]],
    ["no default role", ["s"], ["u"], undefined, ["s", "u"]],
    ["no user record", ["s"], undefined, "stytch_user", ["stytch_user", "s"]],
    ["nothing at all", [], undefined, undefined, []],
  ])("%s", (_label, sessionRoles, userRoles, defaultRole, expected) => {
    expect(effectiveRoles(sessionRoles, userRoles, defaultRole)).toStrictEqual(expected);
  });
});
