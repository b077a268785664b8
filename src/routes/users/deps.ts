import type { ServiceImpl } from "@connectrpc/connect";
import type { UserService } from "../../../gen/tessera/users/v1/user_service_pb.js";
import type { Users } from "../../users/user.service.js";

/** What the UserService handlers need from the app. */
export interface UserRouteDeps {
  readonly users: Users;
}

/** The full UserService implementation; each RPC file returns its slice. */
export type UserServiceImpl = ServiceImpl<typeof UserService>;
