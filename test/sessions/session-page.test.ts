import { describe, expect, it } from "vitest";
import { countWithinBudget, RESPONSE_OVERHEAD_BYTES } from "../../src/routes/response-budget.js";
import {
  decodePageToken,
  encodePageToken,
  MAX_PAGE_TOKEN_LENGTH,
  validPageSize,
} from "../../src/sessions/session-page.js";

const LIMITS = { defaultSize: 25, maxSize: 100 };

/** The reason of what `run` throws, or "no error". */
function reasonOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    return (err as { reason?: string }).reason ?? String(err);
  }
  return "no error";
}

describe("validPageSize", () => {
  it("maps 0 to the default, keeps 1..max, lowers larger sizes to the max", () => {
    expect([0, 1, 25, 99, 100, 101, 2_147_483_647].map((n) => validPageSize(n, LIMITS))).toEqual([
      25, 1, 25, 99, 100, 100, 100,
    ]);
  });

  it("refuses negative sizes with INVALID_PAGE_SIZE", () => {
    for (const n of [-1, -100, -2_147_483_648])
      expect(reasonOf(() => validPageSize(n, LIMITS))).toBe("INVALID_PAGE_SIZE");
  });
});

describe("page tokens", () => {
  const cursor = { startedAt: new Date("2031-01-02T03:04:05.678Z"), sessionId: `session-${"f".repeat(36)}` };

  it("round-trip a cursor for the same user, in URL-safe characters well under the length limit", () => {
    const token = encodePageToken("user-1", cursor);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(token.length).toBeLessThan(MAX_PAGE_TOKEN_LENGTH / 2);
    expect(decodePageToken("user-1", token)).toEqual(cursor);
  });

  it("bind the user without spelling out its id", () => {
    const token = encodePageToken("alice@example.com", cursor);
    expect(Buffer.from(token, "base64url").toString("utf8")).not.toContain("alice");
    expect(reasonOf(() => decodePageToken("bob@example.com", token))).toBe("INVALID_PAGE_TOKEN");
  });

  it("keep a cursor with the longest user id and session id under the length limit", () => {
    const long = { startedAt: new Date(8.64e15), sessionId: "\u00e9".repeat(128) };
    const token = encodePageToken("u".repeat(128), long);
    expect(token.length).toBeLessThanOrEqual(MAX_PAGE_TOKEN_LENGTH);
    expect(decodePageToken("u".repeat(128), token)).toEqual(long);
  });

  it("refuse anything that is not a token made for this listing", () => {
    const token = encodePageToken("user-1", cursor);
    const json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const body = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as unknown[];
    for (const bad of [
      "",
      "*",
      `${token}=`,
      ` ${token}`,
      json(null),
      json([]),
      json(body.slice(0, 3)),
      json([...body, 1]),
      json([1, body[1], 8.64e15 + 1, body[3]]),
      json([1, body[1], body[2], 7]),
      json([1, 1, body[2], body[3]]),
      // Same content, another spelling (a space after the comma): only the canonical one is accepted.
      Buffer.from(JSON.stringify(body).replace(",", ", ")).toString("base64url"),
      "A".repeat(MAX_PAGE_TOKEN_LENGTH + 1),
    ]) {
      expect(
        reasonOf(() => decodePageToken("user-1", bad)),
        bad,
      ).toBe("INVALID_PAGE_TOKEN");
    }
  });
});

describe("countWithinBudget", () => {
  it("takes items while they fit with the response overhead", () => {
    const budget = RESPONSE_OVERHEAD_BYTES + 100;
    expect(countWithinBudget([40, 40, 40], budget)).toBe(2);
    expect(countWithinBudget([50, 50, 1], budget)).toBe(2);
    expect(countWithinBudget([10, 20, 30, 40], budget)).toBe(4);
    expect(countWithinBudget([], budget)).toBe(0);
  });

  it("always takes the first item, so paging moves on past one larger than the budget", () => {
    expect(countWithinBudget([10_000, 1], RESPONSE_OVERHEAD_BYTES + 100)).toBe(1);
  });
});
