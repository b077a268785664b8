import { describe, expect, it } from "vitest";
import { SessionState } from "../src/session-state.js";

describe("SessionState (deny list and claims versions)", () => {
  it("denies a revoked session until deny_until, then forgets it", () => {
    const s = new SessionState();
    s.apply({ kind: "revoked", sessionId: "a", denyUntilMs: 1000 });
    expect(s.facts("a", 999)).toEqual({ deniedUntilMs: 1000 });
    expect(s.facts("a", 1000)).toEqual({});
    s.prune(1000);
    expect(s.size).toBe(0);
  });

  it("keeps the highest claims_version, whatever the order, until its keep time", () => {
    const s = new SessionState();
    s.apply({ kind: "claims-changed", sessionId: "b", claimsVersion: 3, keepUntilMs: 500 });
    s.apply({ kind: "claims-changed", sessionId: "b", claimsVersion: 2, keepUntilMs: 900 });
    expect(s.facts("b", 0)).toEqual({ claimsVersion: 3 });
    s.prune(499);
    expect(s.facts("b", 499)).toEqual({ claimsVersion: 3 });
    s.prune(500);
    expect(s.facts("b", 500)).toEqual({});
    expect(s.size).toBe(0);
  });

  it("keeps the later deny_until of two revocations and prunes each part on its own", () => {
    const s = new SessionState();
    s.apply({ kind: "revoked", sessionId: "c", denyUntilMs: 2000 });
    s.apply({ kind: "revoked", sessionId: "c", denyUntilMs: 1000 });
    s.apply({ kind: "claims-changed", sessionId: "c", claimsVersion: 1, keepUntilMs: 3000 });
    s.prune(2500);
    expect(s.facts("c", 2500)).toEqual({ claimsVersion: 1 });
    expect(s.size).toBe(1);
  });
});
