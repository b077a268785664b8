import type { ConnectRouter } from "@connectrpc/connect";
import { AdminService } from "../../gen/tessera/admin/v1/admin_service_pb.js";
import type { KeyStore } from "../keys/key-store.js";
import type { Logger } from "../logger.js";

/** What AdminService needs from the app. */
export interface AdminDeps {
  readonly keys: KeyStore;
  readonly logger: Logger;
}

/** Registers tessera.admin.v1.AdminService (API key required, like every non-public RPC). */
export function registerAdminService(router: ConnectRouter, deps: AdminDeps): void {
  router.service(AdminService, {
    async rotateSigningKey() {
      const rotation = await deps.keys.rotate();
      const publishedKids = deps.keys.published().map((key) => key.kid);
      deps.logger.info({ kid: rotation.kid, deleted_keys: rotation.deleted }, "signing key rotated");
      return { kid: rotation.kid, publishedKids, deletedKeys: rotation.deleted };
    },
  });
}
