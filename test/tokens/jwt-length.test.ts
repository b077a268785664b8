import { CompactSign, exportJWK, generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import type { JwtAlgorithm } from "../../src/config.js";
import { base64urlLength, compactJwsLength, signatureLength } from "../../src/tokens/jwt-length.js";

describe("base64urlLength", () => {
  it("is the length of unpadded base64url for 0 to 20 bytes", () => {
    for (let n = 0; n <= 20; n++) expect(base64urlLength(n)).toBe(Buffer.alloc(n).toString("base64url").length);
  });
});

describe("signatureLength and compactJwsLength", () => {
  const cases: { name: string; alg: JwtAlgorithm; modulusLength?: number; chars: number }[] = [
    { name: "ES256", alg: "ES256", chars: 86 },
    { name: "EdDSA", alg: "EdDSA", chars: 86 },
    { name: "RS256, 2048 bits", alg: "RS256", modulusLength: 2048, chars: 342 },
    { name: "RS256, 3072 bits", alg: "RS256", modulusLength: 3072, chars: 512 },
  ];

  it.each(cases)("$name signs $chars characters, and a whole JWS is as long as computed", async ({
    alg,
    modulusLength,
    chars,
  }) => {
    const { privateKey, publicKey } = await generateKeyPair(alg, { modulusLength });
    const jwk = await exportJWK(publicKey);
    expect(signatureLength(alg, jwk)).toBe(chars);
    for (const payload of ["{}", '{"a":"\\u0001\\"é😀"}', JSON.stringify({ x: "y".repeat(1000) })]) {
      const header = { alg, kid: "0".repeat(36), typ: "JWT" };
      const jws = await new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader(header).sign(privateKey);
      expect(jws.split(".")[2]).toHaveLength(chars);
      expect(compactJwsLength(JSON.stringify(header), payload, chars)).toBe(jws.length);
    }
  });
});
