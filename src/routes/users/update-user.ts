import { validRoles, validUserId } from "../../sessions/session-input.js";
import type { UserRouteDeps, UserServiceImpl } from "./deps.js";
import { toUserMessage } from "./user-message.js";

/** UserService.UpdateUser. */
export function updateUser(deps: UserRouteDeps): Pick<UserServiceImpl, "updateUser"> {
  return {
    async updateUser(req) {
      const updated = await deps.users.update({
        userId: validUserId(req.userId),
        trustedMetadata: req.trustedMetadata,
        untrustedMetadata: req.untrustedMetadata,
        roles: req.roles === undefined ? undefined : validRoles(req.roles.roles),
        expectedVersion: req.expectedVersion,
      });
      return { user: toUserMessage(updated.user), sessionsUpdated: updated.sessionsUpdated };
    },
  };
}
