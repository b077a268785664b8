import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import { type Client, type Code, ConnectError } from "@connectrpc/connect";
import { createLocalJWKSet, type JWTPayload, type JWTVerifyResult, jwtVerify } from "jose";
import { expect } from "vitest";
import { ErrorDetailSchema } from "../../gen/tessera/sessions/v1/error_detail_pb.js";
import type { SessionService } from "../../gen/tessera/sessions/v1/session_service_pb.js";
import type { Clock } from "../../src/clock.js";
import type { SessionRow } from "../../src/db/schema.js";
import type { TestApp } from "../support/test-app.js";

/** A clock the test moves by hand; it never moves by itself. */
export interface TestClock extends Clock {
  set(at: Date): void;
  advance(ms: number): void;
}

/** A frozen clock starting at `start`. */
export function testClock(start: Date): TestClock {
  let now = start.getTime();
  const clock = (() => new Date(now)) as TestClock;
  clock.set = (at) => {
    now = at.getTime();
  };
  clock.advance = (ms) => {
    now += ms;
  };
  return clock;
}

/** One minute in milliseconds. */
export const MINUTE = 60_000;

/** What a failed call carried: its code, the ErrorDetail reason and metadata, and the message. */
export interface RpcFailure {
  readonly code: Code;
  readonly reason: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly message: string;
}

/** Awaits a call that must fail and returns its code, reason, metadata and message. */
export async function failure(call: Promise<unknown>): Promise<RpcFailure> {
  let caught: unknown;
  try {
    await call;
  } catch (err) {
    caught = err;
  }
  expect(caught, "the call should have failed").toBeInstanceOf(ConnectError);
  const err = caught as ConnectError;
  const details = err.findDetails(ErrorDetailSchema);
  expect(details, "exactly one ErrorDetail").toHaveLength(1);
  return {
    code: err.code,
    reason: details[0]?.reason ?? "",
    metadata: { ...details[0]?.metadata },
    message: err.rawMessage,
  };
}

/** Asserts a call fails with `code` and `reason`; returns the failure for further checks. */
export async function expectFailure(call: Promise<unknown>, code: Code, reason: string): Promise<RpcFailure> {
  const got = await failure(call);
  expect({ code: got.code, reason: got.reason }).toEqual({ code, reason });
  return got;
}

/** A Timestamp as a Date (fails the test when the timestamp is missing). */
export function date(ts: Timestamp | undefined): Date {
  expect(ts).toBeDefined();
  return timestampDate(ts as Timestamp);
}

/** Verifies a session JWT with jose against the service's own GetJwks, at `currentDate`. */
export async function verifyWithJwks(
  client: Client<typeof SessionService>,
  jwt: string,
  options: { issuer?: string; audience?: string; currentDate: Date },
): Promise<JWTVerifyResult<JWTPayload>> {
  const { keys } = await client.getJwks({});
  const jwks = createLocalJWKSet({
    keys: keys.map((key) =>
      Object.fromEntries(
        Object.entries({
          kty: key.kty,
          kid: key.kid,
          use: key.use,
          alg: key.alg,
          crv: key.crv,
          x: key.x,
          y: key.y,
          n: key.n,
          e: key.e,
        }).filter(([, value]) => value !== ""),
      ),
    ),
  });
  return jwtVerify(jwt, jwks, {
    issuer: options.issuer ?? "tessera",
    audience: options.audience ?? "tessera",
    currentDate: options.currentDate,
  });
}

/** The stored row of a session, read directly from the database. */
export function storedRow(t: TestApp, sessionId: string): Promise<SessionRow> {
  return t.app.database.db
    .selectFrom("sessions")
    .selectAll()
    .where("session_id", "=", sessionId)
    .executeTakeFirstOrThrow();
}

/** The base64url JSON payload of a JWT, decoded without verification. */
export function jwtPayload(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
}

/** A JWT header, decoded without verification. */
export function jwtHeader(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split(".")[0] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
}
