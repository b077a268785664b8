import {
  Code,
  ConnectError,
  type ContextValues,
  createContextKey,
  createContextValues,
  type Interceptor,
} from "@connectrpc/connect";
import { codeFromHttpStatus, codeToString } from "@connectrpc/connect/protocol-connect";
import { ErrorDetailSchema } from "../../gen/tessera/sessions/v1/error_detail_pb.js";
import type { Observation, RequestObserver } from "./request-observer.js";

/** Where the logging interceptor finds the observation its call was started under (see startCallObservation). */
const OBSERVATION = createContextKey<Observation | undefined>(undefined, { description: "tessera.observation" });

/** Observes every Connect, gRPC and gRPC-Web call (request id, log line, metrics); echoes the request id. */
export function loggingInterceptor(observer: RequestObserver): Interceptor {
  return (next) => async (req) => {
    const observation =
      req.contextValues.get(OBSERVATION) ??
      observer.start(`${req.service.typeName}/${req.method.name}`, req.header.get("x-request-id"));
    const contentType = req.header.get("content-type");
    try {
      const res = await next(req);
      res.header.set("x-request-id", observation.requestId);
      observation.finish("ok", { content_type: contentType });
      return res;
    } catch (err) {
      const connectErr = ConnectError.from(err);
      connectErr.metadata.set("x-request-id", observation.requestId);
      observation.finish(codeToString(connectErr.code), { content_type: contentType, error: connectErr.rawMessage });
      throw connectErr;
    }
  };
}

/** How a call's response ended, as the HTTP handler saw it once it was written. */
export interface CallOutcome {
  readonly status: number;
  /** The error the response carried (as the Connect runtime or a handler raised it), if any. */
  readonly error: ConnectError | undefined;
  readonly contentType: string;
}

/** A call observed from its arrival: its context values for the runtime, and how to finish it from the response. */
export interface CallObservation {
  readonly requestId: string;
  readonly values: ContextValues;
  finish(outcome: CallOutcome): void;
}

/**
 * Starts observing a call as it arrives, before the Connect runtime reads it.
 * The logging interceptor finishes the observation when the call reaches it;
 * when the runtime refuses the call first (a body over the size limit, an
 * undecodable message, an unsupported content type or compression), `finish`
 * writes the same `rpc` line and metrics from the response. Runtime messages
 * may quote what the caller sent, so only Tessera's own messages are logged.
 */
export function startCallObservation(
  observer: RequestObserver,
  procedure: string,
  givenId: string | undefined,
): CallObservation {
  const observation = observer.start(procedure, givenId);
  return {
    requestId: observation.requestId,
    values: createContextValues().set(OBSERVATION, observation),
    finish({ status, error, contentType }) {
      // Only a call that never reached an interceptor gets here unfinished, so it did not succeed.
      const code = error?.code ?? (status === 200 ? Code.Unknown : codeFromHttpStatus(status));
      const detail = error?.findDetails(ErrorDetailSchema)[0];
      observation.finish(codeToString(code), {
        content_type: contentType,
        status,
        reason: detail?.reason ?? `RPC_${codeToString(code).toUpperCase()}`,
        ...(detail === undefined ? {} : { error: error?.rawMessage }),
      });
    },
  };
}
