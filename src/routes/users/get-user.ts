import { validUserId } from "../../sessions/session-input.js";
import type { UserRouteDeps, UserServiceImpl } from "./deps.js";
import { toUserMessage } from "./user-message.js";

/** UserService.GetUser. */
export function getUser(deps: UserRouteDeps): Pick<UserServiceImpl, "getUser"> {
  return {
    async getUser(req) {
      return { user: toUserMessage(await deps.users.get(validUserId(req.userId))) };
    },
  };
}
