import type { JsonObject } from "../claims/json.js";
import { effectiveRoles } from "../rbac/permission-check.js";
import type { User } from "../users/user.js";
import type { Session } from "./session.js";
import type { StoredSession } from "./session.repository.js";

/**
 * A stored session as callers and its JWT see it: with `customClaims`, and
 * its effective roles (the default role, its own, and `user`'s, by default
 * the user record read with it), without the storage-only parts.
 */
export function sessionView(
  stored: StoredSession,
  customClaims: JsonObject,
  defaultRole: string | undefined,
  user: User | undefined = stored.user,
): Session {
  const { overlay: _overlay, user: _user, templateVersion: _templateVersion, roles, ...fields } = stored;
  return { ...fields, roles: effectiveRoles(roles, user?.roles, defaultRole), customClaims };
}
