import { decodePageToken, encodePageToken, validPageSize } from "../page-token.js";
import type { UserRouteDeps, UserServiceImpl } from "./deps.js";
import { toUserMessage } from "./user-message.js";

/** UserService.ListUsers: keyset pages in user_id order. */
export function listUsers(deps: UserRouteDeps): Pick<UserServiceImpl, "listUsers"> {
  return {
    async listUsers(req) {
      const page = await deps.users.list(decodePageToken(req.pageToken), validPageSize(req.pageSize));
      return { users: page.users.map(toUserMessage), nextPageToken: encodePageToken(page.nextAfter) };
    },
  };
}
