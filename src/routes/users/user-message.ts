import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { UserSchema } from "../../../gen/tessera/users/v1/user_pb.js";
import type { User } from "../../users/user.js";

/** Maps a domain User to its protobuf message; Dates become Timestamps here. */
export function toUserMessage(user: User): MessageInitShape<typeof UserSchema> {
  return {
    userId: user.userId,
    trustedMetadata: user.trustedMetadata,
    untrustedMetadata: user.untrustedMetadata,
    roles: [...user.roles],
    createdAt: timestampFromDate(user.createdAt),
    updatedAt: timestampFromDate(user.updatedAt),
    version: user.version,
  };
}
