import { randomUUID } from "node:crypto";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../logger.js";

/** Observes each finished RPC: procedure, gRPC code name and duration. */
export type RpcObserver = (procedure: string, code: string, seconds: number) => void;

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Logs one line per RPC (method, code, duration, request id) and reports it to observers. Never logs messages. */
export function loggingInterceptor(logger: Logger, observers: readonly RpcObserver[] = []): Interceptor {
  return (next) => async (req) => {
    const started = process.hrtime.bigint();
    const given = req.header.get("x-request-id");
    const requestId = given !== null && REQUEST_ID.test(given) ? given : randomUUID();
    const procedure = `${req.service.typeName}/${req.method.name}`;
    const finish = (code: Code | "ok", err?: ConnectError) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const codeName = code === "ok" ? code : Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
      for (const observe of observers) observe(procedure, codeName, seconds);
      logger.info(
        {
          request_id: requestId,
          method: procedure,
          content_type: req.header.get("content-type"),
          code: codeName,
          duration_ms: Math.round(seconds * 1e6) / 1e3,
          ...(err === undefined ? {} : { error: err.rawMessage }),
        },
        "rpc",
      );
    };
    try {
      const res = await next(req);
      res.header.set("x-request-id", requestId);
      finish("ok");
      return res;
    } catch (err) {
      const connectErr = ConnectError.from(err);
      connectErr.metadata.set("x-request-id", requestId);
      finish(connectErr.code, connectErr);
      throw connectErr;
    }
  };
}
