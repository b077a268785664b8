import type { JsonObject } from "../claims/json.js";

/** A user record: metadata only the backend sets, metadata it may let users influence, and roles. */
export interface User {
  readonly userId: string;
  readonly trustedMetadata: JsonObject;
  readonly untrustedMetadata: JsonObject;
  readonly roles: readonly string[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** 1 on creation, one more on every change; 0 stands for "no record" in compare-and-set. */
  readonly version: bigint;
}

/** The record-less user: what sessions of a user id without a record see (empty metadata, no roles). */
export function emptyUser(userId: string): Pick<User, "userId" | "trustedMetadata" | "untrustedMetadata" | "roles"> {
  return { userId, trustedMetadata: {}, untrustedMetadata: {}, roles: [] };
}
