import { ConnectError, type Interceptor } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import type { RequestObserver } from "./request-observer.js";

/** Observes every Connect, gRPC and gRPC-Web call (request id, log line, metrics); echoes the request id. */
export function loggingInterceptor(observer: RequestObserver): Interceptor {
  return (next) => async (req) => {
    const observation = observer.start(`${req.service.typeName}/${req.method.name}`, req.header.get("x-request-id"));
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
