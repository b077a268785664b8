/**
 * Validation of an RBAC policy document at the edge: a pure function from
 * untrusted JSON to a trusted, normalized RbacPolicy, or an error naming the
 * offending entry (`roles[1].permissions[0].actions[2]`) and never a value
 * the caller did not write as an id.
 */
import { Buffer } from "node:buffer";
import { isJsonObject } from "../claims/json.js";
import { InvalidRbacPolicyError, RbacPolicyTooLargeError } from "../errors.js";
import { ANY_ACTION, type RbacPermission, type RbacPolicy, type RbacResource } from "./rbac-policy.js";

/** Default cap on a policy's compact JSON, in UTF-8 bytes (RBAC_POLICY_MAX_BYTES). */
export const DEFAULT_RBAC_POLICY_MAX_BYTES = 32_768;

/** A resource id: letters, digits, `_` and `-`, so every resource can be named in a template variable. */
export const RESOURCE_ID = /^[A-Za-z0-9_-]{1,128}$/;
/** A role id, scope or action: letters, digits and `_ - . :`, 1 to 128 characters. */
export const RBAC_NAME = /^[A-Za-z0-9_.:-]{1,128}$/;
/** Longest description. */
const MAX_DESCRIPTION = 1_024;

type Entry = Readonly<Record<string, unknown>>;

/**
 * Checks and normalizes a policy: `resources`, `roles` and `scopes` (each
 * optional, default empty) with no other keys; ids well-formed and unique;
 * resource ids not starting with `stytch` (Stytch's prefix for its own);
 * every permission names a declared resource and actions it declares, or
 * `"*"`. Throws RbacPolicyTooLargeError or InvalidRbacPolicyError.
 */
export function validateRbacPolicy(value: unknown, maxBytes: number = DEFAULT_RBAC_POLICY_MAX_BYTES): RbacPolicy {
  const size = Buffer.byteLength(JSON.stringify(value) ?? "", "utf8");
  if (size > maxBytes) throw new RbacPolicyTooLargeError(size, maxBytes);
  const root = entry(value, "policy", ["resources", "roles", "scopes"], []);
  const resources = list(root, "resources", "resources").map((item, index) => {
    const at = `resources[${index}]`;
    return resourceOf(entry(item, at, ["resource_id", "description", "actions"], ["resource_id"]), at);
  });
  const declared = new Map<string, RbacResource>();
  for (const [index, resource] of resources.entries()) {
    if (declared.has(resource.resource_id)) {
      throw invalid(`resources[${index}]`, `resource_id "${resource.resource_id}" is declared twice`);
    }
    declared.set(resource.resource_id, resource);
  }
  const roles = list(root, "roles", "roles").map((item, index) => {
    const at = `roles[${index}]`;
    const role = entry(item, at, ["role_id", "description", "permissions"], ["role_id"]);
    return {
      role_id: name(role, "role_id", at),
      description: description(role, at),
      permissions: permissionsOf(role, at, declared),
    };
  });
  unique(
    roles.map((role) => role.role_id),
    "roles",
    "role_id",
  );
  const scopes = list(root, "scopes", "scopes").map((item, index) => {
    const at = `scopes[${index}]`;
    const scope = entry(item, at, ["scope", "description", "permissions"], ["scope"]);
    return {
      scope: name(scope, "scope", at),
      description: description(scope, at),
      permissions: permissionsOf(scope, at, declared),
    };
  });
  unique(
    scopes.map((scope) => scope.scope),
    "scopes",
    "scope",
  );
  return { resources, roles, scopes };
}

function resourceOf(resource: Entry, at: string): RbacResource {
  const id = resource.resource_id;
  if (typeof id !== "string" || !RESOURCE_ID.test(id)) {
    throw invalid(`${at}.resource_id`, "resource_id must be 1 to 128 letters, digits, '_' or '-'");
  }
  if (id.toLowerCase().startsWith("stytch")) {
    throw invalid(`${at}.resource_id`, `resource_id "${id}" starts with "stytch", a prefix kept for Stytch's own`);
  }
  const actions = strings(resource, "actions", `${at}.actions`);
  for (const [index, action] of actions.entries()) {
    if (action === ANY_ACTION) throw invalid(`${at}.actions[${index}]`, `"*" is a wildcard of permissions only`);
    if (!RBAC_NAME.test(action))
      throw invalid(`${at}.actions[${index}]`, "an action must be 1 to 128 letters, digits, '_', '-', '.' or ':'");
  }
  unique(actions, `${at}.actions`, "action");
  return { resource_id: id, description: description(resource, at), actions };
}

