import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import { AdminService, type ClaimTemplateSchema } from "../../gen/tessera/admin/v1/admin_service_pb.js";
import type { KeyStore } from "../keys/key-store.js";
import type { Logger } from "../logger.js";
import type { RbacPolicies } from "../rbac/rbac-policies.js";
import type { StoredClaimTemplate } from "../templates/claim-template.repository.js";
import type { ClaimTemplates } from "../templates/claim-templates.js";
import { policyDocumentOf, toRbacPolicyResponse } from "./rbac-policy-message.js";

/** What AdminService needs from the app. */
export interface AdminDeps {
  readonly keys: KeyStore;
  readonly templates: ClaimTemplates;
  readonly rbac: RbacPolicies;
  readonly logger: Logger;
}

/** Maps the stored template to its message. */
function toClaimTemplateMessage(template: StoredClaimTemplate): MessageInitShape<typeof ClaimTemplateSchema> {
  return {
    template: template.source,
    version: template.version,
    ...(template.updatedAt === null ? {} : { updatedAt: timestampFromDate(template.updatedAt) }),
  };
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
    async setClaimTemplate(req) {
      const stored = await deps.templates.set(req.template);
      deps.logger.info({ version: String(stored.version), cleared: stored.source === "" }, "claim template set");
      return { claimTemplate: toClaimTemplateMessage(stored) };
    },
    async getClaimTemplate() {
      return { claimTemplate: toClaimTemplateMessage(await deps.templates.get()) };
    },
    async setRbacPolicy(req) {
      const stored = await deps.rbac.set(policyDocumentOf(req.policy));
      deps.logger.info({ version: String(stored.version) }, "RBAC policy set");
      return toRbacPolicyResponse(stored);
    },
    async getRbacPolicy() {
      return toRbacPolicyResponse(await deps.rbac.get());
    },
  });
}
