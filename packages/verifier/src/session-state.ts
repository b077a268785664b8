/** A change the verifier applies, taken from one feed event. */
export type StateChange =
  | { kind: "revoked"; sessionId: string; denyUntilMs: number }
  | { kind: "claims-changed"; sessionId: string; claimsVersion: number; keepUntilMs: number };

/** What the feed has said about one session. */
export interface SessionFacts {
  /** Set while the session's JWTs must be refused. */
  readonly deniedUntilMs?: number;
  /** The latest claims_version the feed announced. */
  readonly claimsVersion?: number;
}

interface Entry {
  deniedUntilMs?: number;
  claimsVersion?: number;
  claimsKeepUntilMs?: number;
}

/**
 * The deny list and the latest claims_version per session: a pure state
 * machine (the caller passes the time), bounded by dropping each entry once no
 * JWT it could concern can still be unexpired.
 */
export class SessionState {
  readonly #entries = new Map<string, Entry>();

  /** Applies one change. */
  apply(change: StateChange): void {
    const entry = this.#entries.get(change.sessionId) ?? {};
    if (change.kind === "revoked") {
      entry.deniedUntilMs = Math.max(entry.deniedUntilMs ?? 0, change.denyUntilMs);
    } else if (change.claimsVersion > (entry.claimsVersion ?? -1)) {
      entry.claimsVersion = change.claimsVersion;
      entry.claimsKeepUntilMs = change.keepUntilMs;
    }
    this.#entries.set(change.sessionId, entry);
  }

  /** What is known of `sessionId` at `nowMs`. */
  facts(sessionId: string, nowMs: number): SessionFacts {
    const entry = this.#entries.get(sessionId);
    if (entry === undefined) return {};
    return {
      ...(entry.deniedUntilMs !== undefined && entry.deniedUntilMs > nowMs
        ? { deniedUntilMs: entry.deniedUntilMs }
        : {}),
      ...(entry.claimsVersion !== undefined ? { claimsVersion: entry.claimsVersion } : {}),
    };
  }

  /** Drops what has passed by `nowMs`. */
  prune(nowMs: number): void {
    for (const [id, entry] of this.#entries) {
      if (entry.deniedUntilMs !== undefined && entry.deniedUntilMs <= nowMs) delete entry.deniedUntilMs;
      if (entry.claimsKeepUntilMs !== undefined && entry.claimsKeepUntilMs <= nowMs) {
        delete entry.claimsVersion;
        delete entry.claimsKeepUntilMs;
      }
      if (entry.deniedUntilMs === undefined && entry.claimsVersion === undefined) this.#entries.delete(id);
    }
  }

  /** Sessions with an entry. */
  get size(): number {
    return this.#entries.size;
  }
}
