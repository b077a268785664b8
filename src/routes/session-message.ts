import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { SessionSchema } from "../../gen/tessera/sessions/v1/session_pb.js";
import type { Session } from "../sessions/session.js";

/** Maps a domain Session to its protobuf message; Dates become Timestamps here. */
export function toSessionMessage(session: Session): MessageInitShape<typeof SessionSchema> {
  return {
    sessionId: session.id,
    userId: session.userId,
    startedAt: timestampFromDate(session.startedAt),
    lastAccessedAt: timestampFromDate(session.lastAccessedAt),
    expiresAt: timestampFromDate(session.expiresAt),
    attributes: { ipAddress: session.attributes.ipAddress, userAgent: session.attributes.userAgent },
    roles: [...session.roles],
    customClaims: session.customClaims,
    claimsVersion: session.claimsVersion,
  };
}
