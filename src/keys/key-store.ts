import { createPrivateKey, type JsonWebKey, type KeyObject, randomUUID } from "node:crypto";
import { type CryptoKey, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import type { Kysely } from "kysely";
import type { Clock } from "../clock.js";
import type { JwtAlgorithm } from "../config.js";
import type { DatabaseSchema, SigningKeyRow } from "../db/schema.js";
import { KeyRotationTooSoonError } from "../errors.js";
import { insertEvent } from "../events/event.repository.js";
import { signatureLength } from "../tokens/jwt-length.js";
import * as repo from "./signing-key.repository.js";

/** A key that signs new session JWTs. */
export interface ActiveKey {
  readonly kid: string;
  readonly alg: JwtAlgorithm;
  /** A node:crypto key, so signing is synchronous (src/tokens/jws-sign.ts). */
  readonly privateKey: KeyObject;
  /** Characters of the base64url signature this key makes (fixed by algorithm and key size). */
  readonly signatureLength: number;
}

/** A public key that verifies session JWTs, as published in the JWKS. */
export interface PublicKey {
  readonly kid: string;
  readonly alg: JwtAlgorithm;
  readonly jwk: JWK;
  readonly key: CryptoKey;
}

/** Options of createKeyStore. */
export interface KeyStoreOptions {
  readonly algorithm: JwtAlgorithm;
  /** A retired key stays published this long after it stopped signing. */
  readonly retiredKeyLifetimeMs: number;
  readonly clock: Clock;
  /** A rotation is refused until the newest key is this old. */
  readonly minRotationIntervalMs: number;
  /** A rotation is refused while this many keys are published (it would publish one more). */
  readonly maxPublishedKeys: number;
}

/** Signing keys kept in the database and shared by every replica. */
export interface KeyStore {
  /** Creates the first key (or one of the configured algorithm) if there is none, then loads. */
  init(): Promise<void>;
  /** The key that signs now. */
  active(): ActiveKey;
  /** Keys that verify: the active one and recently retired ones. */
  published(): readonly PublicKey[];
  /** The published key with this kid, reloading from the database once if unknown. */
  find(kid: string): Promise<PublicKey | undefined>;
  /** Re-reads keys from the database (picks up rotations by other replicas). */
  reload(): Promise<void>;
  /**
   * Makes a new active key; the previous one stays published for retiredKeyLifetimeMs.
   * Keys retired longer ago than that are deleted in the same transaction.
   * Refused with KeyRotationTooSoonError while the newest key is younger than
   * minRotationIntervalMs or maxPublishedKeys are published; checked under the
   * table lock, so every replica sees the same limits.
   */
  rotate(): Promise<KeyRotation>;
}

/** The outcome of KeyStore.rotate. */
export interface KeyRotation {
  /** Key id of the new active key. */
  readonly kid: string;
  /** How many keys retired beyond the publication window were deleted. */
  readonly deleted: number;
}

const MIN_RELOAD_INTERVAL_MS = 1_000;

/** Grace after a JWT lifetime during which a retired key stays published. */
export const RETIRED_KEY_GRACE_SECONDS = 3_600;

/** How long a retired key stays in the JWKS: one JWT lifetime plus the grace period. */
export function retiredKeyLifetimeMs(jwtTtlSeconds: number): number {
  return (jwtTtlSeconds + RETIRED_KEY_GRACE_SECONDS) * 1_000;
}

/** Builds the key store over `db`. Private keys never leave it. */
export function createKeyStore(db: Kysely<DatabaseSchema>, options: KeyStoreOptions): KeyStore {
  let activeKey: ActiveKey | undefined;
  let publicKeys: PublicKey[] = [];
  // Keys are immutable once stored, so each kid is imported once, not on every reload.
  let imported = new Map<string, PublicKey>();
  let lastReload = 0;

  async function createKey(trx: Kysely<DatabaseSchema>): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair(options.algorithm, { extractable: true });
    const kid = randomUUID();
    const base = { kid, alg: options.algorithm, use: "sig" };
    await repo.insertKey(trx, {
      kid,
      alg: options.algorithm,
      privateJwk: { ...(await exportJWK(privateKey)), ...base },
      publicJwk: { ...(await exportJWK(publicKey)), ...base },
      createdAt: options.clock(),
    });
    return kid;
  }

  /** Throws KeyRotationTooSoonError when a limit refuses a rotation at `now`; call under the table lock. */
  async function checkRotationAllowed(trx: Kysely<DatabaseSchema>, now: Date, retiredAfter: Date): Promise<void> {
    const newest = await repo.newestKeyCreatedAt(trx);
    if (newest !== undefined && now.getTime() - newest.getTime() < options.minRotationIntervalMs) {
      const next = new Date(newest.getTime() + options.minRotationIntervalMs);
      throw new KeyRotationTooSoonError("KEY_ROTATION_MIN_INTERVAL_SECONDS", next, now);
    }
    const published = await repo.listUsableKeys(trx, retiredAfter);
    if (published.length >= options.maxPublishedKeys) {
      // Oldest retirement first: once enough of these have left the JWKS, one more key fits.
      const retired = published
        .map(retiredTime)
        .filter(Number.isFinite)
        .sort((a, b) => a - b);
      // At most one key is active, and maxPublishedKeys >= 2, so this retired key always exists.
      const leaving = retired[published.length - options.maxPublishedKeys] ?? retiredAfter.getTime();
      const next = new Date(leaving + options.retiredKeyLifetimeMs);
      throw new KeyRotationTooSoonError("MAX_PUBLISHED_SIGNING_KEYS", next, now);
    }
  }

  async function reload(): Promise<void> {
    const now = options.clock();
    const rows = await repo.listUsableKeys(db, new Date(now.getTime() - options.retiredKeyLifetimeMs));
    const activeRow = rows.find((row) => row.retired_at === null);
    if (activeRow === undefined) throw new Error("no active signing key");
    // Published newest first: the active key, then retired ones by when they stopped signing.
    rows.sort((a, b) => Math.sign(retiredTime(b) - retiredTime(a)) || 0);
    if (activeKey?.kid !== activeRow.kid) {
      const alg = activeRow.alg as JwtAlgorithm;
      activeKey = {
        kid: activeRow.kid,
        alg,
        privateKey: createPrivateKey({ key: activeRow.private_jwk as JsonWebKey, format: "jwk" }),
        signatureLength: signatureLength(alg, activeRow.public_jwk),
      };
    }
    publicKeys = await Promise.all(rows.map((row) => imported.get(row.kid) ?? toPublicKey(row)));
    imported = new Map(publicKeys.map((key) => [key.kid, key]));
    lastReload = Date.now();
  }

  return {
    async init() {
      await db.transaction().execute(async (trx) => {
        await repo.lockKeys(trx);
        const current = await repo.findActiveKey(trx);
        if (current?.alg === options.algorithm) return;
        if (current !== undefined) await repo.retireActiveKeys(trx, options.clock());
        await createKey(trx);
      });
      await reload();
    },
    active() {
      if (activeKey === undefined) throw new Error("key store not initialised");
      return activeKey;
    },
    published: () => publicKeys,
    async find(kid) {
      const known = publicKeys.find((k) => k.kid === kid);
      if (known !== undefined || Date.now() - lastReload < MIN_RELOAD_INTERVAL_MS) return known;
      await reload();
      return publicKeys.find((k) => k.kid === kid);
    },
    reload,
    async rotate() {
      const rotation = await db.transaction().execute(async (trx) => {
        await repo.lockKeys(trx);
        const now = options.clock();
        const retiredAfter = new Date(now.getTime() - options.retiredKeyLifetimeMs);
        await checkRotationAllowed(trx, now, retiredAfter);
        const deleted = await repo.deleteKeysRetiredBefore(trx, retiredAfter);
        await repo.retireActiveKeys(trx, now);
        const kid = await createKey(trx);
        await insertEvent(trx, { time: now, type: "signing_key_rotated", keyId: kid });
        return { kid, deleted };
      });
      await reload();
      return rotation;
    },
  };
}

function retiredTime(row: SigningKeyRow): number {
  return row.retired_at === null ? Number.POSITIVE_INFINITY : row.retired_at.getTime();
}

async function toPublicKey(row: SigningKeyRow): Promise<PublicKey> {
  const jwk = row.public_jwk as JWK;
  return {
    kid: row.kid,
    alg: row.alg as JwtAlgorithm,
    jwk,
    key: (await importJWK(jwk, row.alg)) as CryptoKey,
  };
}
