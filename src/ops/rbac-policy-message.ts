import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type {
  GetRbacPolicyResponseSchema,
  RbacPermission as RbacPermissionMessage,
  RbacPolicy as RbacPolicyMessage,
} from "../../gen/tessera/admin/v1/admin_service_pb.js";
import type { RbacPermission, RbacPolicy } from "../rbac/rbac-policy.js";
import type { StoredRbacPolicy } from "../rbac/rbac-policy.repository.js";

/** A policy message as the policy document (Stytch's shape) that validation reads; none is the empty policy. */
export function policyDocumentOf(message: RbacPolicyMessage | undefined): Record<string, unknown> {
  const permissions = (list: readonly RbacPermissionMessage[]) =>
    list.map((permission) => ({ resource_id: permission.resourceId, actions: [...permission.actions] }));
  return {
    resources: (message?.resources ?? []).map((resource) => ({
      resource_id: resource.resourceId,
      description: resource.description,
      actions: [...resource.actions],
    })),
    roles: (message?.roles ?? []).map((role) => ({
      role_id: role.roleId,
      description: role.description,
      permissions: permissions(role.permissions),
    })),
    scopes: (message?.scopes ?? []).map((scope) => ({
      scope: scope.scope,
      description: scope.description,
      permissions: permissions(scope.permissions),
    })),
  };
}

/** The fields Get- and SetRbacPolicyResponse share. */
type RbacPolicyResponse = Omit<MessageInitShape<typeof GetRbacPolicyResponseSchema>, "$typeName">;

/** Maps the stored policy to the fields of Get/SetRbacPolicyResponse. */
export function toRbacPolicyResponse(stored: StoredRbacPolicy): RbacPolicyResponse {
  return {
    policy: toPolicyMessage(stored.policy),
    version: stored.version,
    ...(stored.updatedAt === null ? {} : { updatedAt: timestampFromDate(stored.updatedAt) }),
  };
}

function toPolicyMessage(policy: RbacPolicy): RbacPolicyResponse["policy"] {
  const permissions = (list: readonly RbacPermission[]) =>
    list.map((permission) => ({ resourceId: permission.resource_id, actions: [...permission.actions] }));
  return {
    resources: policy.resources.map((resource) => ({
      resourceId: resource.resource_id,
      description: resource.description,
      actions: [...resource.actions],
    })),
    roles: policy.roles.map((role) => ({
      roleId: role.role_id,
      description: role.description,
      permissions: permissions(role.permissions),
    })),
    scopes: policy.scopes.map((scope) => ({
      scope: scope.scope,
      description: scope.description,
      permissions: permissions(scope.permissions),
    })),
  };
}
