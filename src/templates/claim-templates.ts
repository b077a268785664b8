import type { Kysely } from "kysely";
import {
  type ClaimsPolicy,
  type ClaimTemplateUser,
  type CompiledClaimTemplate,
  compileClaimTemplate,
  type JsonObject,
  renderClaimTemplate,
} from "../claims/index.js";
import type { Clock } from "../clock.js";
import type { DatabaseSchema } from "../db/schema.js";
import * as eventRepo from "../events/event.repository.js";
import { liveSessionCheck } from "../sessions/live-session-check.js";
import type { Session } from "../sessions/session.js";
import * as sessionRepo from "../sessions/session.repository.js";
import { emptyUser, type User } from "../users/user.js";
import * as repo from "./claim-template.repository.js";

/** The project's custom claim template: set, read, and rendered into each user's base claims. */
export interface ClaimTemplates {
  /** The template in force. */
  get(): Promise<repo.StoredClaimTemplate>;
  /**
   * Validates `source` ("" clears), checks that no live session's claims would
   * grow past the limit under it (naming the first offenders), and stores it.
   */
  set(source: string): Promise<repo.StoredClaimTemplate>;
  /**
   * The template's output for a user (undefined: no record) at template
   * `version` or later. Inside a transaction pass it as `db`: a cache miss
   * reads the template through it (PGlite has one connection).
   */
  baseFor(userId: string, user: User | undefined, version: bigint, db?: Kysely<DatabaseSchema>): Promise<JsonObject>;
}

/** Dependencies of the claim templates. */
export interface ClaimTemplatesDeps {
  readonly db: Kysely<DatabaseSchema>;
  readonly clock: Clock;
  readonly claimsPolicy: ClaimsPolicy;
  /** Throws when a session's JWT would be too long to be accepted back. */
  readonly checkJwt: (session: Session) => void;
  /** Sessions checked per statement when a template is set. */
  readonly checkBatchSize?: number;
}

/** How many compiled versions are kept; older ones are compiled again if a slow reader still asks. */
const CACHED_VERSIONS = 4;

type Compiled = CompiledClaimTemplate<ClaimTemplateUser> | null;

/** The template's render context for a user. */
export function templateUser(userId: string, user: User | undefined): ClaimTemplateUser {
  const u = user ?? emptyUser(userId);
  return {
    userId,
    trustedMetadata: u.trustedMetadata,
    untrustedMetadata: u.untrustedMetadata,
    roles: u.roles,
  };
}

/** Builds the template service. Compiled templates are cached by version: derived data, never a lock. */
export function createClaimTemplates(deps: ClaimTemplatesDeps): ClaimTemplates {
  const { db, clock, claimsPolicy } = deps;
  const batchSize = deps.checkBatchSize ?? 500;
  const compiled = new Map<bigint, Compiled>();

  const compile = (source: string): Compiled => (source === "" ? null : compileClaimTemplate(source, claimsPolicy));
  const remember = (version: bigint, value: Compiled) => {
    compiled.set(version, value);
    for (const old of compiled.keys()) if (compiled.size > CACHED_VERSIONS) compiled.delete(old);
  };
  const render = (template: Compiled, userId: string, user: User | undefined): JsonObject =>
    template === null ? {} : renderClaimTemplate(template, templateUser(userId, user));

  /** The compiled template at `version`, or (when that one is gone) the newest; reads the database on a miss. */
  async function compiledAt(version: bigint, executor: Kysely<DatabaseSchema>): Promise<Compiled> {
    const hit = compiled.get(version);
    if (hit !== undefined) return hit;
    const stored = await repo.readTemplate(executor);
    const value = compile(stored.source);
    remember(stored.version, value);
    return value;
  }

  return {
    get: () => repo.readTemplate(db),

    async set(source) {
      // Validation first, outside any transaction: a bad template never takes a lock.
      const next = compile(source);
      return db.transaction().execute(async (trx) => {
        // FOR UPDATE waits for every claims write holding the template (FOR KEY SHARE) and holds off new ones,
        // so the sessions checked below cannot change their claims until this commits.
        await repo.lockTemplate(trx);
        const now = clock();
        const check = liveSessionCheck(claimsPolicy, deps.checkJwt);
        let after: string | undefined;
        for (;;) {
          const page = await sessionRepo.activeSessionsPage(trx, after, now, batchSize);
          check.check(page, (session) => render(next, session.userId, session.user));
          if (check.full || page.length < batchSize) break;
          after = page.at(-1)?.id;
        }
        check.refuse();
        const stored = await repo.writeTemplate(trx, source, now);
        await eventRepo.insertEvent(trx, {
          time: now,
          type: "claim_template_changed",
          templateVersion: stored.version,
        });
        remember(stored.version, next);
        return stored;
      });
    },

    async baseFor(userId, user, version, executor = db) {
      return render(await compiledAt(version, executor), userId, user);
    },
  };
}
