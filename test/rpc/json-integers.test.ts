import { Code, ConnectError } from "@connectrpc/connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse } from "@connectrpc/connect/protocol-grpc-web";
import { describe, expect, it } from "vitest";
import { ErrorDetailSchema } from "../../gen/tessera/sessions/v1/error_detail_pb.js";
import { storedSnapshot } from "../hostile/hostile-support.js";
import { backends } from "../support/backends.js";
import { TEST_API_KEY, useTestApp } from "../support/test-app.js";

const AUTHENTICATE = "/tessera.sessions.v1.SessionService/AuthenticateSession";
const CREATE = "/tessera.sessions.v1.SessionService/CreateSession";

interface Answer {
  readonly code: string;
  readonly reason: string | undefined;
  readonly metadata: Record<string, string>;
  readonly message: string;
}

// protobuf-es reads a 64-bit JSON string with BigInt() and a 32-bit one with Number(), so "0x10", " 1" or "1e1"
// used to pass as numbers nobody meant. Integer fields in JSON must be canonical decimal integers.
describe.each(backends())("integer fields in JSON requests on %s", (backend) => {
  const t = useTestApp(backend);

  /** POSTs raw Connect JSON (the text exactly as written) and returns the error code, reason and metadata. */
  async function connectJson(path: string, body: string): Promise<Answer> {
    const res = await fetch(`${t.baseUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TEST_API_KEY}` },
      body,
    });
    const json = (await res.json()) as {
      code?: string;
      message?: string;
      details?: Array<{ debug?: { reason?: string; metadata?: Record<string, string> } }>;
    };
    if (res.status === 200) return { code: "ok", reason: undefined, metadata: {}, message: "" };
    const debug = json.details?.[0]?.debug;
    return {
      code: json.code ?? "",
      reason: debug?.reason,
      metadata: debug?.metadata ?? {},
      message: json.message ?? "",
    };
  }

  /** POSTs raw gRPC-Web JSON (one frame of the text as written) and reads the status from the trailer frame. */
  async function grpcWebJson(path: string, body: string): Promise<Answer> {
    const data = new TextEncoder().encode(body);
    const frame = new Uint8Array(5 + data.length);
    new DataView(frame.buffer).setUint32(1, data.length);
    frame.set(data, 5);
    const res = await fetch(`${t.baseUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/grpc-web+json", authorization: `Bearer ${TEST_API_KEY}` },
      body: frame,
    });
    const bytes = new Uint8Array(await res.arrayBuffer());
    const trailer = new Headers(res.headers);
    for (let at = 0; at + 5 <= bytes.length; ) {
      const length = new DataView(bytes.buffer, bytes.byteOffset + at + 1, 4).getUint32(0);
      if (bytes[at] === trailerFlag) {
        for (const [name, value] of trailerParse(bytes.subarray(at + 5, at + 5 + length))) trailer.set(name, value);
      }
      at += 5 + length;
    }
    const err = findTrailerError(trailer);
    if (err === undefined) return { code: "ok", reason: undefined, metadata: {}, message: "" };
    const detail = ConnectError.from(err).findDetails(ErrorDetailSchema)[0];
    return {
      code: Code[err.code],
      reason: detail?.reason,
      metadata: { ...detail?.metadata },
      message: err.rawMessage,
    };
  }

  async function newSession(userId: string): Promise<string> {
    return (await t.client("grpc").createSession({ userId, sessionCustomClaims: { v: 0 } })).sessionToken;
  }

  describe("expected_claims_version", () => {
    it.each([
      ['"0x10"', "a hex string"],
      ['"0X0"', "a hex zero"],
      ['"0b1"', "a binary string"],
      ['"0o7"', "an octal string"],
      ['" 1"', "a leading space"],
      ['"1 "', "a trailing space"],
      ['"\\t0"', "a tab"],
      ['"+1"', "a plus sign"],
      ['"01"', "a leading zero"],
      ['"-0"', "minus zero"],
      ['"1e1"', "an exponent in a string"],
      ['"1.0"', "a fraction in a string"],
      ['""', "an empty string"],
      ["1.5", "a fractional number"],
      ["9007199254740993", "a number past 2^53"],
    ])("refuses %s (%s) with INVALID_REQUEST_FIELD over Connect JSON, by either name, changing nothing", async (raw) => {
      const token = JSON.stringify(await newSession("loose-version"));
      for (const name of ["expectedClaimsVersion", "expected_claims_version", "expected\\u005fclaims_version"]) {
        const before = await storedSnapshot(t);
        const answer = await connectJson(
          AUTHENTICATE,
          `{"sessionToken": ${token}, "sessionCustomClaims": {"v": 1}, "${name}": ${raw}}`,
        );
        expect(answer).toMatchObject({
          code: "invalid_argument",
          reason: "INVALID_REQUEST_FIELD",
          metadata: { field: "expected_claims_version" },
        });
        expect(answer.message).toContain("expected_claims_version must be a decimal integer");
        expect(await storedSnapshot(t)).toBe(before);
      }
    });

    it("refuses a hex string over gRPC-Web JSON too, changing nothing", async () => {
      const token = JSON.stringify(await newSession("loose-version-web"));
      const before = await storedSnapshot(t);
      const answer = await grpcWebJson(
        AUTHENTICATE,
        `{"sessionToken": ${token}, "sessionCustomClaims": {"v": 1}, "expectedClaimsVersion": "0x0"}`,
      );
      expect(answer).toMatchObject({ code: "InvalidArgument", reason: "INVALID_REQUEST_FIELD" });
      expect(await storedSnapshot(t)).toBe(before);
    });

    it.each([
      ['"0"', "ok"],
      ["0", "ok"],
      ['"1"', "aborted"],
      ['"-1"', "aborted"],
      ['"9223372036854775807"', "aborted"],
    ])("accepts the canonical %s (answering %s)", async (raw, code) => {
      const token = JSON.stringify(await newSession("canonical-version"));
      const answer = await connectJson(
        AUTHENTICATE,
        `{"sessionToken": ${token}, "sessionCustomClaims": {"v": 1}, "expectedClaimsVersion": ${raw}}`,
      );
      expect(answer.code).toBe(code);
    });

    it("leaves a claims key that looks like the field alone", async () => {
      const token = JSON.stringify(await newSession("claim-named-like-field"));
      const answer = await connectJson(
        AUTHENTICATE,
        `{"sessionToken": ${token}, "sessionCustomClaims": {"expectedClaimsVersion": "0x10"}}`,
      );
      expect(answer.code).toBe("ok");
    });
  });

  describe("session_duration_minutes", () => {
    it.each(['"0x3c"', '"6e1"', '"060"', '"60.0"'])("refuses %s, which protobuf-es would read as 60", async (raw) => {
      const before = await storedSnapshot(t);
      const answer = await connectJson(CREATE, `{"userId": "loose-duration", "sessionDurationMinutes": ${raw}}`);
      expect(answer).toMatchObject({
        code: "invalid_argument",
        reason: "INVALID_REQUEST_FIELD",
        metadata: { field: "session_duration_minutes" },
      });
      expect(await storedSnapshot(t)).toBe(before);
    });

    it.each(['"60"', "60"])("accepts %s", async (raw) => {
      expect((await connectJson(CREATE, `{"userId": "duration", "session_duration_minutes": ${raw}}`)).code).toBe("ok");
    });
  });
});
