import { create } from "@bufbuild/protobuf";
import { SessionSchema } from "../../gen/tessera/sessions/v1/session_pb.js";
import { validUserId } from "../sessions/session-input.js";
import { decodePageToken, encodePageToken, validPageSize } from "../sessions/session-page.js";
import type { RouteDeps, SessionServiceImpl } from "./deps.js";
import { countWithinBudget, encodedSessionSize } from "./response-budget.js";
import { toSessionMessage } from "./session-message.js";

/**
 * SessionService.ListSessions: one keyset page of the user's active sessions,
 * newest first, of at most page_size sessions and LIST_SESSIONS_MAX_RESPONSE_BYTES
 * encoded; next_page_token is set whenever more follow.
 */
export function listSessions(deps: RouteDeps): Pick<SessionServiceImpl, "listSessions"> {
  const { listSessionsDefaultPageSize, listSessionsMaxPageSize, listSessionsMaxResponseBytes } = deps.config;
  return {
    async listSessions(req) {
      const userId = validUserId(req.userId);
      const limit = validPageSize(req.pageSize, {
        defaultSize: listSessionsDefaultPageSize,
        maxSize: listSessionsMaxPageSize,
      });
      const after = req.pageToken === "" ? undefined : decodePageToken(userId, req.pageToken);
      const page = await deps.sessions.list(userId, { limit, after });
      const messages = page.sessions.map((session) => create(SessionSchema, toSessionMessage(session)));
      const count = countWithinBudget(messages.map(encodedSessionSize), listSessionsMaxResponseBytes);
      const last = page.sessions[count - 1];
      const more = page.more || count < page.sessions.length;
      return {
        sessions: messages.slice(0, count),
        nextPageToken:
          more && last !== undefined ? encodePageToken(userId, { startedAt: last.startedAt, sessionId: last.id }) : "",
      };
    },
  };
}
