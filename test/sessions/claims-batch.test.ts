import { describe, expect, it } from "vitest";
import { applyOverlay, DEFAULT_CLAIMS_POLICY, EMPTY_OVERLAY, type JsonObject } from "../../src/claims/index.js";
import { PermissionDeniedError, SessionJwtTooLargeError, TesseraError } from "../../src/errors.js";
import { type ClaimsCall, planClaimsBatch } from "../../src/sessions/claims-batch.js";

const BASE: JsonObject = { plan: "free" };
const context = {
  base: BASE,
  claimsPolicy: DEFAULT_CLAIMS_POLICY,
  decide: (check: { resourceId: string; action: string }) => {
    if (check.action !== "read") throw new PermissionDeniedError(check.resourceId, check.action);
    return { authorized: true, grantingRoles: ["reader"] };
  },
  checkJwt: (claims: JsonObject) => {
    if ("huge" in claims) throw new SessionJwtTooLargeError(9000, 8192);
  },
};
const call = (more: Partial<ClaimsCall>): ClaimsCall => ({
  patch: undefined,
  expectedClaimsVersion: undefined,
  durationMinutes: undefined,
  check: undefined,
  ...more,
});
const read = { overlay: EMPTY_OVERLAY, claimsVersion: 7n };

function reasons(plan: ReturnType<typeof planClaimsBatch>): Array<string | bigint> {
  return plan.outcomes.map((o) =>
    o.ok ? o.value.claimsVersion : o.error instanceof TesseraError ? o.error.reason : String(o.error),
  );
}

describe("planClaimsBatch", () => {
  it("applies patches in order, one version each, each call seeing the claims after its own patch", () => {
    const plan = planClaimsBatch(read, [call({ patch: { a: 1 } }), call({ patch: { a: null, b: 2 } })], context);
    expect(reasons(plan)).toEqual([8n, 9n]);
    const [first, second] = plan.outcomes.map((o) => (o.ok ? o.value : undefined));
    expect(first?.claims).toEqual({ plan: "free", a: 1 });
    expect(second?.claims).toEqual({ plan: "free", b: 2 });
    expect(plan.claimsVersion).toBe(9n);
    expect(applyOverlay(BASE, plan.overlay)).toEqual({ plan: "free", b: 2 });
  });

  it("leaves a refused call out, as if never sent: reserved claim, too long a JWT, a denied check", () => {
    const plan = planClaimsBatch(
      read,
      [
        call({ patch: { a: 1 } }),
        call({ patch: { iss: "x" } }),
        call({ patch: { huge: true } }),
        call({ patch: { c: 3 }, check: { resourceId: "doc", action: "write" } }),
        call({ patch: { d: 4 }, check: { resourceId: "doc", action: "read" } }),
      ],
      context,
    );
    expect(reasons(plan)).toEqual([8n, "RESERVED_CLAIM", "SESSION_JWT_TOO_LARGE", "PERMISSION_DENIED", 9n]);
    expect(applyOverlay(BASE, plan.overlay)).toEqual({ plan: "free", a: 1, d: 4 });
    const last = plan.outcomes[4];
    expect(last?.ok && last.value.verdict).toEqual({ authorized: true, grantingRoles: ["reader"] });
  });

  it("checks expected_claims_version against the version the calls before it left", () => {
    const plan = planClaimsBatch(
      read,
      [
        call({ patch: { a: 1 }, expectedClaimsVersion: 7n }),
        call({ patch: { b: 2 }, expectedClaimsVersion: 7n }),
        call({ patch: { c: 3 }, expectedClaimsVersion: 8n }),
        call({ expectedClaimsVersion: 9n }),
      ],
      context,
    );
    expect(reasons(plan)).toEqual([8n, "CLAIMS_VERSION_MISMATCH", 9n, 9n]);
  });

  it("writes nothing when every call is refused", () => {
    const plan = planClaimsBatch(read, [call({ patch: { iss: 1 } })], context);
    expect(plan.anyOk).toBe(false);
    expect(plan.claimsVersion).toBe(7n);
  });

  it("tracks extensions: the last one is written, and calls before the first are answered with the expiry as read", () => {
    const plan = planClaimsBatch(
      read,
      [
        call({ patch: { a: 1 } }),
        call({ patch: { b: 2 }, durationMinutes: 30 }),
        call({ patch: { iss: 1 }, durationMinutes: 99 }),
        call({ patch: { c: 3 } }),
        call({ durationMinutes: 10 }),
      ],
      context,
    );
    expect(plan.outcomes.map((o) => (o.ok ? o.value.extensionMinutes : "refused"))).toEqual([
      undefined,
      30,
      "refused",
      30,
      10,
    ]);
    expect(plan.extensionMinutes).toBe(10);
    expect(plan.answersReadExpiry).toBe(true);
    const noExtension = planClaimsBatch(read, [call({ patch: { a: 1 } })], context);
    expect(noExtension.answersReadExpiry).toBe(false);
    const extendedFirst = planClaimsBatch(read, [call({ durationMinutes: 5 }), call({ patch: { a: 1 } })], context);
    expect(extendedFirst.answersReadExpiry).toBe(false);
  });
});
