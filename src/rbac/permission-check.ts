import { ANY_ACTION, type AuthorizationCheck, type AuthorizationVerdict, type RbacPolicy } from "./rbac-policy.js";

/**
 * The permission rule, as the Stytch SDK applies it locally
 * (`performBaseRoleAuthorizationCheck`): of the policy's roles that the
 * subject holds, a permission grants when its `resource_id` equals the
 * check's exactly and its actions hold the action or `"*"`. Roles the policy
 * does not know grant nothing; the policy's resource list is not consulted.
 * Pure: the same answer for the same inputs.
 */
export function checkPermission(
  policy: RbacPolicy,
  subjectRoles: readonly string[],
  check: AuthorizationCheck,
): AuthorizationVerdict {
  const held = new Set(subjectRoles);
  const grantingRoles: string[] = [];
  for (const role of policy.roles) {
    if (!held.has(role.role_id) || grantingRoles.includes(role.role_id)) continue;
    const grants = role.permissions.some(
      (permission) =>
        permission.resource_id === check.resourceId &&
        (permission.actions.includes(check.action) || permission.actions.includes(ANY_ACTION)),
    );
    if (grants) grantingRoles.push(role.role_id);
  }
  return { authorized: grantingRoles.length > 0, grantingRoles };
}

/**
 * Every action the subject's roles allow on `resourceId`, in the order the
 * resource declares them (a `"*"` grants them all); undefined when the policy
 * has no such resource. Backs the template variable `user.rbac.<resource_id>.actions`.
 */
export function allowedActions(
  policy: RbacPolicy,
  subjectRoles: readonly string[],
  resourceId: string,
): string[] | undefined {
  const resource = policy.resources.find((candidate) => candidate.resource_id === resourceId);
  if (resource === undefined) return undefined;
  const held = new Set(subjectRoles);
  const granted = new Set<string>();
  for (const role of policy.roles) {
    if (!held.has(role.role_id)) continue;
    for (const permission of role.permissions) {
      if (permission.resource_id === resourceId) for (const action of permission.actions) granted.add(action);
    }
  }
  return granted.has(ANY_ACTION) ? [...resource.actions] : resource.actions.filter((action) => granted.has(action));
}

/**
 * A session's effective roles: the default role (when there is one), then
 * the session's own, then its user's, each once, in that order.
 */
export function effectiveRoles(
  sessionRoles: readonly string[],
  userRoles: readonly string[] | undefined,
  defaultRole: string | undefined,
): string[] {
  const roles = new Set<string>(defaultRole === undefined ? [] : [defaultRole]);
  for (const role of sessionRoles) roles.add(role);
  for (const role of userRoles ?? []) roles.add(role);
  return [...roles];
}
