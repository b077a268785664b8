import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { ErrorDetailSchema } from "../../gen/tessera/sessions/v1/error_detail_pb.js";
import { type ErrorKind, type TesseraError, toTesseraError } from "../errors.js";
import type { Logger } from "../logger.js";

const CODES: Readonly<Record<ErrorKind, Code>> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  unauthenticated: Code.Unauthenticated,
  aborted: Code.Aborted,
  unavailable: Code.Unavailable,
  failed_precondition: Code.FailedPrecondition,
  resource_exhausted: Code.ResourceExhausted,
  permission_denied: Code.PermissionDenied,
  internal: Code.Internal,
};

/** The gRPC code of a domain error kind. */
export function codeOf(kind: ErrorKind): Code {
  return CODES[kind];
}

/**
 * Logs what a caller cannot see: an unreachable database as a warning,
 * anything unexpected as an error with its cause. Shared by every API surface.
 */
export function logUnexpected(err: TesseraError, logger: Logger, where: Record<string, string>): void {
  if (err.reason === "DATABASE_UNAVAILABLE")
    logger.warn({ ...where, err: describe(err.cause) }, "database unavailable");
  else if (err.reason === "INTERNAL") logger.error({ ...where, err: describe(err.cause) }, "unexpected error");
}

/** The one place domain errors become ConnectErrors, each with an ErrorDetail carrying its reason. */
export function toConnectError(err: unknown, logger: Logger, procedure: string): ConnectError {
  if (err instanceof ConnectError) {
    // Raised by Connect itself (e.g. a request over the size limit) or already mapped.
    return withReason(err) ?? err;
  }
  const domain = toTesseraError(err);
  logUnexpected(domain, logger, { procedure });
  return connectErrorOf(domain);
}

/** A domain error as a ConnectError with its code and an ErrorDetail carrying its reason; logs nothing. */
export function connectErrorOf(domain: TesseraError): ConnectError {
  return new ConnectError(
    domain.message,
    CODES[domain.kind],
    undefined,
    [
      {
        desc: ErrorDetailSchema,
        value: create(ErrorDetailSchema, { reason: domain.reason, metadata: { ...domain.metadata } }),
      },
    ],
    domain.cause ?? domain,
  );
}

/**
 * Interceptor applying toConnectError to everything a handler throws: before
 * its response starts, and while a server stream runs (so an error ending a
 * stream carries its code and reason too).
 */
export function errorMapperInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      const res = await next(req);
      if (!res.stream) return res;
      return { ...res, message: mapStreamErrors(res.message, logger, req.url) };
    } catch (err) {
      throw toConnectError(err, logger, req.url);
    }
  };
}

async function* mapStreamErrors<T>(messages: AsyncIterable<T>, logger: Logger, procedure: string): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (err) {
    throw toConnectError(err, logger, procedure);
  }
}

/**
 * For a ConnectError without an ErrorDetail (raised by the Connect runtime,
 * not by Tessera), a copy carrying the reason `RPC_<CODE>`; undefined when it
 * already has one.
 */
export function withReason(err: ConnectError): ConnectError | undefined {
  if (err.findDetails(ErrorDetailSchema).length > 0) return undefined;
  const reason = `RPC_${codeToString(err.code).toUpperCase()}`;
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
