import type { ConnectRouter } from "@connectrpc/connect";
import { UserService } from "../../../gen/tessera/users/v1/user_service_pb.js";
import { registerMethods } from "../index.js";
import { deleteUser } from "./delete-user.js";
import type { UserRouteDeps } from "./deps.js";
import { getUser } from "./get-user.js";
import { listUsers } from "./list-users.js";
import { updateUser } from "./update-user.js";

/** Registers every UserService RPC on the router (all need an API key). */
export function registerUserService(router: ConnectRouter, deps: UserRouteDeps): void {
  registerMethods(router, UserService, {
    ...getUser(deps),
    ...updateUser(deps),
    ...deleteUser(deps),
    ...listUsers(deps),
  });
}
