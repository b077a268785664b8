import { Code, ConnectError } from "@connectrpc/connect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ErrorDetailSchema } from "../../gen/tessera/sessions/v1/error_detail_pb.js";
import type { JsonObject } from "../../src/claims/json.js";
import type { JwtAlgorithm } from "../../src/config.js";
import type { Session } from "../../src/sessions/session.js";
import { PROJECT_ID } from "../stytch/helpers.js";
import { backends } from "../support/backends.js";
import { useTestApp } from "../support/test-app.js";

const LIMIT = 8192;
const ALGORITHMS: readonly JwtAlgorithm[] = ["ES256", "EdDSA", "RS256"];

/** Characters that JSON escapes (to 2 or 6), multi-byte ones, and plain ones. */
const char = fc.constantFrom('"', "\\", "\n", "\u0001", "é", "€", "😀", "a", "b", " ", "/", "<");
const text = (maxLength: number, minLength = 0) => fc.string({ unit: char, minLength, maxLength });

/** Session inputs around the JWT limit: sometimes well under it, often near or over it. */
const sessionInput = fc.record({
  userId: text(128, 1),
  ipAddress: text(64),
  userAgent: text(1024),
  roles: fc.array(text(128, 1), { maxLength: 100 }),
  claims: fc.dictionary(
    fc
      .string({ minLength: 1, maxLength: 8 })
      .filter((k) => !["iss", "sub", "aud", "exp", "nbf", "iat", "jti"].includes(k)),
    fc.oneof(text(1200), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null)),
    { maxKeys: 4 },
  ),
});
type SessionInput = typeof sessionInput extends fc.Arbitrary<infer T> ? T : never;

/** A small session and one far over the limit, always tried, so both outcomes are exercised every run. */
const EXAMPLES: [SessionInput][] = [
  [{ userId: "small", ipAddress: "", userAgent: "", roles: [], claims: { a: "b" } }],
  [
    {
      userId: "big",
      ipAddress: "",
      userAgent: '"'.repeat(1024),
      // Distinct: a session's roles are a set, so repeated ones count once.
      roles: Array.from({ length: 100 }, (_, i) => String(i).padEnd(128, "r")),
      claims: {},
    },
  ],
];

/** Reasons a create may be refused with for these inputs: every one a validation limit. */
const LIMIT_REASONS = new Set(["SESSION_JWT_TOO_LARGE", "CLAIMS_TOO_LARGE", "INVALID_USER_ID", "INVALID_CLAIMS"]);

describe.each(backends())("session JWT length on %s", (backend) => {
  describe.each([
    ...ALGORITHMS.map((alg) => ({ name: `tessera profile, ${alg}`, env: { JWT_ALGORITHM: alg } })),
    { name: "stytch profile, RS256", env: { JWT_PROFILE: "stytch", STYTCH_PROJECT_ID: PROJECT_ID } },
  ])("$name", ({ env }) => {
    const t = useTestApp(backend, { ...env, MAX_SESSIONS_PER_USER: "1000" });

    it("the computed length is exactly the length of the JWT minted", async () => {
      const now = new Date("2031-01-01T00:00:00.000Z");
      await fc.assert(
        fc.asyncProperty(
          sessionInput,
          fc.constantFrom("session-", `session-${"0".repeat(36)}`),
          fc.integer({ min: 5, max: 527_040 }),
          async (input, id, minutes) => {
            const session: Session = {
              id,
              userId: input.userId,
              startedAt: now,
              lastAccessedAt: now,
              expiresAt: new Date(now.getTime() + minutes * 60_000),
              revokedAt: null,
              attributes: { ipAddress: input.ipAddress, userAgent: input.userAgent },
              roles: input.roles,
              customClaims: input.claims as JsonObject,
              claimsVersion: 0n,
            };
            const jwt = await t.app.jwts.mint(session);
            expect(t.app.jwts.length(session)).toBe(jwt.length);
          },
        ),
        { numRuns: 150 },
      );
    });

    it("any session accepted at create yields a JWT that authenticate accepts, again and again", async () => {
      const outcomes = { accepted: 0, refused: 0 };
      await fc.assert(
        fc.asyncProperty(sessionInput, async (input) => {
          const client = t.client("grpc");
          let created: Awaited<ReturnType<typeof client.createSession>>;
          try {
            created = await client.createSession({
              userId: input.userId,
              attributes: { ipAddress: input.ipAddress, userAgent: input.userAgent },
              roles: input.roles,
              sessionCustomClaims: input.claims as JsonObject,
            });
          } catch (err) {
            const error = ConnectError.from(err);
            expect(error.code).toBe(Code.InvalidArgument);
            expect(LIMIT_REASONS).toContain(error.findDetails(ErrorDetailSchema)[0]?.reason);
            outcomes.refused++;
            return;
          }
          outcomes.accepted++;
          expect(created.sessionJwt.length).toBeLessThanOrEqual(LIMIT);
          const byJwt = await client.authenticateSession({
            credential: { case: "sessionJwt", value: created.sessionJwt },
          });
          expect(byJwt.sessionJwt.length).toBeLessThanOrEqual(LIMIT);
          const again = await client.authenticateSession({
            credential: { case: "sessionJwt", value: byJwt.sessionJwt },
            sessionDurationMinutes: 527_040,
          });
          expect(again.session?.sessionId).toBe(created.session?.sessionId);
        }),
        { numRuns: 25, examples: EXAMPLES },
      );
      expect(outcomes.accepted).toBeGreaterThan(0);
      expect(outcomes.refused).toBeGreaterThan(0);
    });
  });
});
