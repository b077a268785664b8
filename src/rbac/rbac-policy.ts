/**
 * The project's RBAC policy, shaped exactly as Stytch's `GET /v1/rbac/policy`
 * returns it (snake_case field names): a document operators write, stored as
 * is, and served to the Stytch SDK, whose local check reads it unchanged.
 */

/** What a role or scope may do on one resource; `"*"` in `actions` means every action. */
export interface RbacPermission {
  readonly resource_id: string;
  readonly actions: readonly string[];
}

/** A resource and the actions it declares. */
export interface RbacResource {
  readonly resource_id: string;
  readonly description: string;
  readonly actions: readonly string[];
}

/** A role: a name for a set of permissions. */
export interface RbacRole {
  readonly role_id: string;
  readonly description: string;
  readonly permissions: readonly RbacPermission[];
}

/** A scope (Stytch's M2M and connected apps), kept and served as Stytch has it. */
export interface RbacScope {
  readonly scope: string;
  readonly description: string;
  readonly permissions: readonly RbacPermission[];
}

/** The whole policy. */
export interface RbacPolicy {
  readonly resources: readonly RbacResource[];
  readonly roles: readonly RbacRole[];
  readonly scopes: readonly RbacScope[];
}

/** The policy in force before any is set: nothing is granted. */
export const EMPTY_RBAC_POLICY: RbacPolicy = Object.freeze({ resources: [], roles: [], scopes: [] });

/** The wildcard action of a permission. */
export const ANY_ACTION = "*";

/** What an authorization check asks: may the subject do `action` on `resource_id`? */
export interface AuthorizationCheck {
  readonly resourceId: string;
  readonly action: string;
}

/** The answer to an authorization check. */
export interface AuthorizationVerdict {
  readonly authorized: boolean;
  /** Every role of the subject that grants the action, in policy order; empty when denied. */
  readonly grantingRoles: readonly string[];
}
