import type { KyselyPlugin, QueryResult, UnknownRow } from "kysely";
import { PostgresQueryCompiler } from "kysely";

/**
 * What a statement is, for counting: the compare-and-set write, a read of a session, the locked path, an
 * authenticate's touch (always written, or coalesced), or other.
 */
export function kindOf(text: string): "cas" | "read" | "locked" | "touch" | "touch-coalesced" | "other" {
  if (text.startsWith("with held_template")) return "cas";
  if (text.startsWith("with touched")) return "touch-coalesced";
  if (text.startsWith('update "sessions" set "last_accessed_at"')) return "touch";
  if (/for update/i.test(text)) return "locked";
  if (/^select .* from "sessions"/s.test(text)) return "read";
  return "other";
}

/**
 * Observes every statement the app sends (by kind, session-related ones only) and can hold the result of the
 * next compare-and-set write until released, keeping that session's write in flight.
 */
export function statementObserver() {
  const compiler = new PostgresQueryCompiler();
  const kinds = new Map<unknown, string>();
  const log: string[] = [];
  let hold: { kind: string; reached: () => void; released: Promise<void> } | undefined;
  const plugin: KyselyPlugin = {
    transformQuery({ node, queryId }) {
      const text = compiler.compileQuery(node, queryId).sql;
      if (/"sessions"|claim_template|rbac_policy|"users"/.test(text)) {
        const kind = kindOf(text);
        kinds.set(queryId, kind === "other" ? `other: ${text.slice(0, 120)}` : kind);
      }
      return node;
    },
    // Logged here, once per statement run: a query built into a raw statement is transformed but not run.
    async transformResult({ queryId, result }): Promise<QueryResult<UnknownRow>> {
      const kind = kinds.get(queryId);
      kinds.delete(queryId);
      if (kind !== undefined) log.push(kind);
      const current = hold;
      if (current !== undefined && kind === current.kind) {
        hold = undefined;
        current.reached();
        await current.released;
      }
      return result;
    },
  };
  return {
    plugin,
    log,
    /** Holds the result of the next statement of `kind`: `reached` when it ran, returned when `release` is called. */
    holdNext(kind: "cas" | "read") {
      let reached!: () => void;
      let release!: () => void;
      const reachedP = new Promise<void>((r) => {
        reached = r;
      });
      const released = new Promise<void>((r) => {
        release = r;
      });
      hold = { kind, reached, released };
      return { reached: reachedP, release };
    },
  };
}