function permissionsOf(owner: Entry, at: string, declared: ReadonlyMap<string, RbacResource>): RbacPermission[] {
  const permissions = list(owner, "permissions", `${at}.permissions`).map((item, index) => {
    const where = `${at}.permissions[${index}]`;
    const permission = entry(item, where, ["resource_id", "actions"], ["resource_id", "actions"]);
    const resourceId = permission.resource_id;
    if (typeof resourceId !== "string") throw invalid(`${where}.resource_id`, "resource_id must be a string");
    const resource = declared.get(resourceId);
    if (resource === undefined) {
      throw invalid(`${where}.resource_id`, `resource "${resourceId.slice(0, 128)}" is not declared in resources`);
    }
    const actions = strings(permission, "actions", `${where}.actions`);
    if (actions.length === 0) throw invalid(`${where}.actions`, "a permission needs at least one action");
    for (const [actionIndex, action] of actions.entries()) {
      if (action !== ANY_ACTION && !resource.actions.includes(action)) {
        throw invalid(
          `${where}.actions[${actionIndex}]`,
          `resource "${resourceId}" does not declare action "${action.slice(0, 128)}"`,
        );
      }
    }
    unique(actions, `${where}.actions`, "action");
    return { resource_id: resourceId, actions };
  });
  unique(
    permissions.map((permission) => permission.resource_id),
    `${at}.permissions`,
    "resource_id",
  );
  return permissions;
}

/** An object with only `allowed` keys and every `required` one. */
function entry(value: unknown, at: string, allowed: readonly string[], required: readonly string[]): Entry {
  if (!isJsonObject(value)) throw invalid(at, "must be a JSON object");
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key))
      throw invalid(at, `unknown field "${key.slice(0, 64)}"; allowed: ${allowed.join(", ")}`);
  }
  for (const key of required) if (!Object.hasOwn(value, key)) throw invalid(at, `${key} is required`);
  return value;
}

/** An optional array field (absent: empty). */
function list(owner: Entry, key: string, at: string): unknown[] {
  const value = Object.hasOwn(owner, key) ? owner[key] : undefined;
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid(at, `${key} must be an array`);
  return value;
}

/** A required array of strings. */
function strings(owner: Entry, key: string, at: string): string[] {
  const value = owner[key];
  if (!Array.isArray(value)) throw invalid(at, `${key} must be an array of strings`);
  for (const [index, item] of value.entries()) {
    if (typeof item !== "string") throw invalid(`${at}[${index}]`, "must be a string");
  }
  return [...(value as string[])];
}

/** A role id or scope. */
function name(owner: Entry, key: string, at: string): string {
  const value = owner[key];
  if (typeof value !== "string" || !RBAC_NAME.test(value)) {
    throw invalid(`${at}.${key}`, `${key} must be 1 to 128 letters, digits, '_', '-', '.' or ':'`);
  }
  return value;
}

/** An optional description (absent: empty). */
function description(owner: Entry, at: string): string {
  const value = Object.hasOwn(owner, "description") ? owner.description : undefined;
  if (value === undefined) return "";
  if (typeof value !== "string" || value.length > MAX_DESCRIPTION) {
    throw invalid(`${at}.description`, `description must be a string of at most ${MAX_DESCRIPTION} characters`);
  }
  return value;
}

function unique(values: readonly string[], at: string, what: string): void {
  const seen = new Set<string>();
  for (const [index, value] of values.entries()) {
    if (seen.has(value)) throw invalid(`${at}[${index}]`, `${what} "${value}" appears twice`);
    seen.add(value);
  }
}

function invalid(at: string, detail: string): InvalidRbacPolicyError {
  return new InvalidRbacPolicyError(at, detail);
}
