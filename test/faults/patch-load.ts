import type { Client } from "@connectrpc/connect";
import { ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../gen/tessera/sessions/v1/error_detail_pb.js";
import type { SessionService } from "../../gen/tessera/sessions/v1/session_service_pb.js";

/** One finished call of the load. */
export interface CallRecord {
  readonly worker: number;
  readonly key: string;
  readonly ok: boolean;
  readonly code?: string;
  readonly reason?: string;
}

/** A running patch load: each worker patches its own session with a new key per call. */
export interface PatchLoad {
  readonly records: CallRecord[];
  /** Successful calls so far. */
  successes(): number;
  /** Asks the workers to stop and waits for them. */
  stop(): Promise<CallRecord[]>;
}

/** Generous per-call timeout: a call that fails, fails because of the server, never because of this. */
export const CALL_TIMEOUT_MS = 60_000;

/** Starts `tokens.length` workers; worker i patches session tokens[i] through clientFor(i) with keys `<prefix><n>`. */
export function startPatchLoad(
  tokens: readonly string[],
  clientFor: (worker: number) => Client<typeof SessionService>,
  prefix: string,
  pauseMs = 0,
): PatchLoad {
  const records: CallRecord[] = [];
  let stopping = false;
  const worker = async (w: number) => {
    for (let n = 0; !stopping; n++) {
      const key = `${prefix}${n}`;
      try {
        await clientFor(w).authenticateSession(
          { credential: { case: "sessionToken", value: tokens[w] as string }, sessionCustomClaims: { [key]: n } },
          { timeoutMs: CALL_TIMEOUT_MS },
        );
        records.push({ worker: w, key, ok: true });
      } catch (err) {
        const e = ConnectError.from(err);
        records.push({
          worker: w,
          key,
          ok: false,
          code: String(e.code),
          reason: e.findDetails(ErrorDetailSchema)[0]?.reason,
        });
        // Back off a little after a failure so a down database is not spun on.
        await new Promise((r) => setTimeout(r, 20));
      }
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    }
  };
  const running = Promise.all(tokens.map((_, w) => worker(w)));
  return {
    records,
    successes: () => records.filter((r) => r.ok).length,
    async stop() {
      stopping = true;
      await running;
      return records;
    },
  };
}
