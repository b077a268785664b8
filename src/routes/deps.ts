import type { ServiceImpl } from "@connectrpc/connect";
import type { SessionService } from "../../gen/tessera/sessions/v1/session_service_pb.js";
import type { Config } from "../config.js";
import type { KeyStore } from "../keys/key-store.js";
import type { Sessions } from "../sessions/session.service.js";

/** What the RPC handlers need from the app. */
export interface RouteDeps {
  readonly sessions: Sessions;
  readonly keys: KeyStore;
  /** The limits of ListSessions pages. */
  readonly config: Pick<
    Config,
    "listSessionsDefaultPageSize" | "listSessionsMaxPageSize" | "listSessionsMaxResponseBytes"
  >;
}

/** The full SessionService implementation; each RPC file returns its slice. */
export type SessionServiceImpl = ServiceImpl<typeof SessionService>;
