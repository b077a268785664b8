import { toBinary, toJsonString } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { beforeAll, describe, expect, it } from "vitest";
import type { Session } from "../../gen/tessera/sessions/v1/session_pb.js";
import {
  type ListSessionsResponse,
  ListSessionsResponseSchema,
} from "../../gen/tessera/sessions/v1/session_service_pb.js";
import { date, expectFailure, testClock } from "../rpc/helpers.js";
import { backends } from "../support/backends.js";
import { PROTOCOLS, type Protocol, type TestApp, useTestApp } from "../support/test-app.js";

/** Creates `count` sessions for `userId` through the real service (and database), calling `advance` after each. */
async function createMany(
  t: TestApp,
  userId: string,
  count: number,
  options: { advance?: () => void; claims?: Record<string, string> } = {},
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const issued = await t.app.sessions.create({
      userId,
      durationMinutes: 60,
      customClaims: options.claims ?? { n: String(i) },
      attributes: { ipAddress: "", userAgent: "" },
      roles: [],
    });
    ids.push(issued.session.id);
    options.advance?.();
  }
  return ids;
}

/** The order ListSessions promises: started_at descending, then session_id descending. */
function isNewestFirst(sessions: readonly Session[]): boolean {
  const key = (s: Session) => [date(s.startedAt).getTime(), s.sessionId] as const;
  return sessions.every((s, i) => {
    const next = sessions[i + 1];
    if (next === undefined) return true;
    const [at, id] = key(s);
    const [nextAt, nextId] = key(next);
    return at > nextAt || (at === nextAt && id > nextId);
  });
}

/** Reads every page; `between` runs after each page. Bounded, so a paging bug cannot loop forever. */
async function pageThrough(
  t: TestApp,
  protocol: Protocol,
  userId: string,
  pageSize: number,
  between: (page: ListSessionsResponse) => Promise<void> = async () => {},
): Promise<{ pages: ListSessionsResponse[]; ids: string[] }> {
  const pages: ListSessionsResponse[] = [];
  let pageToken = "";
  for (let n = 0; n < 1_000; n++) {
    const page = await t.client(protocol).listSessions({ userId, pageSize, pageToken });
    pages.push(page);
    if (page.nextPageToken === "") break;
    pageToken = page.nextPageToken;
    await between(page);
  }
  return { pages, ids: pages.flatMap((page) => page.sessions.map((s) => s.sessionId)) };
}

