/**
 * The variables a claim template may use: a table of roots, each accepting some dotted paths and reading a value
 * for them from the render context. Adding a variable family (say `user.rbac.roles`) is adding a row; nothing in
 * the parser or renderer changes. A reader returns undefined for "missing"; it must not throw.
 */
import { allowedActions } from "../../rbac/permission-check.js";
import type { RbacPolicy } from "../../rbac/rbac-policy.js";
import type { JsonObject, JsonValue } from "../json.js";
import { getOwn, isJsonObject } from "../json.js";

/** Reads a variable's value from the render context; undefined (or null) means the value is missing. */
export type TemplateReader<C> = (context: C) => JsonValue | undefined;

/** One family of template variables. */
export interface ClaimTemplateRoot<C> {
  /** How the family is written in documentation and error messages, e.g. `user.trusted_metadata[.<path>]`. */
  readonly pattern: string;
  /** A reader for the variable with these dot-separated segments, or undefined if the path is not this root's. */
  readonly compile: (segments: readonly string[]) => TemplateReader<C> | undefined;
}

/** The user data the default roots read; absent metadata or roles make their variables missing. */
export interface ClaimTemplateUser {
  readonly userId: string;
  readonly trustedMetadata?: JsonObject | null;
  readonly untrustedMetadata?: JsonObject | null;
  readonly roles?: readonly string[] | null;
  /**
   * The user's RBAC view: its roles (the default role and the user's own) and, when the template reads
   * `user.rbac.<resource_id>.actions`, the policy; absent makes the `user.rbac.*` variables missing.
   */
  readonly rbac?: { readonly roles: readonly string[]; readonly policy?: RbacPolicy } | null;
}

/** A root matching exactly the dotted `name`, e.g. `user.user_id`. */
export function valueRoot<C>(name: string, read: TemplateReader<C>): ClaimTemplateRoot<C> {
  const expected = name.split(".");
  return {
    pattern: name,
    compile: (segments) => (sameSegments(segments, expected) ? read : undefined),
  };
}

/**
 * A root matching `name` (the whole value) and `name.<path>`: the path walks own keys of nested objects;
 * a step into anything but an object (an array, a scalar, nothing) makes the variable missing.
 */
export function objectRoot<C>(name: string, read: TemplateReader<C>): ClaimTemplateRoot<C> {
  const expected = name.split(".");
  return {
    pattern: `${name}[.<path>]`,
    compile: (segments) => {
      if (!sameSegments(segments.slice(0, expected.length), expected)) return undefined;
      const rest = segments.slice(expected.length);
      return (context) => readPath(read(context), rest);
    },
  };
}

/** The pattern of the per-resource actions variable, `user.rbac.<resource_id>.actions`. */
const RBAC_ACTIONS_PATTERN = "user.rbac.<resource_id>.actions";

/**
 * `user.rbac.<resource_id>.actions`: every action the user's roles allow on that resource, in the order the
 * resource declares them; missing when the policy has no such resource.
 */
export const rbacActionsRoot: ClaimTemplateRoot<ClaimTemplateUser> = {
  pattern: RBAC_ACTIONS_PATTERN,
  compile: (segments) => {
    const [user, rbac, resourceId, actions] = segments;
    if (segments.length !== 4 || user !== "user" || rbac !== "rbac" || actions !== "actions") return undefined;
    if (resourceId === undefined) return undefined;
    return (context) =>
      context.rbac?.policy === undefined
        ? undefined
        : allowedActions(context.rbac.policy, context.rbac.roles, resourceId);
  },
};

/** Whether a template with these variables reads the RBAC policy (so a policy change can change its output). */
export function readsRbacPolicy(variables: readonly string[]): boolean {
  return variables.some((variable) => rbacActionsRoot.compile(variable.split(".")) !== undefined);
}

/** The variables of Stytch's consumer custom claim templates. */
export const USER_TEMPLATE_ROOTS: readonly ClaimTemplateRoot<ClaimTemplateUser>[] = Object.freeze([
  valueRoot<ClaimTemplateUser>("user.user_id", (user) => user.userId),
  objectRoot<ClaimTemplateUser>("user.trusted_metadata", (user) => user.trustedMetadata ?? undefined),
  objectRoot<ClaimTemplateUser>("user.untrusted_metadata", (user) => user.untrustedMetadata ?? undefined),
  valueRoot<ClaimTemplateUser>("user.roles", (user) => (Array.isArray(user.roles) ? [...user.roles] : undefined)),
  valueRoot<ClaimTemplateUser>("user.rbac.roles", (user) => (user.rbac ? [...user.rbac.roles] : undefined)),
  rbacActionsRoot,
]);

/** The value at `path` under `value`, following own keys of objects only; undefined when any step is missing. */
export function readPath(value: JsonValue | undefined, path: readonly string[]): JsonValue | undefined {
  let current = value;
  for (const segment of path) {
    if (!isJsonObject(current)) return undefined;
    current = getOwn(current, segment);
  }
  return current;
}

function sameSegments(actual: readonly string[], expected: readonly string[]): boolean {
  return actual.length === expected.length && actual.every((segment, index) => segment === expected[index]);
}
