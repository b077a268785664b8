import { validUserId } from "../../sessions/session-input.js";
import type { UserRouteDeps, UserServiceImpl } from "./deps.js";

/** UserService.DeleteUser. */
export function deleteUser(deps: UserRouteDeps): Pick<UserServiceImpl, "deleteUser"> {
  return {
    async deleteUser(req) {
      return { sessionsRevoked: await deps.users.delete(validUserId(req.userId)) };
    },
  };
}
