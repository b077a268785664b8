import type { JsonObject } from "../claims/json.js";

/** Client attributes of a session. */
export interface SessionAttributes {
  readonly ipAddress: string;
  readonly userAgent: string;
}

/** A session as the domain sees it (never holds the token). */
export interface Session {
  readonly id: string;
  readonly userId: string;
  readonly startedAt: Date;
  readonly lastAccessedAt: Date;
  readonly expiresAt: Date;
  readonly revokedAt: Date | null;
  readonly attributes: SessionAttributes;
  readonly roles: readonly string[];
  readonly customClaims: JsonObject;
  readonly claimsVersion: bigint;
}

const MINUTE_MS = 60_000;

/** The expiry of a session extended at `accessedAt` by `minutes` (written in SQL as `extendedExpiry` in the repository). */
export function extendedExpiry(accessedAt: Date, minutes: number): Date {
  return new Date(accessedAt.getTime() + minutes * MINUTE_MS);
}

/** Whether the session can be used at `now`: not revoked and not expired (in SQL: `activeAt` in the repository). */
export function isActive(session: Pick<Session, "revokedAt" | "expiresAt">, now: Date): boolean {
  return session.revokedAt === null && session.expiresAt.getTime() > now.getTime();
}
