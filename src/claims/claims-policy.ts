/** Limits and the reserved namespace applied to custom claims. */
export interface ClaimsPolicy {
  readonly namespace: string;
  readonly maxBytes: number;
  readonly maxDepth: number;
}

/** The policy Tessera uses unless configured otherwise. */
export const DEFAULT_CLAIMS_POLICY: ClaimsPolicy = {
  namespace: "https://tessera.dev/",
  maxBytes: 4096,
  maxDepth: 32,
};

/** Registered JWT claim names that custom claims may never set or delete. */
export const RESERVED_CLAIMS = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"] as const;

const reserved: ReadonlySet<string> = new Set(RESERVED_CLAIMS);

/** Why a top-level claim name is reserved: a registered JWT claim, the policy's namespace, or not at all. */
export function reservedClaimRule(key: string, policy: ClaimsPolicy): "registered" | "namespace" | undefined {
  if (reserved.has(key)) return "registered";
  // An empty namespace means "no namespace reserved", not "every key reserved".
  if (policy.namespace !== "" && key.startsWith(policy.namespace)) return "namespace";
  return undefined;
}

/** True if a top-level claim name is a registered JWT claim or lies in the policy's namespace. */
export function isReservedClaim(key: string, policy: ClaimsPolicy): boolean {
  return reservedClaimRule(key, policy) !== undefined;
}
