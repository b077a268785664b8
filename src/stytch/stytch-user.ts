import type { User } from "../users/user.js";

/**
 * A timestamp as Stytch's API sends it: RFC 3339 UTC with whole seconds (`2021-12-29T12:33:09Z`),
 * the fraction cut off.
 */
export function toStytchTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/**
 * A user as Stytch's `User` type declares it, from the user id and its record (undefined: a user id with
 * sessions but no record, shown with empty metadata and roles and no `created_at`). Tessera's users have no
 * login factors, name or lock, so the lists Stytch requires are empty, `name` holds empty strings, `status` is
 * `active` and `is_locked` false; `password`, `external_id` and the lock times are left out.
 */
export function toStytchUser(userId: string, user: User | undefined): Record<string, unknown> {
  return {
    user_id: userId,
    emails: [],
    status: "active",
    phone_numbers: [],
    webauthn_registrations: [],
    providers: [],
    totps: [],
    crypto_wallets: [],
    biometric_registrations: [],
    is_locked: false,
    roles: [...(user?.roles ?? [])],
    name: { first_name: "", middle_name: "", last_name: "" },
    ...(user === undefined ? {} : { created_at: toStytchTime(user.createdAt) }),
    trusted_metadata: user?.trustedMetadata ?? {},
    untrusted_metadata: user?.untrustedMetadata ?? {},
  };
}
