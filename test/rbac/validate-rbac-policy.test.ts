import { describe, expect, it } from "vitest";
import { InvalidRbacPolicyError, RbacPolicyTooLargeError } from "../../src/errors.js";
import { validateRbacPolicy } from "../../src/rbac/validate-rbac-policy.js";

const RESOURCES = [
  { resource_id: "documents", description: "Docs", actions: ["read", "write"] },
  { resource_id: "images", actions: ["read"] },
];

function withRoles(roles: unknown[]): Record<string, unknown> {
  return { resources: RESOURCES, roles };
}

function expectInvalid(document: unknown, entry: string, messagePart: string): InvalidRbacPolicyError {
  let caught: unknown;
  try {
    validateRbacPolicy(document);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(InvalidRbacPolicyError);
  const err = caught as InvalidRbacPolicyError;
  expect({ reason: err.reason, kind: err.kind, entry: err.metadata["entry"] }).toStrictEqual({
    reason: "INVALID_RBAC_POLICY",
    kind: "invalid_argument",
    entry,
  });
  expect(err.message).toContain(messagePart);
  return err;
}

describe("validateRbacPolicy", () => {
  it("normalizes a valid policy: missing lists and descriptions become empty", () => {
    const policy = validateRbacPolicy(
      withRoles([{ role_id: "editor", permissions: [{ resource_id: "documents", actions: ["read", "*"] }] }]),
    );
    expect(policy).toStrictEqual({
      resources: [
        { resource_id: "documents", description: "Docs", actions: ["read", "write"] },
        { resource_id: "images", description: "", actions: ["read"] },
      ],
      roles: [
        {
          role_id: "editor",
          description: "",
          permissions: [{ resource_id: "documents", actions: ["read", "*"] }],
        },
      ],
      scopes: [],
    });
    expect(validateRbacPolicy({})).toStrictEqual({ resources: [], roles: [], scopes: [] });
  });

  it("accepts Stytch's default role id and scopes with colons", () => {
    const policy = validateRbacPolicy({
      resources: RESOURCES,
      roles: [{ role_id: "stytch_user", description: "", permissions: [] }],
      scopes: [
        { scope: "read:documents", description: "", permissions: [{ resource_id: "documents", actions: ["read"] }] },
      ],
    });
    expect(policy.roles[0]?.role_id).toBe("stytch_user");
    expect(policy.scopes[0]?.scope).toBe("read:documents");
  });

  it.each<[string, unknown, string, string]>([
    ["not an object", [], "policy", "JSON object"],
    ["an unknown top-level field", { resources: [], rules: [] }, "policy", 'unknown field "rules"'],
    ["resources not an array", { resources: {} }, "resources", "must be an array"],
    ["a resource that is not an object", { resources: ["documents"] }, "resources[0]", "JSON object"],
    ["a resource without an id", { resources: [{ actions: [] }] }, "resources[0]", "resource_id is required"],
    [
      "a resource id with a space",
      { resources: [{ resource_id: "my docs", actions: [] }] },
      "resources[0].resource_id",
      "resource_id must be",
    ],
    [
      "an empty resource id",
      { resources: [{ resource_id: "", actions: [] }] },
      "resources[0].resource_id",
      "resource_id must be",
    ],
    [
      "a resource id of 129 characters",
      { resources: [{ resource_id: "r".repeat(129), actions: [] }] },
      "resources[0].resource_id",
      "resource_id must be",
    ],
    [
      "a resource id with Stytch's prefix",
      { resources: [{ resource_id: "stytch_docs", actions: [] }] },
      "resources[0].resource_id",
      '"stytch"',
    ],
    [
      "a duplicate resource",
      { resources: [RESOURCES[0], RESOURCES[0]] },
      "resources[1]",
      'resource_id "documents" is declared twice',
    ],
    ["a resource without actions", { resources: [{ resource_id: "r" }] }, "resources[0].actions", "array of strings"],
    [
      "a non-string action",
      { resources: [{ resource_id: "r", actions: [1] }] },
      "resources[0].actions[0]",
      "must be a string",
    ],
    [
      "a wildcard declared by a resource",
      { resources: [{ resource_id: "r", actions: ["*"] }] },
      "resources[0].actions[0]",
      "wildcard",
    ],
    [
      "a malformed action",
      { resources: [{ resource_id: "r", actions: ["read all"] }] },
      "resources[0].actions[0]",
      "an action must be",
    ],
    [
      "a duplicate action",
      { resources: [{ resource_id: "r", actions: ["a", "a"] }] },
      "resources[0].actions[1]",
      'action "a" appears twice',
    ],
    [
      "a description that is not a string",
      { resources: [{ resource_id: "r", actions: [], description: 1 }] },
      "resources[0].description",
      "description",
    ],
    [
      "a description over 1024 characters",
      { resources: [{ resource_id: "r", actions: [], description: "d".repeat(1025) }] },
      "resources[0].description",
      "description",
    ],
    [
      "an unknown field of a resource",
      { resources: [{ resource_id: "r", actions: [], owner: "x" }] },
      "resources[0]",
      'unknown field "owner"',
    ],
    ["a role without an id", withRoles([{ permissions: [] }]), "roles[0]", "role_id is required"],
    ["a malformed role id", withRoles([{ role_id: "an editor" }]), "roles[0].role_id", "role_id must be"],
    [
      "a duplicate role",
      withRoles([{ role_id: "a" }, { role_id: "b" }, { role_id: "a" }]),
      "roles[2]",
      'role_id "a" appears twice',
    ],
    [
      "permissions not an array",
      withRoles([{ role_id: "a", permissions: {} }]),
      "roles[0].permissions",
      "must be an array",
    ],
    [
      "a permission of an unknown resource",
      withRoles([{ role_id: "a", permissions: [{ resource_id: "secrets", actions: ["read"] }] }]),
      "roles[0].permissions[0].resource_id",
      'resource "secrets" is not declared',
    ],
    [
      "a permission with an undeclared action",
      withRoles([{ role_id: "ed", permissions: [{ resource_id: "images", actions: ["read", "write"] }] }]),
      "roles[0].permissions[0].actions[1]",
      'resource "images" does not declare action "write"',
    ],
    [
      "a permission without actions",
      withRoles([{ role_id: "a", permissions: [{ resource_id: "images", actions: [] }] }]),
      "roles[0].permissions[0].actions",
      "at least one action",
    ],
    [
      "a permission without resource_id",
      withRoles([{ role_id: "a", permissions: [{ actions: ["read"] }] }]),
      "roles[0].permissions[0]",
      "resource_id is required",
    ],
    [
      "a duplicate action in a permission",
      withRoles([{ role_id: "a", permissions: [{ resource_id: "images", actions: ["read", "read"] }] }]),
      "roles[0].permissions[0].actions[1]",
      "appears twice",
    ],
    [
      "two permissions of one resource",
      withRoles([
        {
          role_id: "a",
          permissions: [
            { resource_id: "images", actions: ["read"] },
            { resource_id: "images", actions: ["*"] },
          ],
        },
      ]),
      "roles[0].permissions[1]",
      'resource_id "images" appears twice',
    ],
    [
      "an unknown field of a permission",
      withRoles([{ role_id: "a", permissions: [{ resource_id: "images", actions: ["read"], effect: "deny" }] }]),
      "roles[0].permissions[0]",
      'unknown field "effect"',
    ],
    [
      "a scope of an unknown resource",
      { resources: RESOURCES, scopes: [{ scope: "s", permissions: [{ resource_id: "x", actions: ["*"] }] }] },
      "scopes[0].permissions[0].resource_id",
      "not declared",
    ],
    [
      "a duplicate scope",
      { resources: RESOURCES, scopes: [{ scope: "s" }, { scope: "s" }] },
      "scopes[1]",
      'scope "s" appears twice',
    ],
  ])("refuses %s, naming the entry", (_label, document, entry, messagePart) => {
    expectInvalid(document, entry, messagePart);
  });

  it("refuses a policy over the size limit before looking inside it", () => {
    let caught: unknown;
    try {
      validateRbacPolicy(
        { resources: [{ resource_id: "r", description: "d".repeat(300), actions: [] }], junk: 1 },
        256,
      );
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RbacPolicyTooLargeError);
    expect((caught as RbacPolicyTooLargeError).metadata).toMatchObject({ limit: "256" });
  });
});
