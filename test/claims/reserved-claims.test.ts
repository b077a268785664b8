import { describe, expect, it } from "vitest";
import type { ClaimsPolicy, JsonObject, JsonValue } from "../../src/claims/index.js";
import {
  applyClaimsPatch,
  DEFAULT_CLAIMS_POLICY,
  isReservedClaim,
  RESERVED_CLAIMS,
  validateInitialClaims,
} from "../../src/claims/index.js";
import { ReservedClaimError } from "../../src/errors.js";
import { deepFreeze, expectClaimsError, SECRET } from "./helpers.js";

const policy = DEFAULT_CLAIMS_POLICY;

function expectReserved(fn: () => unknown, claim: string): void {
  const reason = isReservedClaim(claim, { ...policy, namespace: "" }) ? "RESERVED_CLAIM" : "RESERVED_NAMESPACE_CLAIM";
  const err = expectClaimsError(fn, ReservedClaimError, reason);
  expect(err.claim).toBe(claim);
  expect(err.metadata).toStrictEqual({ claim });
  expect(err.kind).toBe("invalid_argument");
}

describe("reserved claim names", () => {
  it("are exactly the registered JWT claims", () => {
    expect(RESERVED_CLAIMS).toStrictEqual(["iss", "sub", "aud", "exp", "nbf", "iat", "jti"]);
  });

  it("default policy reserves the https://tessera.dev/ namespace", () => {
    expect(policy).toStrictEqual({ namespace: "https://tessera.dev/", maxBytes: 4096, maxDepth: 32 });
  });

  const values: ReadonlyArray<[string, JsonValue]> = [
    ["a string", SECRET],
    ["null", null],
    ["an object", { inner: SECRET }],
    ["an array", [SECRET]],
    ["a number", 1700000000],
  ];
  const table = RESERVED_CLAIMS.flatMap((claim) => values.map(([label, value]) => ({ claim, label, value })));

  it.each(table)("rejects $claim set to $label", ({ claim, value }) => {
    expectReserved(() => applyClaimsPatch({}, { [claim]: value }, policy), claim);
  });

  it.each(table)("rejects $claim set to $label at creation", ({ claim, value }) => {
    expectReserved(() => validateInitialClaims({ [claim]: value }, policy), claim);
  });

  it.each(RESERVED_CLAIMS)("rejects %s alongside otherwise valid claims, changing nothing", (claim) => {
    const current = deepFreeze<JsonObject>({ keep: 1 });
    expectReserved(() => applyClaimsPatch(current, { ok: SECRET, [claim]: null }, policy), claim);
    expect(current).toStrictEqual({ keep: 1 });
  });

  it.each([
    "https://tessera.dev/role",
    "https://tessera.dev/",
    "https://tessera.dev/a/b?c",
  ])("rejects the namespace-prefixed key %s", (claim) => {
    expectReserved(() => applyClaimsPatch({}, { [claim]: SECRET }, policy), claim);
    expectReserved(() => applyClaimsPatch({}, { [claim]: null }, policy), claim);
  });

  it.each([...RESERVED_CLAIMS, "https://tessera.dev/role"])("allows %s as a nested key", (claim) => {
    const patch: JsonObject = { app: { [claim]: "x", list: [{ [claim]: 1 }], deeper: { [claim]: { [claim]: null } } } };
    expect(applyClaimsPatch({}, patch, policy)).toStrictEqual({
      app: { [claim]: "x", list: [{ [claim]: 1 }], deeper: { [claim]: {} } },
    });
  });

  it.each([
    "ISS",
    "Sub",
    "issuer",
    "iss ",
    " iss",
    "https://tessera.dev",
    "http://tessera.dev/role",
    "role",
  ])("allows the unreserved top-level key %j", (claim) => {
    expect(applyClaimsPatch({}, { [claim]: 1 }, policy)).toStrictEqual({ [claim]: 1 });
  });
});

describe("custom namespace policy", () => {
  const stytch: ClaimsPolicy = { ...policy, namespace: "https://stytch.com/" };

  it("rejects keys in the custom namespace", () => {
    expectReserved(
      () => applyClaimsPatch({}, { "https://stytch.com/role": SECRET }, stytch),
      "https://stytch.com/role",
    );
  });

  it("no longer reserves the default namespace", () => {
    expect(applyClaimsPatch({}, { "https://tessera.dev/role": 1 }, stytch)).toStrictEqual({
      "https://tessera.dev/role": 1,
    });
  });

  it.each(RESERVED_CLAIMS)("still rejects %s", (claim) => {
    expectReserved(() => applyClaimsPatch({}, { [claim]: SECRET }, stytch), claim);
  });

  it("an empty namespace reserves only the registered names", () => {
    const none: ClaimsPolicy = { ...policy, namespace: "" };
    expect(applyClaimsPatch({}, { role: 1 }, none)).toStrictEqual({ role: 1 });
    expectReserved(() => applyClaimsPatch({}, { iss: SECRET }, none), "iss");
  });
});

describe("isReservedClaim", () => {
  const table: ReadonlyArray<[string, boolean]> = [
    ...RESERVED_CLAIMS.map((claim): [string, boolean] => [claim, true]),
    ["https://tessera.dev/x", true],
    ["https://tessera.dev/", true],
    ["https://tessera.dev", false],
    ["ISS", false],
    ["", false],
    ["role", false],
  ];

  it.each(table)("%j -> %s", (key, expected) => {
    expect(isReservedClaim(key, policy)).toBe(expected);
  });
});
