import { validUserId } from "../sessions/session-input.js";
import { STYTCH_METADATA_MAX_KEYS } from "../users/metadata-merge.js";
import type { StytchDeps, StytchEndpoint } from "./stytch-endpoint.js";
import { toStytchUser } from "./stytch-user.js";
import { metadataFrom, refuseUnsupportedUserFields, rolesFrom } from "./stytch-user-request.js";

/**
 * PUT /v1/users/:user_id: metadata merged at the top level as Stytch documents it (a top-level null deletes,
 * any other value replaces the key's whole value), at most 20 top-level keys, and roles replaced when given.
 * Creates the record when there is none: Tessera has no login products, where Stytch creates its users.
 */
export function updateUser(deps: StytchDeps): StytchEndpoint {
  return {
    method: "PUT",
    path: "/v1/users/:user_id",
    async handle({ params, body }) {
      const userId = validUserId(params.user_id ?? "");
      refuseUnsupportedUserFields(body);
      const { user } = await deps.users.update({
        userId,
        trustedMetadata: metadataFrom(body, "trusted_metadata"),
        untrustedMetadata: metadataFrom(body, "untrusted_metadata"),
        roles: rolesFrom(body),
        expectedVersion: undefined,
        metadataMerge: "top-level",
        metadataMaxKeys: STYTCH_METADATA_MAX_KEYS,
      });
      return { user_id: userId, emails: [], phone_numbers: [], crypto_wallets: [], user: toStytchUser(userId, user) };
    },
  };
}