describe.each(backends())("ListSessions paging on %s", (backend) => {
  const clock = testClock(new Date("2031-06-07T08:09:10.000Z"));
  const t = useTestApp(
    backend,
    {
      MAX_SESSIONS_PER_USER: "1000",
      LIST_SESSIONS_DEFAULT_PAGE_SIZE: "7",
      LIST_SESSIONS_MAX_PAGE_SIZE: "20",
      SWEEP_INTERVAL_SECONDS: "0",
    },
    { clock },
  );
  let stepped: string[];
  let tied: string[];
  beforeAll(async () => {
    stepped = await createMany(t, "pager", 120, { advance: () => clock.advance(1_000) });
    // Every one of these starts at the same instant: only session_id orders them.
    tied = await createMany(t, "pager-tied", 45);
  });

  it.each(PROTOCOLS)("over %s, pages through 120 sessions newest first, each exactly once", async (protocol) => {
    const { pages, ids } = await pageThrough(t, protocol, "pager", 13);
    expect(pages.map((page) => page.sessions.length)).toEqual([...Array(9).fill(13), 3]);
    expect(ids).toEqual([...stepped].reverse());
    expect(pages.at(-1)?.nextPageToken).toBe("");
    expect(pages.slice(0, -1).every((page) => page.nextPageToken !== "")).toBe(true);
  });

  it("orders sessions that started at the same instant by session_id, across page boundaries", async () => {
    const { pages, ids } = await pageThrough(t, "grpc", "pager-tied", 4);
    expect(pages).toHaveLength(12);
    expect(ids).toEqual([...tied].sort().reverse());
    expect(isNewestFirst(pages.flatMap((page) => page.sessions))).toBe(true);
  });

  it("lists no session twice and misses none while sessions are created and revoked between pages", async () => {
    const userId = "pager-moving";
    const original = await createMany(t, userId, 60);
    const revoked = new Set<string>();
    const later: string[] = [];
    let round = 0;
    const { ids } = await pageThrough(t, "connect", userId, 9, async (page) => {
      round++;
      // New sessions at the instant the listed ones started (ties, ordered by id only), then later ones.
      await createMany(t, userId, 2);
      clock.advance(500);
      later.push(...(await createMany(t, userId, 1)));
      // Every other round, revoke a session that is not listed yet.
      const cursor = page.sessions.at(-1)?.sessionId ?? "";
      const victim = original.find((id) => id < cursor && !revoked.has(id));
      if (victim !== undefined && round % 2 === 0) {
        await t.app.sessions.revoke({ kind: "id", sessionId: victim });
        revoked.add(victim);
      }
    });
    expect(round).toBeGreaterThan(5);
    expect(revoked.size).toBeGreaterThan(1);
    expect(new Set(ids).size).toBe(ids.length);
    const kept = original.filter((id) => !revoked.has(id));
    expect(ids.filter((id) => original.includes(id)).sort()).toEqual(kept.sort());
    expect(ids.filter((id) => revoked.has(id))).toEqual([]);
    // Sessions that started after the listing began are newer than every cursor: never on a later page.
    expect(ids.filter((id) => later.includes(id))).toEqual([]);
  });

  it("page_size: 0 means the default, larger than the maximum means the maximum, negative is refused", async () => {
    const client = t.client("connect");
    expect((await client.listSessions({ userId: "pager" })).sessions).toHaveLength(7);
    expect((await client.listSessions({ userId: "pager", pageSize: 0 })).sessions).toHaveLength(7);
    expect((await client.listSessions({ userId: "pager", pageSize: 1 })).sessions).toHaveLength(1);
    expect((await client.listSessions({ userId: "pager", pageSize: 20 })).sessions).toHaveLength(20);
    expect((await client.listSessions({ userId: "pager", pageSize: 21 })).sessions).toHaveLength(20);
    expect((await client.listSessions({ userId: "pager", pageSize: 2_147_483_647 })).sessions).toHaveLength(20);
    for (const pageSize of [-1, -2_147_483_648]) {
      const refused = await expectFailure(
        client.listSessions({ userId: "pager", pageSize }),
        Code.InvalidArgument,
        "INVALID_PAGE_SIZE",
      );
      expect(refused.metadata).toEqual({ value: String(pageSize) });
    }
  });

  it("a user with no sessions gets an empty last page", async () => {
    const page = await t.client("grpc").listSessions({ userId: "pager-nobody" });
    expect(page.sessions).toEqual([]);
    expect(page.nextPageToken).toBe("");
  });

  it("refuses malformed, altered and foreign page tokens with INVALID_PAGE_TOKEN, never echoing them", async () => {
    const client = t.client("grpc");
    const first = await client.listSessions({ userId: "pager", pageSize: 3 });
    const token = first.nextPageToken;
    const body = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as unknown[];
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const bad: Record<string, string> = {
      "not base64url": "!!not-a-token!!",
      "base64url of non-JSON": Buffer.from("hello").toString("base64url"),
      "a JSON object": encode({ v: 1 }),
      "another version": encode([2, ...body.slice(1)]),
      "a negative time": encode([body[0], body[1], -1, body[3]]),
      "a fractional time": encode([body[0], body[1], 1.5, body[3]]),
      "a time as a string": encode([body[0], body[1], String(body[2]), body[3]]),
      "an empty session id": encode([body[0], body[1], body[2], ""]),
      "a session id that is too long": encode([body[0], body[1], body[2], "s".repeat(129)]),
      "padding added": `${token}==`,
      "too long": "A".repeat(513),
      "one character changed": `${token.slice(0, 10)}${token[10] === "A" ? "B" : "A"}${token.slice(11)}`,
    };
    for (const [name, pageToken] of Object.entries(bad)) {
      const refused = await expectFailure(
        client.listSessions({ userId: "pager", pageToken }),
        Code.InvalidArgument,
        "INVALID_PAGE_TOKEN",
      ).catch((err: unknown) => {
        throw new Error(`${name}: ${String(err)}`);
      });
      expect(refused.message).toBe("page_token is not a next_page_token of this listing");
      expect(refused.metadata).toEqual({ length: String(pageToken.length) });
    }
    // Valid, but made for another user's listing.
    await expectFailure(
      client.listSessions({ userId: "pager-tied", pageToken: token }),
      Code.InvalidArgument,
      "INVALID_PAGE_TOKEN",
    );
    // The genuine token still works.
    expect((await client.listSessions({ userId: "pager", pageSize: 3, pageToken: token })).sessions).toHaveLength(3);
  });
});

describe.each(backends())("the ListSessions response budget on %s", (backend) => {
  const BUDGET = 16_384;
  const t = useTestApp(backend, {
    MAX_SESSIONS_PER_USER: "1000",
    LIST_SESSIONS_DEFAULT_PAGE_SIZE: "100",
    LIST_SESSIONS_MAX_PAGE_SIZE: "100",
    LIST_SESSIONS_MAX_RESPONSE_BYTES: String(BUDGET),
    SWEEP_INTERVAL_SECONDS: "0",
  });
  let ids: string[];
  beforeAll(async () => {
    // About 3 KB of claims each: 30 of them are far over the budget, and a page of 100 would hold them all.
    ids = await createMany(t, "heavy", 30, { claims: { blob: "\u00e9".repeat(1_500) } });
  });

  it.each(
    PROTOCOLS,
  )("over %s, pages end early within the budget, with a token, until every session is listed", async (protocol) => {
    const { pages, ids: listed } = await pageThrough(t, protocol, "heavy", 100);
    expect(pages.length).toBeGreaterThan(3);
    for (const page of pages) {
      expect(page.sessions.length).toBeGreaterThan(0);
      expect(toBinary(ListSessionsResponseSchema, page).byteLength).toBeLessThanOrEqual(BUDGET);
      expect(Buffer.byteLength(toJsonString(ListSessionsResponseSchema, page))).toBeLessThanOrEqual(BUDGET);
    }
    // Each page but the last was ended by the budget, not by page_size, and says so with a token.
    expect(pages.slice(0, -1).every((page) => page.sessions.length < 100 && page.nextPageToken !== "")).toBe(true);
    expect(new Set(listed).size).toBe(30);
    expect([...listed].sort()).toEqual([...ids].sort());
  });

  it("a page still holds up to page_size sessions when they fit", async () => {
    const page = await t.client("grpc").listSessions({ userId: "heavy", pageSize: 2 });
    expect(page.sessions).toHaveLength(2);
    expect(page.nextPageToken).not.toBe("");
  });
});
