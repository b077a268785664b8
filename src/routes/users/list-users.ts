import { validPageSize } from "../../sessions/session-page.js";
import type { UserRouteDeps, UserServiceImpl } from "./deps.js";
import { toUserMessage } from "./user-message.js";
import { decodePageToken, encodePageToken, USER_PAGE_SIZES } from "./user-page-token.js";

/** UserService.ListUsers: keyset pages in user_id order. */
export function listUsers(deps: UserRouteDeps): Pick<UserServiceImpl, "listUsers"> {
  return {
    async listUsers(req) {
      const page = await deps.users.list(decodePageToken(req.pageToken), validPageSize(req.pageSize, USER_PAGE_SIZES));
      return { users: page.users.map(toUserMessage), nextPageToken: encodePageToken(page.nextAfter) };
    },
  };
}
