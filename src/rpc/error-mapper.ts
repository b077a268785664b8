import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../gen/tessera/sessions/v1/error_detail_pb.js";
import { isDatabaseUnavailable } from "../db/database.js";
import { type ErrorKind, TesseraError } from "../errors.js";
import type { Logger } from "../logger.js";

const CODES: Readonly<Record<ErrorKind, Code>> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  unauthenticated: Code.Unauthenticated,
  aborted: Code.Aborted,
  unavailable: Code.Unavailable,
  failed_precondition: Code.FailedPrecondition,
  resource_exhausted: Code.ResourceExhausted,
};

/** The one place domain errors become ConnectErrors, each with an ErrorDetail carrying its reason. */
export function toConnectError(err: unknown, logger: Logger, procedure: string): ConnectError {
  if (err instanceof TesseraError) {
    return withDetail(err.message, CODES[err.kind], err.reason, err.metadata, err);
  }
  if (err instanceof ConnectError) {
    // Raised by Connect itself (e.g. a request over the size limit) or already mapped.
    return withReason(err) ?? err;
  }
  if (isDatabaseUnavailable(err)) {
    logger.warn({ procedure, err: describe(err) }, "database unavailable");
    return withDetail("the database is unavailable", Code.Unavailable, "DATABASE_UNAVAILABLE", {}, err);
  }
  logger.error({ procedure, err: describe(err) }, "unexpected error");
  return withDetail("internal error", Code.Internal, "INTERNAL", {}, err);
}

/** Interceptor applying toConnectError to everything a handler throws. */
export function errorMapperInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      throw toConnectError(err, logger, req.url);
    }
  };
}

function withDetail(
  message: string,
  code: Code,
  reason: string,
  metadata: Readonly<Record<string, string>>,
  cause: unknown,
): ConnectError {
  return new ConnectError(
    message,
    code,
    undefined,
    [{ desc: ErrorDetailSchema, value: create(ErrorDetailSchema, { reason, metadata: { ...metadata } }) }],
    cause,
  );
}

/**
 * For a ConnectError without an ErrorDetail (raised by the Connect runtime,
 * not by Tessera), a copy carrying the reason `RPC_<CODE>`; undefined when it
 * already has one.
 */
export function withReason(err: ConnectError): ConnectError | undefined {
  if (err.findDetails(ErrorDetailSchema).length > 0) return undefined;
  const reason = `RPC_${Code[err.code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase()}`;
  const detail = { desc: ErrorDetailSchema, value: create(ErrorDetailSchema, { reason }) };
  const copy = new ConnectError(err.rawMessage, err.code, err.metadata, [], err);
  copy.details.push(...err.details, detail);
  return copy;
}

/** Name, code and message of an error, without its cause chain or any driver detail field that may hold data. */
export function describe(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { type: typeof err };
  const code = (err as { code?: unknown }).code;
  return { name: err.name, message: err.message, code, stack: err.stack };
}
